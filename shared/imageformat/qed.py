"""QED: QEMU Enhanced Disk, detected only to be refused.

Why refuse: no OpenStack service supports QED, and like qcow2 its header can
name a backing file that qemu would open on the host.  The advisory fix for
CVE-2024-32498 added QED detection to Glance for exactly this reason: an
undetected QED image declared as "raw" would be probed as QED by a qemu that
was not told the format.
"""

from __future__ import annotations

from .base import Finding, FormatProbe

QED_MAGIC = b"QED\x00"


class QedProbe(FormatProbe):
    name = "qed"

    def start(self) -> None:
        self.head = b""
        self.want(0, len(QED_MAGIC), self._got_head)

    def _got_head(self, data: bytes) -> None:
        self.head = data

    def conclude(self, total_size: int, tail: bytes) -> Finding | None:
        if self.head != QED_MAGIC:
            return None
        return Finding(self.name, None, [
            "qed images are never allowed (no service supports them and "
            "their header can name a backing file)"])
