"""The image's hw_* and os_* properties, read as Nova's libvirt driver reads
them, and turned into the hardware of the guest.

Glance keeps these properties as plain strings next to the image's own
fields (imaged's metadata definitions list them and their allowed values).
`guest_hardware` reads them once and returns a `GuestHardware`: what the
domain XML builder (virt/guest.py) needs, nothing about the image itself.
A value Nova would refuse is refused here with an `InvalidImageProperty`
that names the property and the value: the API turns it into a 400, a
launch into a build failure.

    hw_disk_bus          bus of the image-backed disks (root, ephemeral, swap):
                         virtio (vdX), scsi (sdX, on a virtio-scsi controller),
                         sata (sdX), ide (hdX, not on q35), usb (sdX)
    hw_scsi_model        the SCSI controller: only virtio-scsi here
    hw_cdrom_bus         bus of the config drive's cdrom: ide, sata, scsi, usb
    hw_rng_model         virtio: a virtio RNG fed by the host's /dev/urandom
    hw_qemu_guest_agent  yes: the org.qemu.guest_agent.0 virtio-serial channel
    hw_vif_model         the NICs' model: virtio, e1000, e1000e, rtl8139,
                         ne2k_pci, pcnet
    hw_cpu_sockets, hw_cpu_cores, hw_cpu_threads (and their hw_cpu_max_*)
                         the guest's CPU topology; it must multiply to the
                         flavor's vCPUs
    os_type              windows: the guest clock runs on local time

Volumes keep the virtio bus whatever hw_disk_bus says (in Nova they follow
it unless their mapping names a bus): their names are given by the API.
"""
from __future__ import annotations

from dataclasses import dataclass

from shared.strutils import FALSE_WORDS, TRUE_WORDS, NotABoolean, bool_from_string

DISK_BUSES = ("virtio", "scsi", "sata", "ide", "usb")
CDROM_BUSES = ("ide", "sata", "scsi", "usb")
SCSI_MODELS = ("virtio-scsi",)
RNG_MODELS = ("virtio",)
VIF_MODELS = ("virtio", "e1000", "e1000e", "rtl8139", "ne2k_pci", "pcnet")
OS_TYPES = ("linux", "windows")
TOPOLOGY_PARTS = ("sockets", "cores", "threads")


class InvalidImageProperty(ValueError):
    """The image asks for hardware computed cannot (or Nova would not) give."""


@dataclass(frozen=True)
class CpuTopology:
    sockets: int
    cores: int
    threads: int


@dataclass(frozen=True)
class GuestHardware:
    """What the image's properties change in the domain; the defaults are
    what a server of an image without properties gets."""
    disk_bus: str = "virtio"
    cdrom_bus: str = "ide"
    rng: bool = False
    guest_agent: bool = False
    cpu_topology: CpuTopology | None = None   # None: libvirt's default (1 core per socket)
    clock_offset: str = "utc"
    vif_model: str = "virtio"


def guest_hardware(image: dict, vcpus: int, machine_type: str = "pc") -> GuestHardware:
    """Read and check the image's properties (a Glance image record)."""
    disk_bus = _choice(image, "hw_disk_bus", DISK_BUSES, "virtio")
    cdrom_bus = _choice(image, "hw_cdrom_bus", CDROM_BUSES, "ide")
    for name, bus in (("hw_disk_bus", disk_bus), ("hw_cdrom_bus", cdrom_bus)):
        if bus == "ide" and "q35" in machine_type:
            raise InvalidImageProperty(f"Invalid image property {name}=ide: the machine "
                                       f"type {machine_type} has no IDE bus.")
    if disk_bus == "scsi" or cdrom_bus == "scsi":
        _choice(image, "hw_scsi_model", SCSI_MODELS, "virtio-scsi")
    vif_model = _choice(image, "hw_vif_model", VIF_MODELS, "virtio")
    os_type = _choice(image, "os_type", OS_TYPES, None)
    return GuestHardware(
        disk_bus=disk_bus, cdrom_bus=cdrom_bus,
        rng=_choice(image, "hw_rng_model", RNG_MODELS, None) == "virtio",
        guest_agent=_boolean(image, "hw_qemu_guest_agent"),
        cpu_topology=cpu_topology(image, vcpus),
        clock_offset="localtime" if os_type == "windows" else "utc", vif_model=vif_model)


