"""The domain of a volume-backed server: no file for vda, the boot volume
first in the boot order (a per-device <boot order>, without <os><boot>,
which libvirt refuses beside it), read back by libvirt's test:/// driver."""
from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from computed.virt.guest import FileDisk, GuestSpec, IscsiVolume, domain_xml, volume_disk_xml

UUID = "6d0cc6b4-0000-4000-8000-000000000001"
ROOT = IscsiVolume("root-volume", "vda", "iqn.2010-10.org.openstack:volume-root", 1,
                   "127.0.0.1", 3260, "iqn.2010-10.org.pocketstack:compute-n1", "user",
                   "6d0cc6b4-0000-4000-8000-000000000009", boot=True)
DATA = dataclasses.replace(ROOT, volume_id="data-volume", device="vdc", boot=False)


def volume_backed() -> GuestSpec:
    directory = Path("/state/lib/instances") / UUID
    return GuestSpec(uuid=UUID, domain_name="instance-6d0cc6b4", vcpus=1, memory_mb=128,
                     disks=[FileDisk(directory / "disk.local", "vdb", "qcow2")],
                     volumes=[ROOT, DATA], console_log=directory / "console.log")


def test_the_boot_volume_boots_first():
    domain = ET.fromstring(domain_xml(volume_backed(), "qemu", run_as_root=True))
    assert domain.find("os/boot") is None
    disks = {d.find("target").get("dev"): d for d in domain.iterfind("devices/disk")}
    assert disks["vda"].get("type") == "network"
    assert disks["vda"].find("boot").get("order") == "1"
    assert disks["vdc"].find("boot") is None and disks["vdb"].find("boot") is None
    # A hot-plugged volume never carries a boot order.
    assert "<boot" not in volume_disk_xml(DATA)


def test_an_image_backed_server_keeps_booting_from_hd():
    spec = dataclasses.replace(volume_backed(), volumes=[DATA])
    domain = ET.fromstring(domain_xml(spec, "qemu", run_as_root=True))
    assert domain.find("os/boot").get("dev") == "hd"


def test_libvirt_accepts_the_boot_order():
    libvirt = pytest.importorskip("libvirt")
    libvirt.registerErrorHandler(lambda _ctx, _error: None, None)
    conn = libvirt.open("test:///default")
    try:
        domain = conn.defineXML(domain_xml(volume_backed(), "test", run_as_root=True))
        kept = ET.fromstring(domain.XMLDesc())
        orders = {d.find("target").get("dev"): d.find("boot")
                  for d in kept.iterfind("devices/disk")}
        assert orders["vda"].get("order") == "1"
        domain.undefine()
    finally:
        conn.close()
