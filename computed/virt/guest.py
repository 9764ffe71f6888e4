"""What a guest is made of, and the libvirt XML that describes it.

Building the XML is pure (no libvirt call), so it can be read and tested on
its own. The shape follows what Nova's libvirt driver writes, reduced to
what PocketStack needs:

    <domain type='qemu|kvm'>        qemu (TCG) where KVM does not really work
      <metadata>                     PocketStack's marks: node, project, name
      <sysinfo type='smbios'>        Nova's identity (product "OpenStack Nova",
                                     serial = the server's id): cloud-init
                                     recognises an OpenStack cloud by it
      <features><acpi/>              so that the power button shuts the guest down
      <disk> vda, vdb, ...           qcow2 files in the instance directory, or
                                     RBD images in Ceph ([libvirt] images_type
                                     rbd: computed/virt/imagebackend.py)
      <disk type='network'>          volumes: QEMU's own iSCSI initiator, CHAP
                                     password in a libvirt secret (never here);
                                     or librbd (rbd volumes), the cephx key in
                                     a libvirt secret of type ceph;
                                     a boot volume has <boot order='1'/>
      <disk device='cdrom'>          the config drive, on IDE (a launch starts
                                     the drive empty and inserts the ISO
                                     before the guest runs: media_disk_xml)
      <interface type='ethernet'>    one per port: a virtio NIC with the port's
                                     MAC on a tap named after the port, which
                                     libvirt creates and networkd plugs
      <serial type='unix'>           the console: a socket the serial console
                                     proxy connects to, all output appended
                                     to console.log too
    <qemu:capabilities>              how libvirt reads the started guest's CPU
                                     back ([libvirt] guest_cpu_readback: see
                                     cpu_readback_element)

The image's hw_* properties (domain/image_properties.py) change the disks'
bus and names, and add a virtio-scsi controller, a virtio RNG, the QEMU
guest agent's channel, a CPU topology or a local-time clock.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field, replace
from pathlib import Path

from computed.domain.image_properties import GuestHardware
from shared.netnames import tap_name

METADATA_NS = "urn:pocketstack:compute:instance:1"
METADATA_PREFIX = "pocketstack"
SECRET_USAGE_PREFIX = "pocketstack"
# What Nova writes into the guest's SMBIOS (nova/virt/libvirt/driver.py and
# nova/version.py): cloud-init's OpenStack datasource looks for the product.
SMBIOS_MANUFACTURER = "OpenStack Foundation"
SMBIOS_PRODUCT = "OpenStack Nova"
SMBIOS_FAMILY = "Virtual Machine"
QEMU_NS = "http://libvirt.org/schemas/domain/qemu/1.0"  # libvirt's <qemu:...> elements
UNIX_PATH_MAX = 108  # sun_path of a unix socket address, with its final NUL
# The buses on which QEMU starts a cdrom drive without a medium and takes
# one later (a USB cdrom is a usb-storage device: it needs its file at start).
EMPTY_DRIVE_BUSES = frozenset({"ide", "sata", "scsi"})


@dataclass(frozen=True)
class FileDisk:
    """A disk backed by a file of the instance directory."""
    path: Path
    device: str                # vda, vdb ... or hdd for the cdrom
    format: str                # qcow2 or raw (always explicit: never let QEMU guess)
    bus: str = "virtio"
    device_type: str = "disk"  # or cdrom
    readonly: bool = False
    empty: bool = False        # a cdrom drive without its medium (inserted later)

    @property
    def can_start_empty(self) -> bool:
        """A removable drive QEMU can start without its medium."""
        return self.device_type == "cdrom" and self.bus in EMPTY_DRIVE_BUSES

    def without_medium(self) -> FileDisk:
        """The same drive, empty: what a domain can start with before the
        file exists (only where can_start_empty)."""
        return replace(self, empty=True)


@dataclass(frozen=True)
class IscsiVolume:
    """A volume attached with QEMU's iSCSI initiator."""
    volume_id: str
    device: str
    target_iqn: str
    target_lun: int
    portal_host: str
    portal_port: int
    initiator_iqn: str
    auth_username: str | None = None
    secret_uuid: str | None = None   # libvirt secret holding the CHAP password
    readonly: bool = False
    boot: bool = False               # the root of a volume-backed server: boots first


