"""Raw: what an image is when no structure was recognised.

Raw content is interpreted by nobody, so it is safe to hand to qemu *as
raw*.  The danger runs the other way: content that IS something else
(qcow2, vmdk...) declared as raw.  If anything ever opens it without
pinning the format, qemu probes it, sees the qcow2 header and follows its
backing file.  CVE-2026-24708 is that story: Nova ran ``qemu-img resize``
on a "raw" disk without ``-f raw``, and a guest that had written a qcow2
header into its own disk could then damage host data.  Hence: content must
match the declared disk_format (:mod:`.policy`), and callers always pass
``-f`` (:func:`.detect.qemu_format_name`).

A raw disk may start with a partition table (:mod:`.partitions`).
Virtual size = file size.
"""

from __future__ import annotations

from .base import Finding


def raw_finding(total_size: int) -> Finding:
    return Finding("raw", total_size)
