"""A real boot (TCG) of a copy of the tiny image uploaded with
hw_disk_bus=scsi, hw_rng_model=virtio and hw_qemu_guest_agent=yes: the live
domain has a virtio-scsi controller with sda/sdb on it, a virtio RNG and the
guest agent's channel, and the guest itself sees its disks on virtio-scsi
and the RNG and serial devices on its virtio bus.

The tiny image's POCKETSTACK-DISKS marker lists only vd* disks, so the
guest's view is printed by a user_data script (run from the config drive,
which stays an IDE cdrom: hw_cdrom_bus is not set)."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from tests.support.compute import GIB, Images, b64, domain_exists, instances_dir, leftovers, virsh

pytestmark = pytest.mark.e2e

# Virtio device ids (virtio spec 1.x, section 5): what the guest's virtio bus holds.
VIRTIO_SCSI, VIRTIO_RNG, VIRTIO_CONSOLE = "0x0008", "0x0004", "0x0003"

# Prints each SCSI disk's name, size and sysfs path (which names its
# controller), then the id of every device on the guest's virtio bus.
USER_DATA = """#!/bin/sh
tries=0
while [ ! -e /sys/block/sdb ] && [ "$tries" -lt 40 ]; do sleep 0.5; tries=$((tries+1)); done
for d in /sys/block/sd*; do
    echo "PROPS-DISK: ${d##*/} $(( $(cat $d/size) * 512 )) $(readlink -f $d)"
done
for v in /sys/bus/virtio/devices/*; do echo "PROPS-VIRTIO: $(cat $v/device)"; done
echo "PROPS-DONE"
"""


@pytest.fixture(scope="module")
def scsi_image(stack, tiny_image):
    images = Images(stack, stack.token("demo"))
    image = images.create(tiny_image.read_bytes(), disk_format="qcow2",
                          hw_disk_bus="scsi", hw_scsi_model="virtio-scsi",
                          hw_rng_model="virtio", hw_qemu_guest_agent="yes")
    assert image["status"] == "active", image
    yield image
    images.delete(image["id"])


@pytest.fixture(scope="module")
def booted(demo, scsi_image):
    made = demo.create(image=scsi_image["id"], user_data=b64(USER_DATA))
    server = demo.wait_status(made["id"], "ACTIVE")
    demo.wait_console(server["id"], r"^PROPS-DONE")
    return server


def test_the_live_domain_has_the_images_hardware(booted):
    root = ET.fromstring(virsh("dumpxml", booted["id"]))
    disks = {d.find("target").get("dev"): d.find("target").get("bus")
             for d in root.iterfind("devices/disk")}
    assert disks == {"sda": "scsi", "sdb": "scsi", "hdd": "ide"}
    assert [c.get("model") for c in root.iterfind("devices/controller[@type='scsi']")] \
        == ["virtio-scsi"]
    rng = root.find("devices/rng")
    assert rng.get("model") == "virtio" and rng.find("backend").text == "/dev/urandom"
    agent = root.find("devices/channel/target[@name='org.qemu.guest_agent.0']")
    assert agent is not None and agent.get("type") == "virtio"


def test_the_guest_sees_its_disks_on_virtio_scsi(demo, booted):
    console = demo.console(booted["id"])
    disks = {m.group(1): (int(m.group(2)), m.group(3)) for m in
             re.finditer(r"^PROPS-DISK: (sd[a-z]) (\d+) (\S+)", console, re.MULTILINE)}
    assert set(disks) == {"sda", "sdb"}, console[-3000:]
    assert disks["sda"][0] == GIB and disks["sdb"][0] == GIB  # root and ephemeral
    for _size, path in disks.values():
        # .../virtioN/hostH/targetH:0:L/H:0:L:0/block/sdX: a SCSI host on a virtio device
        assert re.search(r"/virtio\d+/host\d+/target", path), path
    assert re.search(r"^POCKETSTACK-DISKS:[ \r]*$", console, re.MULTILINE)  # no vd* disk
    assert "POCKETSTACK-CONFIGDRIVE: sr0" in console


def test_the_guest_has_the_rng_and_the_agents_serial_device(demo, booted):
    console = demo.console(booted["id"])
    ids = re.findall(r"^PROPS-VIRTIO: (0x[0-9a-f]+)", console, re.MULTILINE)
    for wanted in (VIRTIO_SCSI, VIRTIO_RNG, VIRTIO_CONSOLE):
        assert wanted in ids, ids


def test_the_instance_directory_keeps_novas_file_names(stack, booted):
    xml = (instances_dir(stack) / booted["id"] / "libvirt.xml").read_text()
    assert "<target dev=\"sda\" bus=\"scsi\" />" in xml
    assert "org.qemu.guest_agent.0" in xml


def test_delete_leaves_nothing(stack, demo, booted):
    demo.delete(booted["id"])
    assert leftovers(stack, booted["id"]) == []
    assert not domain_exists(booted["id"])