@dataclass(frozen=True)
class RbdVolume:
    """A volume QEMU reads from Ceph itself (librbd): volumed's rbd backend.
    The cephx user's key is in the libvirt secret `secret_uuid`."""
    volume_id: str
    device: str
    name: str                        # pool/image
    hosts: tuple[str, ...]           # the monitors
    ports: tuple[str, ...]
    auth_username: str
    secret_uuid: str | None = None
    readonly: bool = False
    boot: bool = False


#: A volume attached to a guest: over iSCSI (file backend) or RBD.
VolumeSpec = IscsiVolume | RbdVolume


@dataclass(frozen=True)
class RbdDisk:
    """A local disk (vda, vdb, swap) kept as an RBD image in Ceph, which QEMU
    reads itself with librbd ([libvirt] images_type = rbd); the cephx
    user's key is in the libvirt secret `secret_uuid`."""
    name: str                        # pool/image
    device: str
    hosts: tuple[str, ...]           # the monitors
    ports: tuple[str, ...]
    auth_username: str
    secret_uuid: str
    bus: str = "virtio"
    device_type: str = "disk"
    readonly: bool = False
    qemu_source: str = ""            # qemu-img's name of it, to copy it while off


#: A disk of the server's own (not a volume): a file of the instance
#: directory or an RBD image.
LocalDisk = FileDisk | RbdDisk


@dataclass(frozen=True)
class Nic:
    """A port of the server, as the guest sees it: a virtio NIC with the
    port's MAC. Its tap is named after the port (shared.netnames), which is
    how networkd finds it and plugs it into the port's network."""
    port_id: str
    mac_address: str
    mtu: int | None = None
    model: str = "virtio"     # the image's hw_vif_model

    @property
    def tap(self) -> str:
        return tap_name(self.port_id)


@dataclass(frozen=True)
class GuestSpec:
    uuid: str
    domain_name: str
    vcpus: int
    memory_mb: int
    disks: list[LocalDisk]
    volumes: list[VolumeSpec]
    console_log: Path
    machine_type: str = "pc"
    labels: dict[str, str] = field(default_factory=dict)  # node, name, project, user, flavor
    hardware: GuestHardware = field(default_factory=GuestHardware)  # from the image
    nics: list[Nic] = field(default_factory=list)  # in the order of the server's ports


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs) -> ET.Element:
    element = ET.SubElement(parent, tag, {k.rstrip("_"): str(v) for k, v in attrs.items()
                                          if v is not None})
    if text is not None:
        element.text = text
    return element


def local_disk_element(disk: LocalDisk) -> ET.Element:
    element = ET.Element("disk")
    if isinstance(disk, RbdDisk):
        element.attrib.update(type="network", device=disk.device_type)
        # raw: an RBD image is a plain block device; writeback, as Nova
        # sets for rbd (librbd's cache is flushed when the guest flushes).
        _sub(element, "driver", name="qemu", type="raw", cache="writeback")
        _rbd_source(element, disk.name, disk.hosts, disk.ports, disk.auth_username,
                    disk.secret_uuid)
    else:
        element.attrib.update(type="file", device=disk.device_type)
        _sub(element, "driver", name="qemu", type=disk.format)
        if not disk.empty:
            _sub(element, "source", file=str(disk.path))
    _sub(element, "target", dev=disk.device, bus=disk.bus)
    if disk.readonly:
        _sub(element, "readonly")
    return element


def media_disk_xml(disk: FileDisk) -> str:
    """A removable drive with its medium, as libvirt's update of a device
    takes it (virsh change-media does the same)."""
    return ET.tostring(local_disk_element(disk), encoding="unicode")


def _rbd_source(disk: ET.Element, name: str, hosts: tuple[str, ...], ports: tuple[str, ...],
                username: str, secret_uuid: str | None) -> None:
    """<source protocol='rbd'> with the monitors, and the cephx user's secret."""
    source = _sub(disk, "source", protocol="rbd", name=name)
    for host, port in zip(hosts, ports, strict=True):
        _sub(source, "host", name=host, port=port)
    if secret_uuid:
        auth = _sub(disk, "auth", username=username)
        _sub(auth, "secret", type="ceph", uuid=secret_uuid)


