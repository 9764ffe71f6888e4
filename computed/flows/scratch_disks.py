"""vdb and the swap disk: what every flow that makes a server's disks
(launch, rebuild, resize, unshelve) makes the same way.

Both are qcow2 overlays on a template the image cache formats once per size
(`_base/ephemeral_<N>_<fs>`, `_base/swap_<N>`), as Nova's libvirt driver
does, so a new server's vdb costs a few kilobytes, not a mkfs."""
from __future__ import annotations

from pathlib import Path

from computed.flows import Deps
from computed.virt import qemu_img
from shared.units import GiB, MiB


def make_ephemeral(deps: Deps, directory: Path, ephemeral_gb: int) -> Path:
    """disk.local: `ephemeral_gb` GiB on the formatted template."""
    template = deps.cache.ephemeral_template(ephemeral_gb, deps.settings.ephemeral_format)
    path = directory / "disk.local"
    qemu_img.create_overlay(path, template, "raw", ephemeral_gb * GiB)
    return path


def make_swap(deps: Deps, directory: Path, swap_mb: int) -> Path:
    """disk.swap: `swap_mb` MiB on the template made with mkswap."""
    template = deps.cache.swap_template(swap_mb)
    path = directory / "disk.swap"
    qemu_img.create_overlay(path, template, "raw", swap_mb * MiB)
    return path
