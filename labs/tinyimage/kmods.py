"""Pick kernel modules out of a Debian kernel package, in load order.

Debian builds most drivers as modules.  The initramfs has no modprobe and no
modules.dep (depmod runs at install time, and we never install the kernel),
so we work out the load order here from each module's own "depends=" field,
read with `modinfo`, and write it to a plain list that /init feeds to insmod.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

# Modules the first marker and a clean ACPI shutdown need, loaded first.
EARLY = [
    # virtio disks (PCI transport, both modern and legacy devices)
    "virtio_ring", "virtio", "virtio_pci_modern_dev", "virtio_pci_legacy_dev",
    "virtio_pci", "virtio_blk",
    # ACPI power button: loading it enables the button's ACPI event
    "button",
]

# The NIC: packet sockets (udhcpc's raw socket) and virtio_net (with the
# failover modules it depends on), loaded after the virtio PCI transport.
NET = ["af_packet", "failover", "net_failover", "virtio_net"]

# Modules to read a config drive on a non-virtio bus: IDE cdrom (sr_mod),
# IDE/SCSI disk (sd_mod), virtio-scsi, and the ISO9660 filesystem.  (No
# "ahci": Debian's cloud kernel does not build the SATA driver.)
LATE = [
    "scsi_mod", "libata", "ata_piix", "ata_generic",
    "virtio_scsi", "cdrom", "sr_mod", "sd_mod", "isofs",
]


def _canonical(name: str) -> str:
    """Module names treat '-' and '_' alike (t10-pi.ko is module t10_pi)."""
    return name.replace("-", "_")


def module_index(modules_root: Path) -> dict[str, Path]:
    """Map each module's canonical name to its .ko file under modules_root."""
    return {_canonical(ko.stem): ko for ko in modules_root.rglob("*.ko")}


def builtin_modules(modules_root: Path) -> set[str]:
    """Names of drivers compiled into the kernel (nothing to load for them)."""
    builtin = modules_root / "modules.builtin"
    if not builtin.exists():
        return set()
    return {_canonical(Path(line).stem) for line in builtin.read_text().split()}


def direct_dependencies(ko: Path) -> list[str]:
    """The modules `ko` needs loaded before it, as recorded in the .ko."""
    out = subprocess.run(["modinfo", "--field", "depends", str(ko)],
                         capture_output=True, text=True, check=True).stdout
    return [_canonical(n) for n in out.strip().split(",") if n]


def load_order(wanted: list[str], index: dict[str, Path], builtin: set[str],
               already: frozenset[str] | set[str] = frozenset()) -> list[str]:
    """Dependencies-first list of modules to insmod for `wanted`.

    A depth-first walk: a module is appended only after everything it depends
    on.  Built-in drivers and modules in `already` (loaded by an earlier
    group) are skipped.
    """
    order: list[str] = []
    seen = set(already)

    def visit(name: str) -> None:
        name = _canonical(name)
        if name in seen or name in builtin:
            return
        seen.add(name)
        if name not in index:
            raise KeyError(f"kernel module {name} is neither built in nor shipped")
        for dep in direct_dependencies(index[name]):
            visit(dep)
        order.append(name)

    for module in wanted:
        visit(module)
    return order
