"""The ComputeDriver done with libvirt (qemu:///system).

One connection is shared by every thread (libvirt connections are
thread-safe) and opened again if libvirtd went away. Domains are defined
persistently, so that they survive a libvirtd restart and can be stopped and
started again; each carries PocketStack metadata naming this node, which is
how list_guests() tells our domains from anyone else's.
"""
from __future__ import annotations

import base64
import logging
import platform
import socket
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import libvirt

from computed.domain import states
from computed.virt import host_cpu, qemu_img
from computed.virt.driver import (
    ComputeDriver,
    ConsoleUnavailable,
    GuestNotFound,
    GuestState,
    HostInfo,
    HypervisorError,
)
from computed.virt.guest import (
    METADATA_NS,
    FileDisk,
    GuestSpec,
    LocalDisk,
    Nic,
    RbdDisk,
    VolumeSpec,
    domain_xml,
    media_disk_xml,
    nic_xml,
    parse_metadata,
    secret_xml,
    volume_disk_xml,
)

LOG = logging.getLogger(__name__)

POWER_STATES = {
    libvirt.VIR_DOMAIN_NOSTATE: states.NOSTATE,
    libvirt.VIR_DOMAIN_RUNNING: states.RUNNING,
    libvirt.VIR_DOMAIN_BLOCKED: states.RUNNING,
    libvirt.VIR_DOMAIN_PAUSED: states.PAUSED_POWER,
    # "being shut down" still runs, but Nova maps it to SHUTDOWN too
    libvirt.VIR_DOMAIN_SHUTDOWN: states.SHUTDOWN,
    libvirt.VIR_DOMAIN_SHUTOFF: states.SHUTDOWN,
    libvirt.VIR_DOMAIN_CRASHED: states.CRASHED,
    libvirt.VIR_DOMAIN_PMSUSPENDED: states.SUSPENDED_POWER,
}
POLL_INTERVAL = 0.1
ACPI_RETRY_INTERVAL = 10.0  # a guest that missed the button press gets it again
DETACH_RETRY_INTERVAL = 5.0
# Finds one device's element in a domain's XML (None: the device is not there).
DeviceFinder = Callable[[str], str | None]
UNDEFINE_FLAGS = libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | libvirt.VIR_DOMAIN_UNDEFINE_NVRAM


def _silence_libvirt_stderr() -> None:
    """libvirt prints every error on stderr as well as raising it: we log
    what matters ourselves."""
    libvirt.registerErrorHandler(lambda _ctx, _error: None, None)


def choose_virt_type(setting: str) -> str:
    """kvm where hardware virtualisation really works, qemu (TCG) otherwise
    (/dev/kvm present is not the same as usable: see shared/host/libvirt_host.py)."""
    if setting != "auto":
        return setting
    from shared.host.libvirt_host import kvm_usable
    return "kvm" if kvm_usable() else "qemu"


