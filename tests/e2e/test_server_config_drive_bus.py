"""The config drive on the buses an image may ask for (hw_cdrom_bus), booted
for real (TCG): on SCSI, as on IDE, the domain starts with its cdrom empty
while the ISO is built, the ISO goes in before the guest runs, and the
guest reads it at its first look; on USB, whose drive QEMU cannot start
empty (a usb-storage device needs its file), the ISO is built before the
start and the domain starts with it. Either way the running domain and
its definition hold disk.config.

(The tiny image's kernel reads IDE and virtio-scsi cdroms; it has no USB
storage driver, so on USB the guest's view is not checked, only the
domain's.)"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.support.compute import Images, domain_exists, virsh

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def images(stack):
    return Images(stack, stack.token("demo"))


@contextmanager
def booted_with_cdrom_bus(demo, images, tiny_image, bus: str) -> Iterator[dict]:
    """A server of a copy of the tiny image with hw_cdrom_bus=`bus`, ACTIVE,
    whose running domain and definition both hold its disk.config (on sda:
    vda and vdb are virtio, so the first sd name is free); deleted after."""
    image = images.create(tiny_image.read_bytes(), disk_format="qcow2", hw_cdrom_bus=bus)
    assert image["status"] == "active", image
    try:
        server = demo.wait_status(demo.create(image=image["id"])["id"], "ACTIVE")
        try:
            expected = [(bus, "sda", f"{server['id']}/disk.config")]
            assert config_drives(server["id"]) == expected
            assert config_drives(server["id"], "--inactive") == expected
            yield server
        finally:
            demo.delete(server["id"])  # and waits for the 404
            assert not domain_exists(server["id"])
    finally:
        images.delete(image["id"])


def config_drives(server_id: str, *flags: str) -> list[tuple[str, str, str]]:
    """(bus, device, source file's last two parts) of each cdrom of the domain."""
    root = ET.fromstring(virsh("dumpxml", *flags, server_id))
    return [(disk.find("target").get("bus"), disk.find("target").get("dev"),
             "/".join(disk.find("source").get("file").rsplit("/", 2)[-2:]))
            for disk in root.iterfind("devices/disk[@device='cdrom']")]


def test_a_scsi_config_drive_is_inserted_and_read_by_the_guest(demo, images, tiny_image):
    with booted_with_cdrom_bus(demo, images, tiny_image, "scsi") as server:
        demo.wait_console(server["id"], r"^POCKETSTACK-CONFIGDRIVE: ")
        assert "POCKETSTACK-CONFIGDRIVE: sr0" in demo.console(server["id"])
        assert "compute.instance.config_drive.created" in demo.events(server["id"])


def test_a_usb_config_drive_is_built_before_the_start(demo, images, tiny_image):
    with booted_with_cdrom_bus(demo, images, tiny_image, "usb") as server:
        events = demo.events(server["id"])
        assert events.index("compute.instance.config_drive.created") \
            < events.index("compute.instance.domain.started")
