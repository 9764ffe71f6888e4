"""Which disks a server gets, and the name each one has in the guest.

What a POST /servers body asks to boot from and attach is read by
block_devices.py.

Device names follow Nova's libvirt driver, on the virtio bus unless the
image's hw_disk_bus says otherwise (then sda... or hda..., for the local
disks only: volumes stay vdX):

    vda  root disk (the image's overlay, or the boot volume)
    vdb  ephemeral disk, if the flavor has one
    vdX  swap, if the flavor has some (the next letter)
    vdX  volumes, each the next free letter, at boot and when attached later

The config drive is an IDE cdrom, so it takes no virtio letter: with
m1.nano (no swap) the first volume is vdc.
"""
from __future__ import annotations

import string
from dataclasses import dataclass

VIRTIO_PREFIX = "vd"
MAX_DISKS = 26
CONFIG_DRIVE_DEVICE = "hdd"  # the last IDE slot, as Nova puts it
# The image's hw_disk_bus / hw_cdrom_bus change the names, as in Nova.
BUS_PREFIXES = {"virtio": "vd", "scsi": "sd", "sata": "sd", "usb": "sd", "ide": "hd"}


class InvalidBlockDeviceMapping(ValueError):
    """400: the message says what is wrong with the mapping."""


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
