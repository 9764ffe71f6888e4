"""Backups and the read-only flag, checked from inside a real guest over SSH:
data a guest writes into its vdc is backed up (the real `openstack volume
backup create`), restored into a new volume (`volume backup restore`), and
read back by the guest from the restored volume; a volume set --read-only
is a read-only vdc in the guest (blockdev --getro, a write refused, libvirt
<readonly/>), and set --read-write makes it writable again.

One server for the module (a TCG boot costs tens of seconds here)."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from tests.support import guest_ssh
from tests.support.compute import unique, virsh, wait_for
from tests.support.network import networking_fixture
from tests.support.volumes import VolumeApi, wait_shown_status

pytestmark = pytest.mark.e2e

net = networking_fixture("demo")
BLOCK = 1024 * 1024   # where in vdc the marker goes (its second MiB)


@pytest.fixture(scope="module")
def volumes(stack) -> VolumeApi:
    return VolumeApi(stack, "demo")


@pytest.fixture(scope="module")
def guest(stack, demo, net):
    """A server with a key pair of the module's own, reachable over SSH."""
    yield from guest_ssh.reachable_guest(stack, demo, net, "bak")


def run(stack, guest, command: str) -> tuple[str, int]:
    return guest_ssh.run_in(stack, guest, command)


def attach(stack, demo, volumes, guest, volume_id: str) -> None:
    """Hot-plug the volume; wait until the guest sees it as vdc."""
    path = f"/servers/{guest['server']['id']}/os-volume_attachments"
    response = demo.call("POST", path, json={"volumeAttachment": {"volumeId": volume_id}})
    assert response.status_code == 200, response.text
    assert response.json()["volumeAttachment"]["device"] == "/dev/vdc"
    volumes.wait(volume_id, "in-use")
    wait_for(lambda: run(stack, guest, "test -b /dev/vdc")[1] == 0, timeout=60,
             what="vdc in the guest")


def detach(stack, demo, volumes, guest, volume_id: str) -> None:
    path = f"/servers/{guest['server']['id']}/os-volume_attachments/{volume_id}"
    assert demo.call("DELETE", path).status_code == 202
    volumes.wait(volume_id, "available", timeout=120)
    wait_for(lambda: run(stack, guest, "test -b /dev/vdc")[1] != 0, timeout=60,
             what="vdc gone from the guest")


def as_json(result) -> dict:
    return json.loads(result.stdout)


def read_marker(stack, guest) -> str:
    output, status = run(stack, guest, f"dd if=/dev/vdc bs={BLOCK} skip=1 count=1 "
                                       f"2>/dev/null | head -c 64 | tr -d '\\000'")
    assert status == 0
    return output


def test_data_written_in_a_guest_comes_back_from_a_backup(stack, demo, volumes, guest):
    source = volumes.create(size=1, name=unique("bak-source"))
    marker = unique("written-inside-the-guest")
    attach(stack, demo, volumes, guest, source["id"])
    output, status = run(stack, guest, f"printf '{marker}' | dd of=/dev/vdc bs={BLOCK} "
                                       f"seek=1 conv=notrunc,fsync 2>/dev/null; sync; "
                                       f"blockdev --getro /dev/vdc")
    assert (output.strip(), status) == ("0", 0)
    assert read_marker(stack, guest) == marker
    detach(stack, demo, volumes, guest, source["id"])

    backup = unique("guest-backup")
    stack.openstack("volume", "backup", "create", "--name", backup, source["name"])
    shown = wait_shown_status(stack, "volume backup", backup, "available")
    assert shown["volume_id"] == source["id"] and shown["size"] == 1
    restored = unique("restored")
    stack.openstack("volume", "backup", "restore", backup, restored)
    restored_volume = wait_shown_status(stack, "volume", restored, "available")
    assert restored_volume["id"] != source["id"]

    attach(stack, demo, volumes, guest, restored_volume["id"])
    assert read_marker(stack, guest) == marker
    detach(stack, demo, volumes, guest, restored_volume["id"])
    stack.openstack("volume", "backup", "delete", backup)
    volumes.delete(source["id"])
    volumes.delete(restored_volume["id"])


def test_a_read_only_volume_is_read_only_in_the_guest(stack, demo, volumes, guest):
    volume = volumes.create(size=1, name=unique("ro"))
    marker = unique("kept")
    attach(stack, demo, volumes, guest, volume["id"])
    run(stack, guest, f"printf '{marker}' | dd of=/dev/vdc bs={BLOCK} seek=1 "
                      f"conv=notrunc,fsync 2>/dev/null; sync")
    detach(stack, demo, volumes, guest, volume["id"])

    stack.openstack("volume", "set", "--read-only", volume["name"])
    attach(stack, demo, volumes, guest, volume["id"])
    disks = ET.fromstring(virsh("dumpxml", guest["server"]["id"])).findall("./devices/disk")
    vdc = [d for d in disks if d.find("target").get("dev") == "vdc"]
    assert len(vdc) == 1 and vdc[0].find("readonly") is not None
    output, status = run(stack, guest, "blockdev --getro /dev/vdc")
    assert (output.strip(), status) == ("1", 0)
    output, status = run(stack, guest, "dd if=/dev/zero of=/dev/vdc bs=512 count=1 "
                                       "conv=notrunc,fsync 2>&1; echo exit=$?")
    assert "exit=0" not in output, output
    assert read_marker(stack, guest) == marker
    detach(stack, demo, volumes, guest, volume["id"])

    stack.openstack("volume", "set", "--read-write", volume["name"])
    attach(stack, demo, volumes, guest, volume["id"])
    output, status = run(stack, guest, "blockdev --getro /dev/vdc; printf changed | "
                                       f"dd of=/dev/vdc bs={BLOCK} seek=1 conv=notrunc,fsync "
                                       "2>/dev/null; echo exit=$?")
    assert output.split() == ["0", "exit=0"], output
    assert read_marker(stack, guest).startswith("changed")
    detach(stack, demo, volumes, guest, volume["id"])
    volumes.delete(volume["id"])
