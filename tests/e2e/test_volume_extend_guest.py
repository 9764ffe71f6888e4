"""Extending an in-use volume (Cinder 3.42), checked from inside a real guest
over SSH: the real `openstack --os-volume-api-version 3.42 volume set --size
2` on a volume attached to a running server grows its file, volumed makes
the tgt LUN again on that file and sends computed Nova's volume-extended
event, computed resizes the guest's disk (libvirt blockResize), and the
guest's vdc is 2 GiB without a detach or a reboot. Below 3.42 the same
extend is refused."""
from __future__ import annotations

import pytest

from shared.units import GiB
from tests.support import guest_ssh
from tests.support.compute import unique, virsh, wait_for
from tests.support.network import networking_fixture
from tests.support.volumes import VolumeApi

pytestmark = pytest.mark.e2e

net = networking_fixture("demo")
SECTOR = 512


@pytest.fixture(scope="module")
def volumes(stack) -> VolumeApi:
    return VolumeApi(stack, "demo")


@pytest.fixture(scope="module")
def guest(stack, demo, net):
    """A server with a key pair of the module's own, reachable over SSH."""
    yield from guest_ssh.reachable_guest(stack, demo, net, "ext")


def run(stack, guest, command: str) -> tuple[str, int]:
    return guest_ssh.run_in(stack, guest, command)


def vdc_bytes(stack, guest) -> int:
    output, status = run(stack, guest, "cat /sys/block/vdc/size")
    assert status == 0, output
    return int(output.strip()) * SECTOR


def test_an_in_use_volume_grows_inside_the_running_guest(stack, demo, volumes, guest):
    volume = volumes.create(size=1, name=unique("grow"))
    server_id = guest["server"]["id"]
    path = f"/servers/{server_id}/os-volume_attachments"
    response = demo.call("POST", path, json={"volumeAttachment": {"volumeId": volume["id"]}})
    assert response.status_code == 200, response.text
    assert response.json()["volumeAttachment"]["device"] == "/dev/vdc"
    volumes.wait(volume["id"], "in-use")
    wait_for(lambda: run(stack, guest, "test -b /dev/vdc")[1] == 0, timeout=60,
             what="vdc in the guest")
    marker = unique("kept-across-the-extend")
    run(stack, guest, f"printf '{marker}' | dd of=/dev/vdc bs=1M seek=1 "
                      f"conv=notrunc,fsync 2>/dev/null; sync")
    assert vdc_bytes(stack, guest) == 1 * GiB

    # Below 3.42 an in-use volume cannot be extended (Cinder's rule).
    refused = volumes.action(volume["id"], "os-extend", {"new_size": 2},
                             version="volume 3.41")
    assert refused.status_code == 400 and "in-use" in refused.text, refused.text

    stack.openstack("--os-volume-api-version", "3.42", "volume", "set", "--size", "2",
                    volume["name"])
    shown = volumes.wait(volume["id"], "in-use")
    assert shown["size"] == 2
    wait_for(lambda: vdc_bytes(stack, guest) == 2 * GiB, timeout=60,
             what="vdc at 2 GiB in the guest")
    output, status = run(stack, guest, "dd if=/dev/vdc bs=1M skip=1 count=1 2>/dev/null "
                                       "| head -c 64 | tr -d '\\000'")
    assert (output, status) == (marker, 0)
    # The guest can use the new space: write and read back past the old end.
    output, status = run(stack, guest, "printf beyond | dd of=/dev/vdc bs=1M seek=1500 "
                                       "conv=notrunc,fsync 2>/dev/null; dd if=/dev/vdc "
                                       "bs=1M skip=1500 count=1 2>/dev/null | head -c 6")
    assert (output, status) == ("beyond", 0)
    # libvirt's view of the disk, and the event computed took.
    info = dict(line.split(":", 1) for line in virsh("domblkinfo", server_id, "vdc")
                .splitlines() if ":" in line)
    assert int(info["Capacity"]) == 2 * GiB, info
    events = volumes.events(resource_id=volume["id"], type="volume.resize.end")
    assert [e["payload"]["status"] for e in events] == ["in-use"]

    assert demo.call("DELETE", f"{path}/{volume['id']}").status_code == 202
    volumes.wait(volume["id"], "available", timeout=120)
    volumes.delete(volume["id"])