class LibvirtDriver(ComputeDriver):
    def __init__(self, uri: str, virt_type: str, node_uuid: str, run_as_root: bool,
                 cpu_readback: str = "feature-words"):
        self.uri = uri
        self._virt_type = choose_virt_type(virt_type)
        self.node_uuid = node_uuid
        self.run_as_root = run_as_root
        self.cpu_readback = cpu_readback
        self._conn: libvirt.virConnect | None = None
        self._conn_lock = threading.Lock()
        self._host_info: tuple[libvirt.virConnect, HostInfo] | None = None
        _silence_libvirt_stderr()

    # --- the connection -----------------------------------------------------------------
    def _connection(self) -> libvirt.virConnect:
        with self._conn_lock:
            if self._conn is not None:
                try:
                    # A round trip: isAlive() trusts a socket until something
                    # was read from it, so after a restart of libvirtd the
                    # first real call would fail with a broken pipe.
                    self._conn.getLibVersion()
                    return self._conn
                except libvirt.libvirtError:
                    pass
                LOG.warning("the libvirt connection was lost; connecting again")
            try:
                self._conn = libvirt.open(self.uri)
            except libvirt.libvirtError as exc:
                raise HypervisorError(f"cannot connect to libvirt at {self.uri}: "
                                      f"{exc.get_error_message()}") from None
            return self._conn

    def _domain(self, name: str) -> libvirt.virDomain:
        try:
            return self._connection().lookupByName(name)
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                raise GuestNotFound(f"domain {name} does not exist") from None
            raise _error(exc) from None

    def init_host(self) -> None:
        self._connection()

    @property
    def virt_type(self) -> str:
        return self._virt_type

    def instance_dir_mode(self) -> int:
        """Root only when QEMU runs as root; otherwise libvirt's own user
        (qemu:qemu) must get through to the disks."""
        return 0o700 if self.run_as_root else 0o755

    def host_info(self) -> HostInfo:
        """Read once per connection to libvirtd, as Nova's Host keeps the
        capabilities it read: every build's claim asks for the host's size,
        and parsing libvirt's capabilities took longer than the rest of the
        claim. A new connection (libvirtd restarted, maybe upgraded) reads
        it again."""
        conn = self._connection()
        known = self._host_info
        if known is not None and known[0] is conn:
            return known[1]
        try:
            model, memory_mb, cpus, *_rest = conn.getInfo()
            version = conn.getVersion()
            capabilities = conn.getCapabilities()
        except libvirt.libvirtError as exc:
            raise _error(exc) from None
        info = HostInfo(vcpus=cpus, memory_mb=_kernel_memory_mb() or memory_mb,
                        hypervisor_type="QEMU",
                        hypervisor_version=version, virt_type=self.virt_type,
                        cpu_model=model or platform.machine(), hostname=socket.gethostname(),
                        arch=host_arch(capabilities), cpu=host_cpu.cpu_info(capabilities))
        self._host_info = (conn, info)
        return info

    # --- lifecycle ------------------------------------------------------------------------
    def guest_xml(self, guest: GuestSpec) -> str:
        labels = {"node": self.node_uuid, **guest.labels}
        return domain_xml(GuestSpec(**{**guest.__dict__, "labels": labels}),
                          self.virt_type, self.run_as_root, self.cpu_readback)

    def spawn(self, guest: GuestSpec, paused: bool = False) -> None:
        conn = self._connection()
        try:
            domain = conn.defineXML(self.guest_xml(guest))
        except libvirt.libvirtError as exc:
            raise _error(exc) from None
        try:
            domain.createWithFlags(libvirt.VIR_DOMAIN_START_PAUSED if paused else 0)
        except libvirt.libvirtError as exc:
            error = _error(exc)
            self._undefine(domain)
            raise error from None

    def insert_medium(self, domain_name: str, drive: FileDisk) -> None:
        # What `virsh change-media --insert --live --config` does: on QEMU
        # with -blockdev, libvirt opens the tray, adds the file's node,
        # inserts it and closes the tray.
        self._call(domain_name, "updateDeviceFlags", media_disk_xml(drive),
                   libvirt.VIR_DOMAIN_AFFECT_LIVE | libvirt.VIR_DOMAIN_AFFECT_CONFIG)

    def define(self, guest: GuestSpec) -> None:
        try:
            self._connection().defineXML(self.guest_xml(guest))
        except libvirt.libvirtError as exc:
            raise _error(exc) from None

    def destroy(self, domain_name: str) -> None:
        try:
            domain = self._domain(domain_name)
        except GuestNotFound:
            return
        self._hard_stop(domain)
        self._undefine(domain)

    def _hard_stop(self, domain: libvirt.virDomain) -> None:
        for attempt in range(3):
            try:
                if not domain.isActive():
                    return
                domain.destroy()
                return
            except libvirt.libvirtError as exc:
                if exc.get_error_code() in (libvirt.VIR_ERR_NO_DOMAIN,
                                            libvirt.VIR_ERR_OPERATION_INVALID):
                    return
                if attempt == 2:
                    raise _error(exc) from None
                time.sleep(1)  # QEMU may be busy releasing its devices

    def _undefine(self, domain: libvirt.virDomain) -> None:
        try:
            domain.undefineFlags(UNDEFINE_FLAGS)
        except libvirt.libvirtError as exc:
            if exc.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
                raise _error(exc) from None

    def power_state(self, domain_name: str) -> int:
        try:
            state, _reason = self._domain(domain_name).state()
        except GuestNotFound:
            return states.NOSTATE
        except libvirt.libvirtError as exc:
            raise _error(exc) from None
        return POWER_STATES.get(state, states.NOSTATE)

    def list_guests(self) -> list[GuestState]:
        guests = []
        for domain in self._connection().listAllDomains(0):
            try:
                labels = parse_metadata(domain.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT,
                                                        METADATA_NS))
                state, _reason = domain.state()
            except (libvirt.libvirtError, ET.ParseError):
                continue  # not ours (no PocketStack metadata), or gone meanwhile
            if labels.get("node") != self.node_uuid:
                continue
            guests.append(GuestState(domain.name(), domain.UUIDString(),
                                     POWER_STATES.get(state, states.NOSTATE), labels))
        return guests

    def power_off(self, domain_name: str, timeout: float) -> None:
        domain = self._domain(domain_name)
        if not self._ask_to_shut_down(domain, timeout):
            LOG.info("%s did not power itself off within %.0f s: powering it off",
                     domain_name, timeout)
            self._hard_stop(domain)

    def _ask_to_shut_down(self, domain: libvirt.virDomain, timeout: float) -> bool:
        """ACPI power button, pressed again every 10 s; True once the guest
        is off. A paused guest cannot react: False at once."""
        try:
            if not domain.isActive():
                return True
            if domain.state()[0] == libvirt.VIR_DOMAIN_PAUSED:
                return False
        except libvirt.libvirtError as exc:
            raise _error(exc) from None
        deadline = time.monotonic() + timeout
        next_press = 0.0
        while time.monotonic() < deadline:
            try:
                if not domain.isActive():
                    return True
                if time.monotonic() >= next_press:
                    domain.shutdown()
                    next_press = time.monotonic() + ACPI_RETRY_INTERVAL
            except libvirt.libvirtError as exc:
                if exc.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID:
                    return True  # it went off between the two calls
                raise _error(exc) from None
            time.sleep(POLL_INTERVAL)
        return not domain.isActive()

    def power_on(self, domain_name: str) -> None:
        domain = self._domain(domain_name)
        try:
            if not domain.isActive():
                domain.create()
        except libvirt.libvirtError as exc:
            raise _error(exc) from None

    def reboot(self, domain_name: str, hard: bool, timeout: float) -> None:
        domain = self._domain(domain_name)
        if hard or not self._ask_to_shut_down(domain, timeout):
            self._hard_stop(domain)
        try:
            if hard and domain.hasManagedSaveImage(0):
                domain.managedSaveRemove(0)  # a hard reboot boots afresh, never resumes
            domain.create()
        except libvirt.libvirtError as exc:
            raise _error(exc) from None

    def pause(self, domain_name: str) -> None:
        self._call(domain_name, "suspend")

    def unpause(self, domain_name: str) -> None:
        self._call(domain_name, "resume")

    def suspend(self, domain_name: str) -> None:
        self._call(domain_name, "managedSave", 0)

    def resume(self, domain_name: str) -> None:
        self._call(domain_name, "create")

    def _call(self, domain_name: str, method: str, *args) -> None:
        domain = self._domain(domain_name)
        try:
            getattr(domain, method)(*args)
        except libvirt.libvirtError as exc:
            raise _error(exc) from None

    # --- volumes --------------------------------------------------------------------------
    def define_volume_secret(self, secret_uuid: str, usage: str, description: str,
                             password: str, kind: str = "iscsi") -> None:
        conn = self._connection()
        # A cephx key is base64 text; libvirt keeps its bytes (what
        # `virsh secret-set-value --base64 KEY` does).
        value = base64.b64decode(password) if kind == "ceph" else password.encode()
        try:
            secret = conn.secretDefineXML(secret_xml(secret_uuid, usage, description, kind))
            secret.setValue(value)
        except libvirt.libvirtError as exc:
            self.delete_volume_secret(secret_uuid)
            raise _error(exc) from None

    def delete_volume_secret(self, secret_uuid: str) -> None:
        try:
            self._connection().secretLookupByUUIDString(secret_uuid).undefine()
        except libvirt.libvirtError as exc:
            if exc.get_error_code() != libvirt.VIR_ERR_NO_SECRET:
                raise _error(exc) from None

    def list_volume_secrets(self, usage_prefix: str) -> dict[str, str]:
        found = {}
        for secret in self._connection().listAllSecrets(0):
            try:
                if secret.usageType() in (libvirt.VIR_SECRET_USAGE_TYPE_ISCSI,
                                          libvirt.VIR_SECRET_USAGE_TYPE_CEPH) and \
                        secret.usageID().startswith(usage_prefix):
                    found[secret.UUIDString()] = secret.usageID()
            except libvirt.libvirtError:
                continue
        return found

    def attach_volume(self, domain_name: str, volume: VolumeSpec, live: bool) -> None:
        domain = self._domain(domain_name)
        flags = libvirt.VIR_DOMAIN_AFFECT_CONFIG
        if live:
            flags |= libvirt.VIR_DOMAIN_AFFECT_LIVE
        try:
            domain.attachDeviceFlags(volume_disk_xml(volume), flags)
        except libvirt.libvirtError as exc:
            raise _error(exc) from None

    def has_volume(self, domain_name: str, device: str) -> bool:
        try:
            domain = self._domain(domain_name)
        except GuestNotFound:
            return False
        try:
            flags = 0 if domain.isActive() else libvirt.VIR_DOMAIN_XML_INACTIVE
            return _disk_xml(domain.XMLDesc(flags), device) is not None
        except libvirt.libvirtError as exc:
            raise _error(exc) from None

    def detach_volume(self, domain_name: str, device: str, live: bool,
                      timeout: float) -> None:
        self._detach(domain_name, lambda xml: _disk_xml(xml, device), device, live, timeout)

    def extend_volume(self, domain_name: str, device: str, new_size_bytes: int) -> None:
        domain = self._domain(domain_name)
        try:
            if domain.isActive():
                domain.blockResize(device, new_size_bytes,
                                   libvirt.VIR_DOMAIN_BLOCK_RESIZE_BYTES)
        except libvirt.libvirtError as exc:
            raise _error(exc) from None

    def _detach(self, domain_name: str, find: DeviceFinder, what: str, live: bool,
                timeout: float) -> None:
        """Detach the device `find(domain XML)` returns (None: not there),
        from the running guest first, then from the definition."""
        domain = self._domain(domain_name)
        try:
            if live and domain.isActive():
                self._detach_live(domain, find, what, timeout)
            device = find(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
            if device is not None:
                domain.detachDeviceFlags(device, libvirt.VIR_DOMAIN_AFFECT_CONFIG)
        except libvirt.libvirtError as exc:
            raise _error(exc) from None

    def _detach_live(self, domain: libvirt.virDomain, find: DeviceFinder, what: str,
                     timeout: float) -> None:
        """Ask the guest to release the device (PCI hot-unplug) and wait until
        QEMU has really removed it; ask again every few seconds, as Nova."""
        deadline = time.monotonic() + timeout
        next_request = 0.0
        while True:
            device = find(domain.XMLDesc(0))
            if device is None:
                return
            if time.monotonic() >= deadline:
                raise HypervisorError(f"the guest did not release {what} within "
                                      f"{timeout:.0f} s")
            if time.monotonic() >= next_request:
                try:
                    domain.detachDeviceFlags(device, libvirt.VIR_DOMAIN_AFFECT_LIVE)
                except libvirt.libvirtError as exc:
                    if exc.get_error_code() != libvirt.VIR_ERR_OPERATION_FAILED:
                        raise
                next_request = time.monotonic() + DETACH_RETRY_INTERVAL
            time.sleep(POLL_INTERVAL)

    # --- network interfaces --------------------------------------------------------------
    def attach_interface(self, domain_name: str, nic: Nic, live: bool) -> None:
        domain = self._domain(domain_name)
        flags = libvirt.VIR_DOMAIN_AFFECT_CONFIG
        if live:
            flags |= libvirt.VIR_DOMAIN_AFFECT_LIVE
        try:
            model = ET.fromstring(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)).find(
                "./devices/interface/model")
            if model is not None and model.get("type"):
                nic = Nic(nic.port_id, nic.mac_address, nic.mtu, model.get("type") or "")
            domain.attachDeviceFlags(nic_xml(nic), flags)
        except libvirt.libvirtError as exc:
            raise _error(exc) from None

    def detach_interface(self, domain_name: str, mac_address: str, live: bool,
                         timeout: float) -> None:
        self._detach(domain_name, lambda xml: _interface_xml(xml, mac_address),
                     f"the NIC {mac_address}", live, timeout)

    # --- the serial console ---------------------------------------------------------------
    def serial_console_socket(self, domain_name: str) -> Path:
        try:
            xml = self._domain(domain_name).XMLDesc(0)
        except libvirt.libvirtError as exc:
            raise _error(exc) from None
        for serial in ET.fromstring(xml).iterfind("./devices/serial"):
            source = serial.find("source")
            if serial.get("type") == "unix" and source is not None and \
                    source.get("mode") == "bind" and source.get("path"):
                return Path(source.get("path") or "")
        raise ConsoleUnavailable(f"{domain_name} has no serial port on a unix socket")

    # --- snapshots ------------------------------------------------------------------------
    def snapshot_root_disk(self, domain_name: str, disk: LocalDisk, target: Path) -> None:
        """A running (or paused) guest: libvirt's push backup copies vda as it
        was at one instant, while the guest keeps running, into a standalone
        qcow2. A guest that is off: qemu-img convert of its overlay (or of its
        RBD image, read with librbd)."""
        domain = self._domain(domain_name)
        try:
            active = domain.isActive()
        except libvirt.libvirtError as exc:
            raise _error(exc) from None
        if not active:
            if isinstance(disk, RbdDisk):
                qemu_img.convert(disk.qemu_source, "raw", target, "qcow2")
            else:
                qemu_img.convert(disk.path, disk.format, target, "qcow2")
            return
        root = ET.fromstring(domain.XMLDesc(0))
        entries = []
        for target_element in root.iterfind("./devices/disk/target"):
            name = target_element.get("dev")
            if name == "vda":
                entries.append(f"<disk name='vda' backup='yes' type='file'>"
                               f"<target file='{_attr(str(target))}'/>"
                               f"<driver type='qcow2'/></disk>")
            else:
                entries.append(f"<disk name='{_attr(name or '')}' backup='no'/>")
        backup = f"<domainbackup mode='push'><disks>{''.join(entries)}</disks></domainbackup>"
        try:
            domain.backupBegin(backup, None, 0)
            while domain.jobInfo()[0] != libvirt.VIR_DOMAIN_JOB_NONE:
                time.sleep(POLL_INTERVAL)
            result = domain.jobStats(libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED)
        except libvirt.libvirtError as exc:
            raise _error(exc) from None
        if result.get("type") != libvirt.VIR_DOMAIN_JOB_COMPLETED:
            raise HypervisorError(f"the backup of {domain_name}'s root disk failed: "
                                  f"{result.get('errmsg', 'no reason given')}")