def volume_disk_element(volume: VolumeSpec) -> ET.Element:
    disk = ET.Element("disk", {"type": "network", "device": "disk"})
    # raw: a volume is a plain LUN. cache=none: writes go to the target at once.
    _sub(disk, "driver", name="qemu", type="raw", cache="none")
    if isinstance(volume, RbdVolume):
        _rbd_source(disk, volume.name, volume.hosts, volume.ports, volume.auth_username,
                    volume.secret_uuid)
    else:
        source = _sub(disk, "source", protocol="iscsi",
                      name=f"{volume.target_iqn}/{volume.target_lun}")
        _sub(source, "host", name=volume.portal_host, port=volume.portal_port)
        initiator = _sub(source, "initiator")
        _sub(initiator, "iqn", name=volume.initiator_iqn)
        if volume.auth_username and volume.secret_uuid:
            auth = _sub(disk, "auth", username=volume.auth_username)
            _sub(auth, "secret", type="iscsi", uuid=volume.secret_uuid)
    _sub(disk, "target", dev=volume.device, bus="virtio")
    if volume.boot:  # SeaBIOS boots it (libvirt's per-device boot order)
        _sub(disk, "boot", order="1")
    # The guest sees the volume id as the disk's serial (/dev/disk/by-id), as in Nova.
    _sub(disk, "serial", volume.volume_id[:20])
    if volume.readonly:
        _sub(disk, "readonly")
    return disk


def volume_disk_xml(volume: VolumeSpec) -> str:
    return ET.tostring(volume_disk_element(volume), encoding="unicode")


def nic_element(nic: Nic) -> ET.Element:
    """type='ethernet': libvirt creates the tap (named after the port) in
    the machine's namespace and hands it to QEMU; networkd moves it into
    the stack's namespace and onto the network's bridge (libvirtd and QEMU
    are shared by every stack on the machine, so they cannot run there)."""
    interface = ET.Element("interface", {"type": "ethernet"})
    _sub(interface, "mac", address=nic.mac_address)
    _sub(interface, "target", dev=nic.tap)
    _sub(interface, "model", type=nic.model)
    if nic.mtu:
        _sub(interface, "mtu", size=nic.mtu)
    return interface


def nic_xml(nic: Nic) -> str:
    return ET.tostring(nic_element(nic), encoding="unicode")


def metadata_element(labels: dict[str, str]) -> ET.Element:
    ET.register_namespace(METADATA_PREFIX, METADATA_NS)
    root = ET.Element(f"{{{METADATA_NS}}}instance")
    for key, value in labels.items():
        ET.SubElement(root, f"{{{METADATA_NS}}}{key}").text = str(value)
    return root


def parse_metadata(xml_text: str) -> dict[str, str]:
    """The labels of metadata_element, read back (from virDomainGetMetadata)."""
    root = ET.fromstring(xml_text)
    return {child.tag.split("}", 1)[-1]: child.text or "" for child in root}


def serial_socket_path(console_log: Path) -> Path | None:
    """Where the guest's serial port listens (console.sock beside the log),
    or None if that path is too long for a unix socket (108 bytes with
    its NUL: the serial port is then the log file alone, no remote console)."""
    path = console_log.with_name("console.sock")
    return path if len(str(path).encode()) < UNIX_PATH_MAX else None


def _serial_port(devices: ET.Element, console_log: Path) -> None:
    """The guest's first serial port (ttyS0): a unix socket QEMU listens on,
    which the serial console proxy connects to, with everything the guest
    writes also appended to console.log (os-getConsoleOutput reads it, and
    `pocketstack ssh` the host keys in it). append: a stop/start or a hard
    reboot starts a new QEMU, which would otherwise truncate the log of the
    previous boot."""
    socket = serial_socket_path(console_log)
    if socket is None:
        serial = _sub(devices, "serial", type="file")
        _sub(serial, "source", path=str(console_log), append="on")
    else:
        serial = _sub(devices, "serial", type="unix")
        _sub(serial, "source", mode="bind", path=str(socket))
        _sub(serial, "log", file=str(console_log), append="on")
    _sub(serial, "target", port="0")


def cpu_readback_element(how: str) -> ET.Element | None:
    """What makes libvirt read the started guest's CPU back in two
    requests instead of some 400.

    As a domain starts, libvirt 9.0 asks QEMU which CPU features the guest
    got, to check them against the CPU the XML asks for. Where QEMU has the
    "unavailable-features" property it does so with one qom-get per feature
    of the x86 CPU, about 400 monitor round trips; QEMU 7.2 reads its
    monitor a byte at a time, and they take 0.2-0.3 s of the start. Without
    that capability libvirt reads the same answer from two properties,
    feature-words and filtered-features (its x86 path for older QEMU): the
    live <cpu> it records is the same. The price: libvirt marks the domain
    tainted ("custom-hypervisor-feature") in its log, as it does any domain
    that overrides a QEMU capability.
    """
    if how == "per-feature":
        return None
    ET.register_namespace("qemu", QEMU_NS)
    capabilities = ET.Element(f"{{{QEMU_NS}}}capabilities")
    ET.SubElement(capabilities, f"{{{QEMU_NS}}}del", capability="cpu-unavailable-features")
    return capabilities


