"""The domain XML computed writes, read as libvirt reads it (the test:///
driver parses and keeps a definition without running anything). The real
boots are in tests/e2e/test_server_*.py."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from computed.domain.devices import config_drive_device, local_disks
from computed.domain.image_properties import guest_hardware
from computed.virt.guest import (
    METADATA_NS,
    QEMU_NS,
    FileDisk,
    GuestSpec,
    IscsiVolume,
    Nic,
    domain_xml,
    media_disk_xml,
    nic_xml,
    parse_metadata,
    secret_usage,
    secret_xml,
    volume_disk_xml,
)

UUID = "6d0cc6b4-0000-4000-8000-000000000001"
SECRET = "6d0cc6b4-0000-4000-8000-000000000009"
PORT_A = "5e1b2c3d-aaaa-4000-8000-000000000001"
PORT_B = "5e1b2c3d-bbbb-4000-8000-000000000002"


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
        labels={"node": "n1", "name": "web & db", "project": "p"},
        nics=[Nic(PORT_A, "fa:16:3e:00:00:0a", mtu=1450),
              Nic(PORT_B, "fa:16:3e:00:00:0b", model="e1000")])


def test_a_console_socket_path_too_long_for_a_unix_socket_leaves_the_log_file_alone():
    deep = Path("/" + "d" * 80) / UUID / "console.log"
    spec = GuestSpec(**{**guest().__dict__, "console_log": deep})
    serial = ET.fromstring(domain_xml(spec, "qemu", run_as_root=True)).find("devices/serial")
    assert serial.get("type") == "file"
    assert serial.find("source").attrib == {"path": str(deep), "append": "on"}
    assert serial.find("log") is None


def test_the_domain_has_acpi_a_socket_console_logged_to_a_file_and_typed_disks():
    root = ET.fromstring(domain_xml(guest(), "qemu", run_as_root=True))
    assert root.get("type") == "qemu"
    assert root.find("features/acpi") is not None
    serial = root.find("devices/serial")
    assert serial.get("type") == "unix"
    assert serial.find("source").attrib == {
        "mode": "bind", "path": f"/state/lib/instances/{UUID}/console.sock"}
    assert serial.find("log").attrib == {
        "file": f"/state/lib/instances/{UUID}/console.log", "append": "on"}
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


def test_the_guest_carries_novas_smbios_identity():
    """cloud-init's OpenStack datasource looks for product "OpenStack Nova"."""
    root = ET.fromstring(domain_xml(guest(), "qemu", run_as_root=True))
    sysinfo = root.find("sysinfo")
    assert sysinfo.get("type") == "smbios"
    entries = {e.get("name"): e.text for e in sysinfo.iterfind("system/entry")}
    assert entries == {"manufacturer": "OpenStack Foundation", "product": "OpenStack Nova",
                       "serial": UUID, "uuid": UUID, "family": "Virtual Machine"}
    assert root.find("os/smbios").get("mode") == "sysinfo"


def test_each_port_is_a_virtio_nic_on_a_tap_named_after_it():
    root = ET.fromstring(domain_xml(guest(), "qemu", run_as_root=True))
    nics = root.findall("devices/interface")
    assert [n.get("type") for n in nics] == ["ethernet", "ethernet"]
    assert [n.find("mac").get("address") for n in nics] == ["fa:16:3e:00:00:0a",
                                                            "fa:16:3e:00:00:0b"]
    # tap + the port id, 14 characters: what networkd looks for (shared.netnames)
    assert [n.find("target").get("dev") for n in nics] == ["tap5e1b2c3d-aa", "tap5e1b2c3d-bb"]
    # the image's hw_vif_model
    assert [n.find("model").get("type") for n in nics] == ["virtio", "e1000"]
    assert nics[0].find("mtu").get("size") == "1450" and nics[1].find("mtu") is None
    # The hot-plug XML is the same element.
    assert ET.fromstring(nic_xml(guest().nics[1])).attrib == {"type": "ethernet"}


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
        kept = ET.fromstring(domain.XMLDesc())
        assert [n.find("target").get("dev") for n in kept.iterfind("devices/interface")] \
            == ["tap5e1b2c3d-aa", "tap5e1b2c3d-bb"]
        domain.undefine()
    finally:
        conn.close()


# --- the image's hw_* properties (computed/domain/image_properties.py) -------------------
def guest_of_image(properties: dict, vcpus: int = 1) -> GuestSpec:
    """A guest laid out as launch lays it out for an image with `properties`."""
    hardware = guest_hardware(properties, vcpus)
    directory = Path("/state/lib/instances") / UUID
    names = local_disks(1, 0, hardware.disk_bus)
    disks = [FileDisk(directory / "disk", names.root, "qcow2", bus=hardware.disk_bus),
             FileDisk(directory / "disk.local", names.ephemeral, "qcow2",
                      bus=hardware.disk_bus),
             FileDisk(directory / "disk.config", config_drive_device(hardware.cdrom_bus, names),
                      "raw", bus=hardware.cdrom_bus, device_type="cdrom", readonly=True)]
    return GuestSpec(uuid=UUID, domain_name="instance-6d0cc6b4", vcpus=vcpus, memory_mb=128,
                     disks=disks, volumes=guest().volumes,
                     console_log=directory / "console.log", hardware=hardware)