def cpu_topology(image: dict, vcpus: int) -> CpuTopology | None:
    """sockets x cores x threads == the flavor's vCPUs. A part the image does
    not give is worked out from the others (threads 1, then as many sockets
    as the maxima allow, the rest in cores), as Nova prefers sockets."""
    wanted = {part: _count(image, f"hw_cpu_{part}") for part in TOPOLOGY_PARTS}
    maxima = {part: _count(image, f"hw_cpu_max_{part}") for part in TOPOLOGY_PARTS}
    if not any(wanted.values()) and not any(maxima.values()):
        return None
    for part in TOPOLOGY_PARTS:
        given_part, maximum = wanted[part], maxima[part]
        if given_part and maximum and given_part > maximum:
            raise InvalidImageProperty(
                f"Invalid image property hw_cpu_{part}={given_part}: it is more than "
                f"hw_cpu_max_{part}={maximum}.")
    threads = wanted["threads"] or 1
    sockets, cores = wanted["sockets"] or 0, wanted["cores"] or 0
    if sockets and not cores:
        cores = vcpus // (sockets * threads) or 1
    elif cores and not sockets:
        sockets = vcpus // (cores * threads) or 1
    elif not sockets and not cores:
        sockets = _largest_divisor(vcpus // threads or 1, maxima["sockets"])
        cores = (vcpus // threads or 1) // sockets
    topology = CpuTopology(sockets, cores, threads)
    given = ", ".join(f"hw_cpu_{part}={value}" for part, value in wanted.items() if value)
    if sockets * cores * threads != vcpus:
        raise InvalidImageProperty(
            f"Invalid CPU topology {sockets} sockets x {cores} cores x {threads} threads "
            f"(from {given or 'the hw_cpu_max_* limits'}): it must make the flavor's "
            f"{vcpus} vCPUs.")
    for part in TOPOLOGY_PARTS:
        if maxima[part] and getattr(topology, part) > maxima[part]:
            raise InvalidImageProperty(
                f"Invalid CPU topology: {getattr(topology, part)} {part} are needed for "
                f"the flavor's {vcpus} vCPUs, more than hw_cpu_max_{part}={maxima[part]}.")
    return topology


# --- reading one property ----------------------------------------------------------------
def _value(image: dict, name: str) -> str | None:
    value = image.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return str(value).strip()


def _choice(image: dict, name: str, allowed: tuple[str, ...], default):
    value = _value(image, name)
    if value is None:
        return default
    if value.lower() not in allowed:
        raise InvalidImageProperty(f"Invalid image property {name}={value}: it must be one "
                                   f"of {', '.join(allowed)}.")
    return value.lower()


def _boolean(image: dict, name: str) -> bool:
    value = _value(image, name)
    if value is None:
        return False
    try:
        return bool_from_string(value)
    except NotABoolean:
        raise InvalidImageProperty(f"Invalid image property {name}={value}: it must be "
                                   f"yes or no ({', '.join(TRUE_WORDS + FALSE_WORDS)})."
                                   ) from None


def _count(image: dict, name: str) -> int | None:
    value = _value(image, name)
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise InvalidImageProperty(f"Invalid image property {name}={value}: it must be a "
                                   f"whole number of at least 1.")
    return number


def _largest_divisor(number: int, limit: int | None) -> int:
    limit = min(number, limit or number)
    return next(d for d in range(limit, 0, -1) if number % d == 0)