def domain_xml(guest: GuestSpec, virt_type: str, run_as_root: bool,
               cpu_readback: str = "feature-words") -> str:
    domain = ET.Element("domain", {"type": virt_type})
    _sub(domain, "name", guest.domain_name)
    _sub(domain, "uuid", guest.uuid)
    metadata = _sub(domain, "metadata")
    metadata.append(metadata_element(guest.labels))
    _sub(domain, "memory", str(guest.memory_mb), unit="MiB")
    _sub(domain, "vcpu", str(guest.vcpus))
    topology = guest.hardware.cpu_topology
    if topology:
        cpu = _sub(domain, "cpu")
        _sub(cpu, "topology", sockets=topology.sockets, cores=topology.cores,
             threads=topology.threads)
    sysinfo = _sub(domain, "sysinfo", type="smbios")
    system = _sub(sysinfo, "system")
    for name, value in (("manufacturer", SMBIOS_MANUFACTURER), ("product", SMBIOS_PRODUCT),
                        ("serial", guest.uuid), ("uuid", guest.uuid),
                        ("family", SMBIOS_FAMILY)):
        _sub(system, "entry", value, name=name)
    os_element = _sub(domain, "os")
    _sub(os_element, "type", "hvm", arch="x86_64", machine=guest.machine_type)
    if not any(volume.boot for volume in guest.volumes):
        # (libvirt refuses <os><boot> beside a device's <boot order>)
        _sub(os_element, "boot", dev="hd")
    _sub(os_element, "smbios", mode="sysinfo")
    features = _sub(domain, "features")
    _sub(features, "acpi")
    _sub(features, "apic")
    _sub(domain, "clock", offset=guest.hardware.clock_offset)
    _sub(domain, "on_poweroff", "destroy")
    _sub(domain, "on_reboot", "restart")
    _sub(domain, "on_crash", "destroy")
    devices = _sub(domain, "devices")
    for disk in guest.disks:
        devices.append(local_disk_element(disk))
    for volume in guest.volumes:
        devices.append(volume_disk_element(volume))
    if any(disk.bus == "scsi" for disk in guest.disks):
        _sub(devices, "controller", type="scsi", index="0", model="virtio-scsi")
    for nic in guest.nics:
        devices.append(nic_element(nic))
    _serial_port(devices, guest.console_log)
    if guest.hardware.guest_agent:
        # libvirt picks the socket's path itself (mode bind, no path), as for Nova.
        channel = _sub(devices, "channel", type="unix")
        _sub(channel, "source", mode="bind")
        _sub(channel, "target", type="virtio", name="org.qemu.guest_agent.0")
    if guest.hardware.rng:
        rng = _sub(devices, "rng", model="virtio")
        _sub(rng, "backend", "/dev/urandom", model="random")
    _sub(devices, "memballoon", model="virtio")
    if run_as_root:
        # A static DAC label: this domain's QEMU runs as root and libvirt
        # leaves the files' owners alone (see [libvirt] run_qemu_as_root).
        seclabel = _sub(domain, "seclabel", type="static", model="dac", relabel="no")
        _sub(seclabel, "label", "+0:+0")
    readback = cpu_readback_element(cpu_readback)
    if readback is not None:
        domain.append(readback)
    ET.indent(domain)
    return ET.tostring(domain, encoding="unicode")


def secret_xml(secret_uuid: str, usage: str, description: str, kind: str = "iscsi") -> str:
    """A private, persistent secret: libvirt keeps the value and never gives
    it back (private='yes'); it survives a libvirtd restart. kind iscsi: a
    CHAP password; ceph: a cephx key."""
    secret = ET.Element("secret", {"ephemeral": "no", "private": "yes"})
    _sub(secret, "uuid", secret_uuid)
    _sub(secret, "description", description)
    usage_element = _sub(secret, "usage", type=kind)
    _sub(usage_element, "target" if kind == "iscsi" else "name", usage)
    return ET.tostring(secret, encoding="unicode")


def secret_usage(node_uuid: str, attachment_id: str) -> str:
    """The usage name of a volume attachment's secret: unique, and it says
    which PocketStack node made it (reconcile removes only its own)."""
    return f"{SECRET_USAGE_PREFIX}/{node_uuid}/{attachment_id}"
