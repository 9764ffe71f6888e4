"""vda, vdb and the swap disk: what every flow that makes a server's own
disks (launch, rebuild, unshelve) makes the same way, wherever they live
(computed/virt/imagebackend.py: files of the instance directory or RBD
images in Ceph).

    vda    from the image: on its cached base in _base, or a copy-on-write
           clone of its RBD snapshot (rbd, when imaged keeps it in the same
           cluster: then it is never fetched); grown to the flavor's root
           disk. Not made for a volume-backed server (its vda is a volume).
    vdb    the flavor's ephemeral disk, on a template the image cache
           formats once per size (_base/ephemeral_<N>_<fs>), as Nova's
           libvirt driver does: a new server's vdb costs a few kilobytes, not
           a mkfs
    swap   on a template made with mkswap (_base/swap_<N>)

and where the config drive (disk.config) goes: a read-only cdrom after them.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import partial

from computed.db.models import Instance
from computed.domain.devices import config_drive_device, local_disks
from computed.domain.image_properties import GuestHardware
from computed.flows import Deps
from computed.imagecache import CachedImage
from computed.virt.guest import FileDisk, LocalDisk
from computed.virt.imagebackend import EPHEMERAL, SWAP
from shared.together import at_once
from shared.units import GiB, MiB


def make(deps: Deps, instance: Instance, bus: str, base: CachedImage | None = None,
         location: str | None = None, standalone: bool = False) -> list[LocalDisk]:
    """The server's own disks, made; their libvirt specs in device order.
    vda from `base` or `location` (neither: a volume-backed server, no vda
    of its own); `standalone`: vda a full copy of the base (a shelved
    server's image), not an overlay. The caller removes them on failure
    (deps.disks.remove)."""
    uuid = instance.uuid
    has_root = base is not None or location is not None
    making: list[Callable[[], None]] = []
    if has_root:
        size = instance.root_gb * GiB if instance.root_gb else None
        making.append(partial(deps.disks.create_root, uuid, size, base=base,
                              location=location, standalone=standalone))
    if instance.ephemeral_gb:
        template = deps.cache.ephemeral_template(instance.ephemeral_gb,
                                                 deps.settings.ephemeral_format)
        making.append(partial(deps.disks.create_scratch, uuid, EPHEMERAL, template,
                              instance.ephemeral_gb * GiB))
    if instance.swap:
        making.append(partial(deps.disks.create_scratch, uuid, SWAP,
                              deps.cache.swap_template(instance.swap), instance.swap * MiB))
    at_once(*making)  # independent files (or RBD images): each its own qemu-img, at once
    return existing(deps, instance, bus, has_root)


def existing(deps: Deps, instance: Instance, bus: str, has_root: bool = True
             ) -> list[LocalDisk]:
    """The server's own disks as they are, in device order (vda first)."""
    names = local_disks(instance.ephemeral_gb, instance.swap, bus)
    return deps.disks.disks(instance.uuid, names, bus, root=has_root)


def config_drive_disk(deps: Deps, instance: Instance, hw: GuestHardware) -> FileDisk:
    """disk.config as the guest sees it: a read-only cdrom on the image's
    cdrom bus, named after the local disks (hdd on IDE)."""
    device = config_drive_device(hw.cdrom_bus, local_disks(
        instance.ephemeral_gb, instance.swap, hw.disk_bus))
    return FileDisk(deps.instance_dir(instance.uuid) / "disk.config", device, "raw",
                    bus=hw.cdrom_bus, device_type="cdrom", readonly=True)


def wanted_config_drive(deps: Deps, instance: Instance, hw: GuestHardware
                        ) -> FileDisk | None:
    """The server's config drive, if it has one (asked for, or every server
    has one: [compute] force_config_drive, read at each spawn as Nova reads it)."""
    if not (instance.config_drive or deps.settings.force_config_drive):
        return None
    return config_drive_disk(deps, instance, hw)


def describe(disks: list[LocalDisk]) -> dict[str, str]:
    """device -> where it lies (a file's name, or rbd:<pool>/<image>), for
    events."""
    return {disk.device: disk.path.name if isinstance(disk, FileDisk) else f"rbd:{disk.name}"
            for disk in disks}
