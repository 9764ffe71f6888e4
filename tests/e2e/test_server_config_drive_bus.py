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

import pytest

from tests.support.compute import Images, domain_exists, virsh

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def images(stack):
    return Images(stack, stack.token("demo"))


def boot_with_cdrom_bus(demo, images, tiny_image, bus: str) -> dict:
    image = images.create(tiny_image.read_bytes(), disk_format="qcow2", hw_cdrom_bus=bus)
    assert image["status"] == "active", image
    made = demo.create(image=image["id"])
    server = demo.wait_status(made["id"], "ACTIVE")
    server["test_image_id"] = image["id"]
    return server


def config_drives(server_id: str, *flags: str) -> list[tuple[str, str, str]]:
    """(bus, device, source file's last two parts) of each cdrom of the domain."""
    root = ET.fromstring(virsh("dumpxml", *flags, server_id))
    return [(disk.find("target").get("bus"), disk.find("target").get("dev"),
             "/".join(disk.find("source").get("file").rsplit("/", 2)[-2:]))
            for disk in root.iterfind("devices/disk[@device='cdrom']")]


def remove(demo, images, server: dict) -> None:
    demo.delete(server["id"])  # and waits for the 404
    assert not domain_exists(server["id"])
    images.delete(server["test_image_id"])


def test_a_scsi_config_drive_is_inserted_and_read_by_the_guest(demo, images, tiny_image):
    server = boot_with_cdrom_bus(demo, images, tiny_image, "scsi")
    try:
        # The first sd name: vda and vdb (virtio) leave sda free on the SCSI bus.
        expected = [("scsi", "sda", f"{server['id']}/disk.config")]
        assert config_drives(server["id"]) == expected
        assert config_drives(server["id"], "--inactive") == expected
        demo.wait_console(server["id"], r"^POCKETSTACK-CONFIGDRIVE: ")
        assert "POCKETSTACK-CONFIGDRIVE: sr0" in demo.console(server["id"])
        events = demo.events(server["id"])
        assert "compute.instance.config_drive.created" in events
    finally:
        remove(demo, images, server)


def test_a_usb_config_drive_is_built_before_the_start(demo, images, tiny_image):
    server = boot_with_cdrom_bus(demo, images, tiny_image, "usb")
    try:
        expected = [("usb", "sda", f"{server['id']}/disk.config")]
        assert config_drives(server["id"]) == expected
        assert config_drives(server["id"], "--inactive") == expected
        events = demo.events(server["id"])
        assert events.index("compute.instance.config_drive.created") \
            < events.index("compute.instance.domain.started")
    finally:
        remove(demo, images, server)
