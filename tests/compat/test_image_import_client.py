"""The unmodified clients and interoperable import: `openstack image create
--import --file` (stage + glance-direct), `openstack image import --method
web-download --uri` and `glance image-create-via-import --import-method
web-download --uri`, each converted raw -> qcow2 by imaged, on a stack whose
[import] allows the port of a loopback web server started here."""
from __future__ import annotations

import json
import os
import subprocess
import uuid

import pytest

from tests.stack import CLIENTS_VENV
from tests.support.images import Images, configured_stack, raw_bytes, serve_directory, wait_for

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    folder = tmp_path_factory.mktemp("client-web")
    data = raw_bytes(2 * MIB)
    (folder / "disk.raw").write_bytes(data)
    with serve_directory(folder) as base:
        yield base, folder, data


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory, stack, web):
    port = web[0].rsplit(":", 1)[1]
    own = configured_stack(tmp_path_factory, stack, 85,
                           f"[import]\nallowed_ports = 80,443,{port}\n")
    yield own
    own.down()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def show(stack, image_id: str) -> dict:
    return json.loads(stack.openstack("image", "show", image_id, "-f", "json").stdout)


def wait_active(stack, image_id: str) -> dict:
    image = wait_for(lambda: (lambda i: i if i["status"] in ("active", "queued") else None)(
        show(stack, image_id)), timeout=90, interval=0.5)
    assert image and image["status"] == "active", image or show(stack, image_id)
    return image


def queued_image(stack, name: str) -> dict:
    """A queued raw image, made through the API: `openstack image create`
    without --file would read the test's stdin as image data."""
    return Images(stack, stack.token("demo")).new(name=name, disk_format="raw")


def glance_without_stdin(stack, *args: str,
                         check: bool = True) -> subprocess.CompletedProcess:
    """python-glanceclient with stdin closed (`<&-`): with any stdin open but
    not a terminal it takes stdin for image data, and refuses web-download."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("OS_")}
    env.update({"OS_AUTH_URL": stack.url("identity"), "OS_USERNAME": "demo",
                "OS_PASSWORD": stack.password("demo"), "OS_PROJECT_NAME": "demo",
                "OS_USER_DOMAIN_NAME": "Default", "OS_PROJECT_DOMAIN_NAME": "Default"})
    result = subprocess.run(["sh", "-c", '"$0" "$@" <&-', str(CLIENTS_VENV / "bin" / "glance"),
                             *args], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 or not check, result.stdout + result.stderr
    return result


def qemu_info(path) -> dict:
    return json.loads(subprocess.run(["qemu-img", "info", "-f", "qcow2", "--output=json",
                                      str(path)], check=True, capture_output=True,
                                     text=True).stdout)


def test_image_create_import_file_uses_glance_direct_and_converts(own_stack, tmp_path):
    source = tmp_path / "disk.raw"
    source.write_bytes(raw_bytes(3 * MIB))
    created = json.loads(own_stack.openstack(
        "image", "create", "--import", "--disk-format", "raw", "--container-format", "bare",
        "--file", str(source), unique("cli-import"), "-f", "json").stdout)
    image = wait_active(own_stack, created["id"])
    assert image["disk_format"] == "qcow2"
    assert image["virtual_size"] == 3 * MIB
    saved = tmp_path / "saved.qcow2"
    own_stack.openstack("image", "save", "--file", str(saved), created["id"])
    info = qemu_info(saved)
    assert info["format"] == "qcow2" and info["virtual-size"] == 3 * MIB
    tasks = Images(own_stack, own_stack.token("demo")).request(
        "GET", f"/v2/images/{created['id']}/tasks").json()["tasks"]
    assert [t["status"] for t in tasks] == ["success"]
    assert tasks[0]["input"]["import_req"]["method"]["name"] == "glance-direct"


def test_openstack_image_import_web_download(own_stack, web):
    base, _folder, data = web
    created = queued_image(own_stack, unique("cli-web"))
    own_stack.openstack("image", "import", "--method", "web-download", "--uri",
                        f"{base}/disk.raw", created["id"])
    image = wait_active(own_stack, created["id"])
    assert image["disk_format"] == "qcow2" and image["virtual_size"] == len(data)


def test_a_port_outside_the_filter_is_refused_with_its_reason(own_stack):
    """Through glanceclient: openstacksdk's import_image does not check the
    answer of POST /import, so `openstack image import` prints the image
    and exits 0 even when imaged answered 400 (the image stays queued)."""
    created = queued_image(own_stack, unique("cli-web-bad"))
    result = glance_without_stdin(own_stack, "image-import", "--import-method",
                                  "web-download", "--uri", "http://127.0.0.1:22/disk.raw",
                                  created["id"], check=False)
    assert result.returncode != 0
    assert "port 22 is not allowed" in result.stdout + result.stderr
    own_stack.openstack("image", "import", "--method", "web-download", "--uri",
                        "http://127.0.0.1:22/disk.raw", created["id"], check=False)
    assert show(own_stack, created["id"])["status"] == "queued"


def test_glance_image_create_via_import_web_download(own_stack, web):
    base, _folder, data = web
    result = glance_without_stdin(own_stack, "image-create-via-import", "--import-method",
                                  "web-download", "--uri", f"{base}/disk.raw",
                                  "--disk-format", "raw", "--container-format", "bare",
                                  "--name", unique("glance-web"))
    image_id = next(line.split("|")[2].strip() for line in result.stdout.splitlines()
                    if line.startswith("| id "))
    image = wait_active(own_stack, image_id)
    assert image["disk_format"] == "qcow2" and image["virtual_size"] == len(data)
