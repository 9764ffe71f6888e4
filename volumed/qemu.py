"""qemu-img, used safely.

Two rules from OpenStack's CVEs (see the reference notes, §1.11):
- always name the input format (-f) and the output format (-O): a file that
  qemu-img is left to guess about can claim to be a qcow2 whose backing file
  or data file is any file on the host;
- look at an image with `qemu-img info` before converting it, refuse backing
  files and external data files, and run qemu-img with memory and CPU limits,
  since a crafted image header can make it work very hard.
"""
from __future__ import annotations

import json
import resource
import subprocess
from pathlib import Path

from shared.units import GiB

# Glance disk_format -> qemu-img's name for it. Anything else is refused.
QEMU_FORMATS = {"raw": "raw", "qcow2": "qcow2", "vmdk": "vmdk", "vdi": "vdi",
                "vhd": "vpc", "vhdx": "vhdx", "iso": "raw"}
VMDK_ALLOWED_SUBFORMATS = ("monolithicSparse", "streamOptimized")
INFO_MEMORY_LIMIT = GiB
INFO_CPU_SECONDS = 30


class ImageFormatError(Exception):
    """The image cannot be used; the message says why."""


def qemu_format(disk_format: str | None) -> str:
    try:
        return QEMU_FORMATS[disk_format or ""]
    except KeyError:
        raise ImageFormatError(f"disk_format {disk_format!r} cannot be written to a volume "
                               f"(allowed: {', '.join(QEMU_FORMATS)})") from None


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (INFO_MEMORY_LIMIT, INFO_MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_CPU, (INFO_CPU_SECONDS, INFO_CPU_SECONDS))


def info(path: Path, fmt: str) -> dict:
    """`qemu-img info` of a file read as `fmt`, under resource limits."""
    result = subprocess.run(["qemu-img", "info", "-f", fmt, "--output=json", str(path)],
                            capture_output=True, text=True, preexec_fn=_limits, timeout=120)
    if result.returncode != 0:
        raise ImageFormatError(f"the image is not a valid {fmt} file: "
                               f"{result.stderr.strip()}")
    return json.loads(result.stdout)


def check_safe(details: dict) -> None:
    """Refuse what could make qemu-img read other files of the host."""
    if details.get("backing-filename") or details.get("full-backing-filename"):
        raise ImageFormatError("the image has a backing file; refused")
    specific = (details.get("format-specific") or {}).get("data") or {}
    if specific.get("data-file"):
        raise ImageFormatError("the image has an external data file; refused")
    if details.get("format") == "vmdk":
        create_type = specific.get("create-type")
        if create_type not in VMDK_ALLOWED_SUBFORMATS:
            raise ImageFormatError(f"VMDK subformat {create_type!r} is not allowed")
        for extent in specific.get("extents", []):
            if extent.get("filename") and Path(extent["filename"]).name != \
                    Path(details.get("filename", "")).name:
                raise ImageFormatError("the VMDK names another file as an extent; refused")


def convert_into(source: Path, source_format: str, target: Path) -> None:
    """Write `source` (read as source_format) into the existing raw file
    `target`, which is already at its final size and all zeroes."""
    _run(["qemu-img", "convert", "-f", source_format, "-O", "raw", "-n", "--target-is-zero",
          str(source), str(target)])


def convert(source: Path | str, source_format: str, target: Path, target_format: str
            ) -> None:
    """Write `source` (a file, or an image qemu-img opens itself such as
    rbd:<pool>/<image>:id=<user>:conf=<file>) into a new file `target` of
    target_format."""
    _run(["qemu-img", "convert", "-f", source_format, "-O", target_format,
          str(source), str(target)])


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise ImageFormatError(f"qemu-img convert failed: {result.stderr.strip()}")
