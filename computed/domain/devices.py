"""Which disks a server gets, and the name each one has in the guest.

A POST /servers body says what to boot and which volumes to attach in
block_device_mapping_v2. The real client always sends an image/local entry
for the image it boots (boot_index 0) next to imageRef: that is not a boot
from volume. Volumes are source_type=volume, destination_type=volume.

Device names follow Nova's libvirt driver, on the virtio bus unless the
image's hw_disk_bus says otherwise (then sda... or hda..., for the local
disks only: volumes stay vdX):

    vda  root disk (the image's overlay)
    vdb  ephemeral disk, if the flavor has one
    vdX  swap, if the flavor has some (the next letter)
    vdX  volumes, each the next free letter, at boot and when attached later

The config drive is an IDE cdrom, so it takes no virtio letter: with
m1.nano (no swap) the first volume is vdc.
"""
from __future__ import annotations

import string
import uuid as uuidlib
from dataclasses import dataclass, field

from shared.strutils import NotABoolean, bool_from_string

VIRTIO_PREFIX = "vd"
MAX_DISKS = 26
CONFIG_DRIVE_DEVICE = "hdd"  # the last IDE slot, as Nova puts it
# The image's hw_disk_bus / hw_cdrom_bus change the names, as in Nova.
BUS_PREFIXES = {"virtio": "vd", "scsi": "sd", "sata": "sd", "usb": "sd", "ide": "hd"}


class InvalidBlockDeviceMapping(ValueError):
    """400: the message says what is wrong with the mapping."""


@dataclass(frozen=True)
class VolumeRequest:
    volume_id: str
    boot_index: int | None = None
    delete_on_termination: bool = False


@dataclass(frozen=True)
class BootRequest:
    image_id: str | None
    volumes: list[VolumeRequest] = field(default_factory=list)


def _is_uuid(value) -> bool:
    try:
        uuidlib.UUID(str(value))
        return True
    except ValueError:
        return False


def _boot_index(value) -> int | None:
    if value is None or value == "" or value == "None":
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidBlockDeviceMapping(f"Block Device Mapping is Invalid: boot_index "
                                        f"{value!r} is not an integer.") from None
    return None if number < 0 else number


def _delete_on_termination(value) -> bool:
    """Absent (None) is false; anything else must be a boolean word."""
    if value is None:
        return False
    try:
        return bool_from_string(value)
    except NotABoolean as exc:
        raise InvalidBlockDeviceMapping(f"Block Device Mapping is Invalid: "
                                        f"delete_on_termination: {exc}") from None


def parse_boot_request(image_ref: str | None, bdm_v2, legacy_bdm=None) -> BootRequest:
    """imageRef plus the mappings -> what to boot and which volumes to attach."""
    if bdm_v2 is not None and legacy_bdm is not None:
        raise InvalidBlockDeviceMapping("Using different block_device_mapping syntaxes "
                                        "is not allowed in the same request.")
    entries = []
    for raw in legacy_bdm or []:
        if not isinstance(raw, dict) or not raw.get("volume_id"):
            raise InvalidBlockDeviceMapping("Block Device Mapping is Invalid: each "
                                            "block_device_mapping entry needs a volume_id.")
        entries.append({"source_type": "volume", "destination_type": "volume",
                        "uuid": raw["volume_id"], "boot_index": raw.get("boot_index"),
                        "delete_on_termination": raw.get("delete_on_termination")})
    if bdm_v2 is not None and not isinstance(bdm_v2, list):
        raise InvalidBlockDeviceMapping("Block Device Mapping is Invalid: "
                                        "block_device_mapping_v2 must be a list.")
    entries += list(bdm_v2 or [])

    image_id = image_ref or None
    volumes: list[VolumeRequest] = []
    seen = set()
    for entry in entries:
        if not isinstance(entry, dict):
            raise InvalidBlockDeviceMapping("Block Device Mapping is Invalid: each entry "
                                            "must be an object.")
        source = entry.get("source_type")
        destination = entry.get("destination_type") or (
            "volume" if source == "volume" else "local")
        boot_index = _boot_index(entry.get("boot_index"))
        item = entry.get("uuid")
        if source == "image" and destination == "local":
            if boot_index != 0:
                raise InvalidBlockDeviceMapping("Block Device Mapping is Invalid: an "
                                                "image mapping must have boot_index 0.")
            if image_id and item and str(item) != image_id:
                raise InvalidBlockDeviceMapping("Block Device Mapping is Invalid: the "
                                                "image mapping names another image than "
                                                "imageRef.")
            image_id = str(item) if item else image_id
        elif source == "volume" and destination == "volume":
            if not item or not _is_uuid(item):
                raise InvalidBlockDeviceMapping(f"Block Device Mapping is Invalid: "
                                                f"volume uuid {item!r} is not a UUID.")
            if boot_index == 0:
                raise InvalidBlockDeviceMapping("Booting from a volume is not supported by "
                                                "PocketStack: boot from an image and "
                                                "attach the volume (boot_index -1 or none).")
            if str(item) in seen:
                raise InvalidBlockDeviceMapping(f"Block Device Mapping is Invalid: volume "
                                                f"{item} is mapped twice.")
            seen.add(str(item))
            volumes.append(VolumeRequest(str(item), boot_index,
                                         _delete_on_termination(entry.get("delete_on_termination"))))
        else:
            raise InvalidBlockDeviceMapping(
                f"Block Device Mapping is Invalid: source_type {source!r} with "
                f"destination_type {destination!r} is not supported by PocketStack (only "
                f"image->local for the root disk and volume->volume).")
    if not image_id:
        raise InvalidBlockDeviceMapping("Block Device Mapping is Invalid: an imageRef (or "
                                        "an image mapping with boot_index 0) is required.")
    if len(volumes) > MAX_DISKS - 3:
        raise InvalidBlockDeviceMapping("Block Device Mapping is Invalid: too many volumes.")
    return BootRequest(image_id=image_id, volumes=volumes)


def virtio_name(index: int) -> str:
    return VIRTIO_PREFIX + string.ascii_lowercase[index]


@dataclass(frozen=True)
class LocalDisks:
    """The device names of the disks that live in the instance directory."""
    root: str = "vda"
    ephemeral: str | None = None
    swap: str | None = None

    def names(self) -> list[str]:
        return [name for name in (self.root, self.ephemeral, self.swap) if name]


def local_disks(ephemeral_gb: int, swap_mb: int, bus: str = "virtio") -> LocalDisks:
    prefix = BUS_PREFIXES[bus]
    names = iter(prefix + string.ascii_lowercase[i] for i in range(1, MAX_DISKS))
    ephemeral = next(names) if ephemeral_gb > 0 else None
    swap = next(names) if swap_mb > 0 else None
    return LocalDisks(root=prefix + "a", ephemeral=ephemeral, swap=swap)


def config_drive_device(bus: str, disks: LocalDisks) -> str:
    """hdd on IDE (Nova's last IDE slot); on the other buses the first name
    the local disks left free (they may share the bus: scsi disks and cdrom)."""
    if bus == "ide":
        return CONFIG_DRIVE_DEVICE
    used = set(disks.names())
    prefix = BUS_PREFIXES[bus]
    return next(prefix + letter for letter in string.ascii_lowercase
                if prefix + letter not in used)


def next_free_device(used: set[str]) -> str:
    """The first virtio name not in `used` (local disks and volumes)."""
    for index in range(MAX_DISKS):
        name = virtio_name(index)
        if name not in used:
            return name
    raise InvalidBlockDeviceMapping("No free device name is left on this server.")
