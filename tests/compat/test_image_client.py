"""The unmodified python-openstackclient and python-glanceclient from PyPI
against imaged: the flows a student and an instructor use."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.stack import CLIENTS_VENV

ADMIN = "pocketstack-admin"
MIB = 1024 * 1024


def as_json(result):
    return json.loads(result.stdout)


def glance(stack, *args: str, user: str = "demo", check: bool = True):
    """python-glanceclient with OS_* variables, as a student's shell has them."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("OS_")}
    env.update({"OS_AUTH_URL": stack.url("identity"), "OS_USERNAME": user,
                "OS_PASSWORD": stack.password(user), "OS_PROJECT_NAME": user,
                "OS_USER_DOMAIN_NAME": "Default", "OS_PROJECT_DOMAIN_NAME": "Default"})
    result = subprocess.run([str(CLIENTS_VENV / "bin" / "glance"), *args], env=env,
                            capture_output=True, text=True, timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(f"glance {' '.join(args)}: {result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("client-images")
    qcow2 = folder / "disk.qcow2"
    subprocess.run(["qemu-img", "create", "-f", "qcow2", str(qcow2), "32M"], check=True,
                   capture_output=True)
    raw = folder / "disk.raw"
    raw.write_bytes((b"pocketstack-raw-" * (MIB // 16)) * 2)
    return {"qcow2": qcow2, "raw": raw, "dir": folder}


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def test_image_create_with_a_qcow2_file_and_show(stack, files):
    name = unique("cli-qcow2")
    created = as_json(stack.openstack("image", "create", "--disk-format", "qcow2",
                                      "--container-format", "bare", "--file",
                                      str(files["qcow2"]), name, "-f", "json"))
    assert created["status"] == "active"
    assert created["checksum"] == md5(files["qcow2"])
    assert created["virtual_size"] == 32 * MIB
    shown = as_json(stack.openstack("image", "show", name, "-f", "json"))
    assert shown["id"] == created["id"] and shown["size"] == files["qcow2"].stat().st_size


def test_raw_upload_and_save_returns_the_same_bytes(stack, files):
    name = unique("cli-raw")
    stack.openstack("image", "create", "--disk-format", "raw", "--container-format", "bare",
                    "--file", str(files["raw"]), name)
    saved = files["dir"] / f"{name}.saved"
    stack.openstack("image", "save", "--file", str(saved), name)
    assert md5(saved) == md5(files["raw"])


def test_list_with_filters_and_paging(stack):
    tag = unique("cli-tag")
    names = [unique("cli-list") for _ in range(5)]
    for name in names:
        stack.openstack("image", "create", "--disk-format", "raw", "--container-format",
                        "bare", "--tag", tag, name)
    listed = as_json(stack.openstack("image", "list", "--tag", tag, "--limit", "2",
                                     "-f", "json"))
    assert len(listed) == 2
    # Without --limit the client follows the next links to the end.
    everything = as_json(stack.openstack("image", "list", "--tag", tag, "--long",
                                         "-f", "json"))
    assert sorted(image["Name"] for image in everything) == sorted(names)
    by_name = as_json(stack.openstack("image", "list", "--name", names[0], "-f", "json"))
    assert [image["Name"] for image in by_name] == [names[0]]
    # (Without --file the client uploads its empty stdin: the images are active.)
    active = as_json(stack.openstack("image", "list", "--tag", tag, "--status", "active",
                                     "--sort", "name:asc", "-f", "json"))
    assert [image["Name"] for image in active] == sorted(names)
    assert as_json(stack.openstack("image", "list", "--tag", tag, "--status", "queued",
                                   "-f", "json")) == []


def test_set_property_and_tag(stack):
    name = unique("cli-set")
    stack.openstack("image", "create", "--disk-format", "raw", "--container-format", "bare",
                    name)
    stack.openstack("image", "set", "--property", "os_distro=debian", "--tag", "lab2", name)
    shown = as_json(stack.openstack("image", "show", name, "-f", "json"))
    assert shown["properties"]["os_distro"] == "debian"
    assert "lab2" in shown["tags"]
    stack.openstack("image", "unset", "--tag", "lab2", "--property", "os_distro", name)
    shown = as_json(stack.openstack("image", "show", name, "-f", "json"))
    assert "lab2" not in shown["tags"] and "os_distro" not in shown["properties"]


def test_the_owner_deactivates_and_activates(stack, files):
    """The image's own project may (Glance's running code); the data is then
    for admins only."""
    name = unique("cli-deact")
    stack.openstack("image", "create", "--disk-format", "raw", "--container-format", "bare",
                    "--file", str(files["raw"]), name)
    stack.openstack("image", "set", "--deactivate", name)
    assert as_json(stack.openstack("image", "show", name, "-f", "json"))["status"] == \
        "deactivated"
    image_id = as_json(stack.openstack("image", "show", name, "-f", "json"))["id"]
    again = glance(stack, "image-deactivate", image_id, check=False)
    assert again.returncode == 0, again.stderr
    saved = files["dir"] / f"{name}.saved"
    assert stack.openstack("image", "save", "--file", str(saved), name,
                           check=False).returncode != 0
    stack.openstack("image", "set", "--activate", name)
    assert as_json(stack.openstack("image", "show", name, "-f", "json"))["status"] == \
        "active"


def test_members_across_the_demo_and_admin_projects(stack):
    name = unique("cli-shared")
    image = as_json(stack.openstack("image", "create", "--disk-format", "raw",
                                    "--container-format", "bare", "--shared", name,
                                    "-f", "json"))
    admin_project = as_json(stack.openstack("token", "issue", "-f", "json",
                                            cloud=ADMIN))["project_id"]
    member = as_json(stack.openstack("image", "add", "project", name, admin_project,
                                     "-f", "json"))
    assert member["status"] == "pending"
    members = as_json(stack.openstack("image", "member", "list", name, "-f", "json"))
    assert [(m["Member ID"], m["Status"]) for m in members] == [(admin_project, "pending")]
    stack.openstack("image", "set", "--accept", "--project", admin_project, image["id"],
                    cloud=ADMIN)
    members = as_json(stack.openstack("image", "member", "list", name, "-f", "json"))
    assert members[0]["Status"] == "accepted"
    # The owner cannot answer for the member.
    assert stack.openstack("image", "set", "--reject", "--project", admin_project, name,
                           check=False).returncode != 0
    stack.openstack("image", "remove", "project", name, admin_project)
    assert as_json(stack.openstack("image", "member", "list", name, "-f", "json")) == []


def test_delete_of_a_protected_image_is_refused_then_allowed(stack):
    name = unique("cli-protected")
    stack.openstack("image", "create", "--disk-format", "raw", "--container-format", "bare",
                    "--protected", name)
    refused = stack.openstack("image", "delete", name, check=False)
    assert refused.returncode != 0
    assert as_json(stack.openstack("image", "show", name, "-f", "json"))["protected"] is True
    stack.openstack("image", "set", "--unprotected", name)
    stack.openstack("image", "delete", name)
    assert stack.openstack("image", "show", name, check=False).returncode != 0


def test_a_wrong_format_is_refused_by_the_server(stack):
    result = stack.openstack("image", "create", "--disk-format", "raw", "--container-format",
                             "bare", "--property", "x=y", unique("cli-bad"), check=False)
    assert result.returncode == 0  # control: this one is fine
    bad = glance(stack, "image-create", "--name", unique("glance-bad"), "--disk-format",
                 "qcow3", "--container-format", "bare", check=False)
    assert bad.returncode != 0 and "qcow2" in bad.stderr


def test_glance_client_create_upload_list_download(stack, files):
    name = unique("glance-cli")
    created = glance(stack, "--os-image-api-version", "2", "image-create", "--name", name,
                     "--disk-format", "qcow2", "--container-format", "bare", "--property",
                     "os_distro=cirros", "--file", str(files["qcow2"]))
    image_id = next(line.split("|")[2].strip() for line in created.stdout.splitlines()
                    if line.startswith("| id "))
    listing = glance(stack, "image-list", "--property-filter", "os_distro=cirros")
    assert image_id in listing.stdout
    target = files["dir"] / f"{name}.download"
    glance(stack, "image-download", "--file", str(target), image_id)
    assert md5(target) == md5(files["qcow2"])
    glance(stack, "image-tag-update", image_id, "from-glance")
    assert "from-glance" in glance(stack, "image-show", image_id).stdout
    shown = glance(stack, "image-show", image_id).stdout
    assert "active" in shown and str(32 * MIB) in shown
    glance(stack, "image-delete", image_id)
    assert glance(stack, "image-show", image_id, check=False).returncode != 0


def test_glance_member_flow(stack):
    name = unique("glance-member")
    created = glance(stack, "image-create", "--name", name, "--disk-format", "raw",
                     "--container-format", "bare", "--visibility", "shared")
    image_id = next(line.split("|")[2].strip() for line in created.stdout.splitlines()
                    if line.startswith("| id "))
    admin_project = as_json(stack.openstack("token", "issue", "-f", "json",
                                            cloud=ADMIN))["project_id"]
    glance(stack, "member-create", image_id, admin_project)
    glance(stack, "member-update", image_id, admin_project, "accepted", user="admin")
    assert "accepted" in glance(stack, "member-list", "--image-id", image_id).stdout
