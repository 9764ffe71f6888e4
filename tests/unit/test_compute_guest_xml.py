"""The domain XML computed writes, read as libvirt reads it (the test:///
driver parses and keeps a definition without running anything). The real
boots are in tests/e2e/test_server_*.py."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from computed.virt.guest import (METADATA_NS, FileDisk, GuestSpec, IscsiVolume, domain_xml,
                                 parse_metadata, secret_usage, secret_xml, volume_disk_xml)

UUID = "6d0cc6b4-0000-4000-8000-000000000001"
SECRET = "6d0cc6b4-0000-4000-8000-000000000009"


def guest() -> GuestSpec:
    directory = Path("/state/lib/instances") / UUID
    return GuestSpec(
        uuid=UUID, domain_name="instance-6d0cc6b4", vcpus=1, memory_mb=128,
        disks=[FileDisk(directory / "disk", "vda", "qcow2"),
               FileDisk(directory / "disk.local", "vdb", "qcow2"),
               FileDisk(directory / "disk.config", "hdd", "raw", bus="ide",
                        device_type="cdrom", readonly=True)],
        volumes=[IscsiVolume("v1", "vdc", "iqn.2010-10.org.openstack:volume-v1", 1,
                             "127.0.0.1", 3260, "iqn.2010-10.org.pocketstack:compute-n1",
                             "voluser", SECRET)],
        console_log=directory / "console.log",
        labels={"node": "n1", "name": "web & db", "project": "p"})


def test_the_domain_has_acpi_a_file_console_and_typed_disks():
    root = ET.fromstring(domain_xml(guest(), "qemu", run_as_root=True))
    assert root.get("type") == "qemu"
    assert root.find("features/acpi") is not None
    serial = root.find("devices/serial")
    assert serial.get("type") == "file"
    assert serial.find("source").get("path").endswith("/console.log")
    assert serial.find("source").get("append") == "on"
    disks = {d.find("target").get("dev"): d for d in root.iterfind("devices/disk")}
    assert set(disks) == {"vda", "vdb", "vdc", "hdd"}
    for name in ("vda", "vdb"):
        assert disks[name].find("driver").get("type") == "qcow2"  # never probed
        assert disks[name].find("target").get("bus") == "virtio"
    assert disks["hdd"].get("device") == "cdrom" and disks["hdd"].find("target").get("bus") \
        == "ide"
    assert root.find("seclabel").get("model") == "dac"


def test_an_iscsi_volume_names_its_secret_never_its_password():
    text = volume_disk_xml(guest().volumes[0])
    disk = ET.fromstring(text)
    source = disk.find("source")
    assert (source.get("protocol"), source.get("name")) == \
        ("iscsi", "iqn.2010-10.org.openstack:volume-v1/1")
    assert source.find("host").get("port") == "3260"
    assert source.find("initiator/iqn").get("name").startswith("iqn.2010-10.org.pocketstack")
    assert disk.find("auth").get("username") == "voluser"
    assert disk.find("auth/secret").get("uuid") == SECRET
    assert "password" not in text


def test_the_secret_is_private_and_marked_with_the_node():
    secret = ET.fromstring(secret_xml(SECRET, secret_usage("n1", "a1"), "CHAP"))
    assert secret.get("private") == "yes" and secret.get("ephemeral") == "no"
    assert secret.find("usage").get("type") == "iscsi"
    assert secret.find("usage/target").text == "pocketstack/n1/a1"


def test_without_root_libvirt_keeps_its_own_user():
    assert "<seclabel" not in domain_xml(guest(), "kvm", run_as_root=False)


def test_libvirt_accepts_the_definition_and_keeps_the_metadata():
    libvirt = pytest.importorskip("libvirt")
    libvirt.registerErrorHandler(lambda _ctx, _error: None, None)
    conn = libvirt.open("test:///default")
    try:
        domain = conn.defineXML(domain_xml(guest(), "test", run_as_root=True))
        labels = parse_metadata(domain.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT,
                                                METADATA_NS))
        assert labels == {"node": "n1", "name": "web & db", "project": "p"}
        assert domain.UUIDString() == UUID
        domain.undefine()
    finally:
        conn.close()
