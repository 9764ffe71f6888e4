"""The unmodified python-openstackclient from PyPI against volumed: volume
create (empty and from an image), list, show, set, snapshots, a volume from
a snapshot, delete, and an over-quota create refused with 413."""
from __future__ import annotations

import json
import subprocess
import time

import pytest

from tests.support.volumes import VolumeApi, new_project_user, unique, wait_shown_status

pytestmark = pytest.mark.compat


def as_json(result) -> object:
    return json.loads(result.stdout)


def test_volume_lifecycle_with_the_real_client(stack):
    name, snap, restored = unique("cli"), unique("clisnap"), unique("clirestored")
    try:
        created = as_json(stack.openstack("volume", "create", "--size", "1", "--description",
                                          "from the cli", "--property", "lab=1", name, "-f",
                                          "json"))
        assert created["name"] == name and created["size"] == 1
        shown = wait_shown_status(stack, "volume", name, "available")
        assert shown["properties"] == {"lab": "1"} and shown["type"] == "__DEFAULT__"

        listed = as_json(stack.openstack("volume", "list", "-f", "json"))
        assert [v["Status"] for v in listed if v["Name"] == name] == ["available"]

        stack.openstack("volume", "set", "--name", name + "-b", "--property", "more=2",
                        "--description", "changed", name)
        shown = as_json(stack.openstack("volume", "show", name + "-b", "-f", "json"))
        assert shown["description"] == "changed"
        assert shown["properties"] == {"lab": "1", "more": "2"}
        stack.openstack("volume", "set", "--size", "2", name + "-b")
        assert wait_shown_status(stack, "volume", name + "-b", "available")["size"] == 2

        stack.openstack("volume", "snapshot", "create", "--volume", name + "-b", snap)
        wait_shown_status(stack, "volume snapshot", snap, "available")
        snaps = as_json(stack.openstack("volume", "snapshot", "list", "-f", "json"))
        assert snap in [s["Name"] for s in snaps]

        stack.openstack("volume", "create", "--snapshot", snap, restored)
        assert wait_shown_status(stack, "volume", restored, "available")["size"] == 2

        stack.openstack("volume", "delete", restored)
        stack.openstack("volume", "snapshot", "delete", snap)
        deadline = time.monotonic() + 60
        while snap in [s["Name"] for s in as_json(stack.openstack("volume", "snapshot", "list",
                                                                    "-f", "json"))]:
            assert time.monotonic() < deadline
            time.sleep(0.5)
        stack.openstack("volume", "delete", name + "-b")
        deadline = time.monotonic() + 60
        while any(v["Name"] in (name + "-b", restored)
                  for v in as_json(stack.openstack("volume", "list", "-f", "json"))):
            assert time.monotonic() < deadline
            time.sleep(0.5)
    finally:
        # A failure half-way must not leave volumes in the shared stack.
        _remove_leftovers(stack, snapshots=[snap], volumes=[restored, name + "-b", name])


def _remove_leftovers(stack, *, snapshots: list[str], volumes: list[str]) -> None:
    """Delete by name whatever still exists (nothing, when the test passed)."""
    listed = [s["Name"] for s in as_json(stack.openstack("volume", "snapshot", "list",
                                                           "-f", "json"))]
    for snapshot in snapshots:
        if snapshot in listed:
            stack.openstack("volume", "snapshot", "delete", snapshot, check=False)
    listed = [v["Name"] for v in as_json(stack.openstack("volume", "list", "-f", "json"))]
    for volume in volumes:
        if volume in listed:
            stack.openstack("volume", "delete", "--purge", volume, check=False)


def test_volume_from_an_image_with_the_real_client(stack, tmp_path):
    image_file = tmp_path / "tiny.qcow2"
    subprocess.run(["qemu-img", "create", "-f", "qcow2", str(image_file), "32M"], check=True,
                   capture_output=True)
    image = unique("cliimg")
    stack.openstack("image", "create", "--disk-format", "qcow2", "--container-format", "bare",
                    "--file", str(image_file), image)
    volume = unique("clifromimg")
    stack.openstack("volume", "create", "--image", image, "--size", "1", volume)
    shown = wait_shown_status(stack, "volume", volume, "available")
    assert shown["bootable"] in (True, "true")
    assert shown["volume_image_metadata"]["image_name"] == image
    stack.openstack("volume", "delete", volume)
    stack.openstack("image", "delete", image)


def test_over_quota_create_is_refused_with_413(stack):
    project, user, password = new_project_user(stack)
    fresh = VolumeApi(stack, user, project, password)
    admin = VolumeApi(stack, "admin")
    admin.call("PUT", f"/os-quota-sets/{fresh.project_id}",
               json={"quota_set": {"gigabytes": 1}}, expect=200)
    as_user = ("--os-username", user, "--os-password", password, "--os-project-name", project)
    stack.openstack(*as_user, "volume", "create", "--size", "1", unique("fits"))
    refused = stack.openstack(*as_user, "volume", "create", "--size", "1", unique("over"),
                              check=False)
    assert refused.returncode != 0
    assert "HTTP 413" in refused.stderr or "413" in refused.stderr, refused.stderr
    assert "VolumeSizeExceedsAvailableQuota" in refused.stderr
