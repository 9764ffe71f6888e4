"""Convert a staged image with qemu-img, the one place imaged runs it.

Two rules, both from real CVEs (see shared/imageformat): qemu-img only ever
sees data that shared.imageformat already judged safe (no backing file, no
external data file, no VMDK naming host files...), and it is always told
the input format (-f) and the output format (-O): if qemu guessed, a raw
image carrying a qcow2 header would be opened as qcow2, backing file and
all (CVE-2026-24708 is that mistake in Nova).
"""
from __future__ import annotations

import subprocess
from pathlib import Path

# Content that is a disk image and can be converted. ISO, kernels and
# ramdisks (ami/ari/aki) keep their bytes: a CD image or a kernel turned
# into qcow2 would no longer boot the way its disk_format says.
CONVERTIBLE = frozenset({"raw", "qcow2", "vmdk", "vhd", "vhdx", "vdi", "ploop"})
QEMU_OUTPUT = {"qcow2": "qcow2", "raw": "raw", "vmdk": "vmdk", "vdi": "vdi", "vhd": "vpc",
               "vhdx": "vhdx"}


class ConversionFailed(Exception):
    pass


def needs_conversion(disk_format: str | None, output_format: str) -> bool:
    return disk_format in CONVERTIBLE and disk_format != output_format


def convert(source: Path, source_qemu_format: str, target: Path, output_format: str,
            timeout: float) -> None:
    """qemu-img convert -f <inspected format> -O <output_format>."""
    command = ["qemu-img", "convert", "-q", "-f", source_qemu_format,
               "-O", QEMU_OUTPUT[output_format], str(source), str(target)]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                                check=False)
    except subprocess.TimeoutExpired:
        raise ConversionFailed(f"qemu-img convert took longer than {timeout:g} s") from None
    except FileNotFoundError:
        raise ConversionFailed("qemu-img is not installed") from None
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise ConversionFailed(f"qemu-img convert failed: {detail[-1] if detail else '?'}")
