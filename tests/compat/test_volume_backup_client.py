"""The unmodified python-openstackclient against volumed's backups and the
read-only flag: volume backup create (--force, --incremental), list, show,
restore (into a new volume and, with --force, into an existing one),
delete; volume set --read-only / --read-write."""
from __future__ import annotations

import json
import time

import pytest

from tests.support.volumes import VolumeApi, connector, unique, wait_shown_status

pytestmark = pytest.mark.compat


def as_json(result) -> object:
    return json.loads(result.stdout)


def data_file(stack, volume_id: str):
    return stack.state_dir / "lib" / "volumes" / f"volume-{volume_id}"


def test_backup_lifecycle_with_the_real_client(stack):
    volume, full, incr = unique("clibakvol"), unique("clifull"), unique("cliincr")
    restored, existing = unique("clirestored"), unique("cliexisting")
    made_volume = as_json(stack.openstack("volume", "create", "--size", "1", volume,
                                          "-f", "json"))
    wait_shown_status(stack, "volume", volume, "available")
    with open(data_file(stack, made_volume["id"]), "r+b") as handle:
        handle.write(b"first version")

    created = as_json(stack.openstack("volume", "backup", "create", "--name", full,
                                      "--description", "from the cli", volume, "-f", "json"))
    assert created["name"] == full and created["volume_id"] == made_volume["id"]
    shown = wait_shown_status(stack, "volume backup", full, "available")
    assert shown["size"] == 1 and shown["is_incremental"] is False
    assert shown["description"] == "from the cli" and shown["object_count"] == 1

    with open(data_file(stack, made_volume["id"]), "r+b") as handle:
        handle.write(b"second")
    stack.openstack("volume", "backup", "create", "--incremental", "--name", incr, volume)
    shown = wait_shown_status(stack, "volume backup", incr, "available")
    assert shown["is_incremental"] is True
    assert as_json(stack.openstack("volume", "backup", "show", full, "-f",
                                   "json"))["has_dependent_backups"] is True
    listed = as_json(stack.openstack("volume", "backup", "list", "--volume", volume,
                                     "-f", "json"))
    assert sorted(b["Name"] for b in listed) == sorted([full, incr])
    assert {b["Name"]: b["Incremental"] for b in listed} == {full: False, incr: True}
    refused = stack.openstack("volume", "backup", "delete", full, check=False)
    assert refused.returncode != 0
    assert "Incremental backups exist for this backup." in refused.stderr, refused.stderr

    # Into a new volume, named on the command line.
    answer = as_json(stack.openstack("volume", "backup", "restore", incr, restored,
                                     "-f", "json"))
    assert answer["volume_name"] == restored
    new_volume = wait_shown_status(stack, "volume", restored, "available")
    assert new_volume["size"] == 1
    with open(data_file(stack, new_volume["id"]), "rb") as handle:
        assert handle.read(13) == b"secondversion"
    wait_shown_status(stack, "volume backup", incr, "available")

    # Into an existing volume: the client wants --force.
    stack.openstack("volume", "create", "--size", "2", existing)
    existing_volume = wait_shown_status(stack, "volume", existing, "available")
    refused = stack.openstack("volume", "backup", "restore", full, existing, check=False)
    assert refused.returncode != 0 and "--force" in refused.stderr
    stack.openstack("volume", "backup", "restore", "--force", full, existing)
    wait_shown_status(stack, "volume", existing, "available")
    with open(data_file(stack, existing_volume["id"]), "rb") as handle:
        assert handle.read(13) == b"first version"
    wait_shown_status(stack, "volume backup", full, "available")

    stack.openstack("volume", "backup", "delete", incr)
    stack.openstack("volume", "backup", "delete", full)
    deadline = time.monotonic() + 60
    while {full, incr} & {b["Name"] for b in as_json(stack.openstack(
            "volume", "backup", "list", "-f", "json"))}:
        assert time.monotonic() < deadline
        time.sleep(1)
    for name in (volume, restored, existing):
        stack.openstack("volume", "delete", name)


def test_an_in_use_volume_is_backed_up_only_with_force(stack):
    demo = VolumeApi(stack, "demo")
    volume = demo.create()
    attachment = demo.attach(volume["id"], connector("clibak"))
    demo.complete(attachment["id"])
    name = unique("cliforced")
    refused = stack.openstack("volume", "backup", "create", "--name", name, volume["id"],
                              check=False)
    assert refused.returncode != 0
    assert "Backing up an in-use volume must use the force flag." in refused.stderr
    stack.openstack("volume", "backup", "create", "--force", "--name", name, volume["id"])
    wait_shown_status(stack, "volume backup", name, "available")
    assert demo.show(volume["id"])["status"] == "in-use"
    demo.detach(attachment["id"])
    stack.openstack("volume", "backup", "delete", name)
    deadline = time.monotonic() + 60
    while demo.call("GET", "/backups", params={"name": name}).json()["backups"]:
        assert time.monotonic() < deadline
        time.sleep(0.5)
    demo.delete(volume["id"])


def test_read_only_flag_with_the_real_client(stack):
    name = unique("cliro")
    stack.openstack("volume", "create", "--size", "1", name)
    wait_shown_status(stack, "volume", name, "available")
    stack.openstack("volume", "set", "--read-only", name)
    shown = as_json(stack.openstack("volume", "show", name, "-f", "json"))
    assert shown["properties"] == {"readonly": "True"}
    stack.openstack("volume", "set", "--read-write", name)
    shown = as_json(stack.openstack("volume", "show", name, "-f", "json"))
    assert shown["properties"] == {"readonly": "False"}

    # Only an available volume's flag can change (Cinder's words).
    demo = VolumeApi(stack, "demo")
    attachment = demo.attach(shown["id"], connector("cliro"))
    demo.complete(attachment["id"])
    refused = stack.openstack("volume", "set", "--read-only", name, check=False)
    assert refused.returncode != 0
    assert "status must be available to update readonly flag" in refused.stderr
    demo.detach(attachment["id"])
    stack.openstack("volume", "delete", name)
