"""Turn a kernel and an initramfs into a bootable disk image.

The disk is a FAT "superfloppy" (a filesystem on the whole disk, no partition
table) made bootable by syslinux.  Everything is done on the image file with
mtools (`mcopy`, and `syslinux --install`, which uses mtools too), so no loop
device, no mount and no root privileges are needed.  SeaBIOS boots it like
any hard disk.  The raw image is finally converted to qcow2.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

from shared.units import MiB

# console=ttyS0: the serial console is the guest's only output the tests read.
# quiet/loglevel: printing to an emulated UART is slow; keep the kernel silent.
# no_timer_check: under software emulation on a busy host the kernel's check
# that the IO-APIC timer ticks can time out and panic ("IO-APIC + timer doesn't
# work!"); cloud images boot with it for the same reason.
# cryptomgr.notests: the kernel tests each crypto algorithm it registers at
# boot; under TCG those self-tests were half of the kernel's work before
# /init (counted in guest instructions with QEMU's -icount: from 1.70 s to
# 0.82 s of guest time), and the tiny image's checks need none of them.
KERNEL_CMDLINE = ("console=ttyS0 quiet loglevel=1 panic=-1 no_timer_check "
                  "cryptomgr.notests")

SYSLINUX_CFG = f"""\
DEFAULT linux
PROMPT 0
TIMEOUT 0
LABEL linux
  LINUX /vmlinuz
  INITRD /initrd.gz
  APPEND {KERNEL_CMDLINE}
"""


def _run(argv: list[str]) -> None:
    """Run a tool, raising with its stderr if it fails."""
    proc = subprocess.run(argv, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip()}")


def fat_size_bytes(*payload: Path) -> int:
    """Just enough room: the files, plus 10% and 2 MiB for FAT tables and
    syslinux, rounded up to a whole MiB."""
    needed = sum(p.stat().st_size for p in payload) * 1.1 + 2 * MiB
    return (int(needed) // MiB + 1) * MiB


def make_raw_fat(kernel: Path, initrd: Path, raw: Path) -> None:
    """Create the bootable raw FAT image `raw` holding kernel and initrd."""
    raw.unlink(missing_ok=True)
    size_kib = fat_size_bytes(kernel, initrd) // 1024
    # -C creates the file; -I allows a filesystem on the whole "device".
    _run(["mkfs.fat", "-C", "-I", "-n", "POCKETTINY", str(raw), str(size_kib)])
    cfg = raw.with_name("syslinux.cfg")
    cfg.write_text(SYSLINUX_CFG)
    for source, name in ((kernel, "vmlinuz"), (initrd, "initrd.gz"), (cfg, "syslinux.cfg")):
        _run(["mcopy", "-i", str(raw), str(source), f"::/{name}"])
    # Writes the boot sector and ldlinux.sys/ldlinux.c32 into the FAT.
    _run(["syslinux", "--install", str(raw)])


def convert_to_qcow2(raw: Path, qcow2: Path) -> None:
    """raw -> qcow2.  Formats are always given explicitly: never let qemu-img
    guess (a guessed format is a classic security hole)."""
    _run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(raw), str(qcow2)])