def targets(root: ET.Element) -> dict[str, str]:
    return {d.find("target").get("dev"): d.find("target").get("bus")
            for d in root.iterfind("devices/disk")}


def test_an_image_without_properties_keeps_the_virtio_domain():
    root = ET.fromstring(domain_xml(guest_of_image({}), "qemu", run_as_root=True))
    assert targets(root) == {"vda": "virtio", "vdb": "virtio", "hdd": "ide", "vdc": "virtio"}
    assert root.find("cpu") is None and root.find("clock").get("offset") == "utc"
    for absent in ("devices/controller", "devices/rng", "devices/channel"):
        assert root.find(absent) is None


def test_scsi_disks_sit_on_a_virtio_scsi_controller_and_volumes_stay_virtio():
    root = ET.fromstring(domain_xml(guest_of_image({"hw_disk_bus": "scsi"}), "qemu",
                                    run_as_root=True))
    assert targets(root) == {"sda": "scsi", "sdb": "scsi", "hdd": "ide", "vdc": "virtio"}
    controller = root.find("devices/controller")
    assert (controller.get("type"), controller.get("model")) == ("scsi", "virtio-scsi")


def test_rng_guest_agent_topology_and_windows_clock():
    root = ET.fromstring(domain_xml(guest_of_image(
        {"hw_rng_model": "virtio", "hw_qemu_guest_agent": "yes", "hw_cpu_sockets": "2",
         "os_type": "windows", "hw_disk_bus": "sata", "hw_cdrom_bus": "sata"}, vcpus=4),
        "qemu", run_as_root=True))
    assert targets(root) == {"sda": "sata", "sdb": "sata", "sdc": "sata", "vdc": "virtio"}
    rng = root.find("devices/rng")
    assert rng.get("model") == "virtio"
    assert (rng.find("backend").get("model"), rng.find("backend").text) == \
        ("random", "/dev/urandom")
    channel = root.find("devices/channel")
    assert channel.get("type") == "unix" and channel.find("source").get("mode") == "bind"
    assert channel.find("target").attrib == {"type": "virtio",
                                             "name": "org.qemu.guest_agent.0"}
    assert root.find("cpu/topology").attrib == {"sockets": "2", "cores": "2", "threads": "1"}
    assert root.find("vcpu").text == "4"
    assert root.find("clock").get("offset") == "localtime"


@pytest.mark.parametrize("properties", [
    {"hw_disk_bus": "scsi", "hw_cdrom_bus": "scsi", "hw_rng_model": "virtio",
     "hw_qemu_guest_agent": "yes", "hw_cpu_cores": "2"},
    {"hw_disk_bus": "sata", "os_type": "windows"},
    {"hw_disk_bus": "ide", "hw_cdrom_bus": "ide"},
    {"hw_disk_bus": "usb", "hw_cdrom_bus": "usb"},
], ids=["scsi", "sata", "ide", "usb"])
def test_libvirt_accepts_the_domain_of_each_bus(properties):
    libvirt = pytest.importorskip("libvirt")
    libvirt.registerErrorHandler(lambda _ctx, _error: None, None)
    conn = libvirt.open("test:///default")
    try:
        domain = conn.defineXML(domain_xml(guest_of_image(properties, vcpus=2), "test",
                                           run_as_root=True))
        kept = ET.fromstring(domain.XMLDesc())
        buses = {properties["hw_disk_bus"], properties.get("hw_cdrom_bus", "ide"), "virtio"}
        assert set(targets(kept).values()) == buses
        domain.undefine()
    finally:
        conn.close()


def test_a_config_drive_can_start_empty_and_take_its_medium_later():
    """The launch starts the cdrom without its file (no <source>) and
    inserts it with media_disk_xml, the same drive with its source."""
    guest = guest_of_image({})
    (drive,) = [d for d in guest.disks if d.device_type == "cdrom"]
    assert drive.can_start_empty
    started = guest_of_image({})
    started.disks[-1] = drive.without_medium()
    (cdrom,) = ET.fromstring(domain_xml(started, "qemu", run_as_root=True)).iterfind(
        "devices/disk[@device='cdrom']")
    assert cdrom.find("source") is None and cdrom.find("target").get("dev") == "hdd"
    inserted = ET.fromstring(media_disk_xml(drive))
    assert (inserted.get("device"), inserted.find("source").get("file"),
            inserted.find("target").get("dev")) == ("cdrom", str(drive.path), "hdd")
    assert inserted.find("readonly") is not None
    usb = guest_of_image({"hw_cdrom_bus": "usb"}).disks[-1]
    assert usb.device_type == "cdrom" and not usb.can_start_empty


def test_libvirt_reads_the_guests_cpu_back_through_feature_words_unless_told():
    """The default spares the ~400 qom-get requests of libvirt's own way
    (computed/virt/guest.py cpu_readback_element; on a real libvirt:
    tests/e2e/test_guest_cpu_readback.py)."""
    override = f"{{{QEMU_NS}}}capabilities/{{{QEMU_NS}}}del"
    default = ET.fromstring(domain_xml(guest(), "qemu", run_as_root=True))
    assert [d.get("capability") for d in default.iterfind(override)] == \
        ["cpu-unavailable-features"]
    libvirts_own = ET.fromstring(domain_xml(guest(), "qemu", run_as_root=True,
                                            cpu_readback="per-feature"))
    assert libvirts_own.find(f"{{{QEMU_NS}}}capabilities") is None
