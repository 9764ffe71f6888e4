"""Does the content match the declared disk_format?

Why: Glance's ``require_image_format_match`` (default True) and Nova's
deep inspection both refuse an image whose bytes are not what its
disk_format says.  A qcow2 registered as "raw" is the attack: every
safety decision keyed on "it is raw" is wrong, and anything that later
opens it without ``-f raw`` gets qemu's format probing, i.e. the qcow2
header and its backing file (CVE-2026-24708 shows it still happens).

Mapping (content formats come from :mod:`.detect`):

* raw, ami, ari, aki: raw content (a raw disk may carry an MBR or GPT
  partition table).  Kernels and ramdisks are not recognised by any
  probe, so they inspect as raw; a qcow2 declared as any of them is
  refused.
* ploop: raw content or a parallels image (what ploop really is).
* iso: iso content (hybrid ISOs with MBR/GPT included).
* qcow2, vmdk, vhd, vhdx, vdi: exactly that format.
* anything else (qed, luks, unknown names): refused, no inspector.
"""

from __future__ import annotations

import os
from typing import Any

from .base import ImageSafetyError
from .detect import InspectionResult, inspect_file

ACCEPTED_CONTENT: dict[str, frozenset[str]] = {
    "raw": frozenset({"raw"}),
    "ami": frozenset({"raw"}),
    "ari": frozenset({"raw"}),
    "aki": frozenset({"raw"}),
    "ploop": frozenset({"raw", "parallels"}),
    "iso": frozenset({"iso"}),
    "qcow2": frozenset({"qcow2"}),
    "vmdk": frozenset({"vmdk"}),
    "vhd": frozenset({"vhd"}),
    "vhdx": frozenset({"vhdx"}),
    "vdi": frozenset({"vdi"}),
}


def format_mismatch(result: InspectionResult, disk_format: str | None
                    ) -> str | None:
    """The reason ``result`` does not fit ``disk_format``, or None."""
    declared = (disk_format or "").strip().lower()
    accepted = ACCEPTED_CONTENT.get(declared)
    if accepted is None:
        return f"disk_format {disk_format!r} has no format inspector"
    if result.format not in accepted:
        return f"content is {result.format} but disk_format is {declared}"
    return None


def check(result: InspectionResult, disk_format: str | None
          ) -> InspectionResult:
    """Raise :class:`ImageSafetyError` unless the image is safe and matches.

    Returns ``result`` so callers can write ``size = check(r, fmt).virtual_size``.
    """
    reasons = []
    mismatch = format_mismatch(result, disk_format)
    if mismatch:
        reasons.append(mismatch)
    reasons.extend(result.problems)
    if reasons:
        raise ImageSafetyError(reasons)
    return result


def check_file(path: str | os.PathLike[str], disk_format: str | None,
               **options: Any) -> InspectionResult:
    """Inspect a file and :func:`check` it (computed's re-check before boot)."""
    return check(inspect_file(path, **options), disk_format)
