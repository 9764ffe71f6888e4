"""Every qemu-img call computed makes, in one place.

The rule: each call names the format of every image it opens: -f for the
input, -F for a backing file, -O for the output. Left to itself, qemu-img
probes the format from the first bytes of the file, and a guest (or an
uploader) who wrote a qcow2 header into a "raw" disk then decides which
host file QEMU opens as its backing file (CVE-2026-24708 and its elders).
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

FORMATS = ("raw", "qcow2", "vmdk", "vpc", "vhdx", "vdi", "parallels")


class QemuImgError(Exception):
    pass


def _run(*args: str, timeout: float = 600) -> str:
    try:
        result = subprocess.run(["qemu-img", *args], capture_output=True, text=True,
                                timeout=timeout, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise QemuImgError("qemu-img is not installed (Debian package qemu-utils)") from None
    except subprocess.TimeoutExpired:
        raise QemuImgError(f"qemu-img {args[0]} took longer than {timeout:.0f} s") from None
    if result.returncode != 0:
        raise QemuImgError(f"qemu-img {args[0]} failed: {result.stderr.strip()}")
    return result.stdout


def _check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise QemuImgError(f"refusing to open an image of unknown format {fmt!r}")
    return fmt


def create_overlay(path: Path, base: Path, base_format: str, size_bytes: int | None) -> None:
    """A qcow2 whose backing file is `base` (read as base_format): writes go
    to the overlay, the base is never changed. Grown to size_bytes in the
    same call (no separate resize)."""
    args = ["create", "-q", "-f", "qcow2", "-F", _check_format(base_format),
            "-b", str(base), str(path)]
    if size_bytes is not None:
        args.append(str(size_bytes))
    _run(*args)


def convert(source: Path | str, source_format: str, target: Path | str, target_format: str,
            force_share: bool = False) -> None:
    """Copy `source` into a new standalone image. force_share (-U) reads an
    image that a running QEMU holds open (the guest is paused meanwhile).
    A str names an RBD image (rbd:<pool>/<image>:id=<user>:conf=<file>):
    qemu-img reads it, or makes it, with librbd."""
    args = ["convert", "-f", _check_format(source_format), "-O",
            _check_format(target_format)]
    if force_share:
        args.append("-U")
    _run(*args, str(source), str(target), timeout=3600)


def resize(path: Path, fmt: str, size_bytes: int) -> None:
    """Grow an image to size_bytes (never shrinks: --shrink is not given)."""
    _run("resize", "-q", "-f", _check_format(fmt), str(path), str(size_bytes))


def make_filesystem(path: Path, fs_type: str, label: str) -> None:
    """Format a raw file (an ephemeral or swap template) as Nova does."""
    if fs_type == "swap":
        command = ["mkswap", "-L", label, str(path)]
    elif fs_type == "vfat":
        command = ["mkfs.vfat", "-n", label[:11].upper(), str(path)]
    else:
        command = [f"mkfs.{fs_type}", "-F", "-q", "-L", label, str(path)]
    if shutil.which(command[0]) is None:
        raise QemuImgError(f"{command[0]} is not installed")
    result = subprocess.run(command, capture_output=True, text=True, timeout=600,
                            stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise QemuImgError(f"{command[0]} failed: {result.stderr.strip()}")