def _kernel_memory_mb() -> int | None:
    """The host's RAM as the kernel counts it (MemTotal). libvirt adds up
    the NUMA nodes' memory, which on some virtual machines (ours) misses
    memory that is not in any node: QEMU's allocations are judged by the
    kernel's total, so claims must be too."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _attr(value: str) -> str:
    return value.replace("&", "&amp;").replace("'", "&apos;").replace("<", "&lt;")


def _disk_xml(domain_xml_text: str, device: str) -> str | None:
    """The <disk> element of `device` in a domain's XML, or None."""
    root = ET.fromstring(domain_xml_text)
    for disk in root.iterfind("./devices/disk"):
        target = disk.find("target")
        if target is not None and target.get("dev") == device:
            return ET.tostring(disk, encoding="unicode")
    return None


def _interface_xml(domain_xml_text: str, mac_address: str) -> str | None:
    """The <interface> element with this MAC in a domain's XML, or None."""
    root = ET.fromstring(domain_xml_text)
    for interface in root.iterfind("./devices/interface"):
        mac = interface.find("mac")
        if mac is not None and (mac.get("address") or "").lower() == mac_address.lower():
            return ET.tostring(interface, encoding="unicode")
    return None


def _error(exc: libvirt.libvirtError) -> HypervisorError:
    return HypervisorError(exc.get_error_message() or str(exc))


def host_arch(capabilities_xml: str) -> str:
    """The host's architecture as libvirt reports it (<host><cpu><arch>), or
    the one Python was built for if libvirt does not say."""
    try:
        arch = ET.fromstring(capabilities_xml).findtext("./host/cpu/arch")
    except ET.ParseError:
        arch = None
    return arch or platform.machine()

