"""Run every format probe over one pass of the data and combine the verdicts.

Why all probes at once: the format is decided by the *content*, never by
what the uploader claims, and a file can carry several signatures at the
same time.  An ISO's first 32 KiB are free for anything, so an "ISO" can
start with a qcow2 header: we would call it ISO, qemu probing it would
open qcow2 and follow its backing file.  So more than one format signature
is refused ("image carries signatures of more than one format: iso and
qcow2"), with the known-harmless exceptions:

* a partition table (MBR/GPT) at the start of raw data: raw disks and
  fixed VHDs (whose data starts at byte 0) are partitioned disks;
* a partition table in an ISO's system area: a hybrid ISO (bootable from a
  USB stick).  Its table is reported but not judged: hybrid ISO tools
  write unusual tables, and nothing interprets an ISO as anything but raw.

Usage while uploading::

    inspector = StreamingInspector()
    for chunk in body:
        inspector.feed(chunk)
        store(chunk)
    result = inspector.finish()
    policy.check(result, image.disk_format)   # raises ImageSafetyError
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .base import TAIL_LENGTH, Finding, FormatProbe, ImageSafetyError, RegionStream
from .iso import IsoProbe
from .luks import LuksProbe
from .parallels import ParallelsProbe
from .partitions import PartitionTableProbe
from .qcow2 import Qcow2Probe
from .qed import QedProbe
from .raw import raw_finding
from .vdi import VdiProbe
from .vhd import VhdProbe
from .vhdx import VhdxProbe
from .vmdk import VmdkProbe

#: Probe order doubles as priority when several formats match.
PROBE_TYPES: tuple[type[FormatProbe], ...] = (
    Qcow2Probe, QedProbe, LuksProbe, VmdkProbe, VhdxProbe, VdiProbe,
    ParallelsProbe, VhdProbe, IsoProbe, PartitionTableProbe)

PARTITION_TABLES = frozenset({"mbr", "gpt"})

#: qemu driver for each detected format: always pass it as ``-f``.
QEMU_DRIVERS = {"raw": "raw", "iso": "raw", "qcow2": "qcow2", "vmdk": "vmdk",
                "vhd": "vpc", "vhdx": "vhdx", "vdi": "vdi", "qed": "qed",
                "luks": "luks", "parallels": "parallels"}

DEFAULT_CHUNK_SIZE = 1 << 20


def qemu_format_name(fmt: str) -> str:
    """The qemu ``-f`` driver name for a detected (or disk_format) name."""
    if fmt == "ploop":
        return "parallels"
    return QEMU_DRIVERS.get(fmt, "raw" if fmt in ("ami", "ari", "aki") else fmt)


@dataclass(frozen=True)
class InspectionResult:
    """The verdict on one image.

    ``format`` is the content format ("raw" when nothing was recognised);
    ``partition_table`` is "mbr"/"gpt" for partitioned raw disks, fixed VHDs
    and hybrid ISOs; ``signatures`` lists everything detected; ``problems``
    are the reasons to refuse the image whatever its disk_format (empty
    means safe).  ``virtual_size`` may be None for refused images.
    """

    format: str
    virtual_size: int | None
    actual_size: int
    partition_table: str | None = None
    signatures: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def safe(self) -> bool:
        return not self.problems

    @property
    def qemu_format(self) -> str:
        return qemu_format_name(self.format)

    def raise_if_unsafe(self) -> None:
        if self.problems:
            raise ImageSafetyError(self.problems)


def _name_list(names: Iterable[str]) -> str:
    names = sorted(names)
    return names[0] if len(names) == 1 else \
        ", ".join(names[:-1]) + " and " + names[-1]


def multiple_formats_message(names: Iterable[str]) -> str:
    return ("image carries signatures of more than one format: "
            + _name_list(names))


def combine(findings: list[Finding], total_size: int) -> InspectionResult:
    """Turn the probes' findings into one :class:`InspectionResult`."""
    tables = [f for f in findings if f.format in PARTITION_TABLES]
    formats = [f for f in findings if f.format not in PARTITION_TABLES]
    table = tables[0] if tables else None
    primary = formats[0] if formats else raw_finding(total_size)
    details = dict(primary.details)
    problems: list[str] = []
    if len(formats) > 1:
        problems.append(multiple_formats_message(f.format for f in formats))
    for finding in formats:
        problems.extend(finding.problems)

    partition_table = None
    if table is not None:
        data_at_start = primary.format == "raw" or (
            primary.format == "vhd" and details.get("subformat") == "fixed")
        if data_at_start:
            partition_table = table.format
            problems.extend(table.problems)
        elif primary.format == "iso":
            partition_table = table.format
            if table.problems:
                details["partition_table_problems"] = list(table.problems)
        elif len(formats) == 1:
            problems.insert(0, multiple_formats_message(
                [primary.format, table.format]))
        details.update({f"partition_table_{k}": v
                        for k, v in table.details.items()})
    return InspectionResult(
        format=primary.format,
        virtual_size=primary.virtual_size,
        actual_size=total_size,
        partition_table=partition_table,
        signatures=tuple(sorted(f.format for f in findings)),
        problems=tuple(problems),
        details=details)


class StreamingInspector:
    """Feed an image chunk by chunk; :meth:`finish` gives the verdict.

    Chunks may have any size.  Only requested regions (headers, tables,
    descriptors) and the last 4 KiB are kept, so memory is bounded (a few
    MiB at worst) and a chunk past every region costs O(1).
    ``vmdk_allowed_types`` overrides the allowed VMDK create types.
    """

    def __init__(self, *, vmdk_allowed_types: Iterable[str] | None = None):
        self._stream = RegionStream()
        options = {"vmdk_allowed_types": frozenset(vmdk_allowed_types)
                   if vmdk_allowed_types is not None else None}
        self._probes = [probe(self._stream, **options) for probe in PROBE_TYPES]
        self.result: InspectionResult | None = None

    def feed(self, chunk: bytes | bytearray | memoryview) -> None:
        self._stream.feed(chunk)

    def skip(self, length: int) -> None:
        """Advance over ``length`` bytes nobody wants (file mode only)."""
        self._stream.skip(length)

    @property
    def bytes_seen(self) -> int:
        return self._stream.position

    @property
    def next_wanted_offset(self) -> float:
        return self._stream.next_wanted

    @property
    def buffered_bytes(self) -> int:
        return self._stream.buffered_bytes

    def finish(self, total_size: int | None = None) -> InspectionResult:
        if self.result is not None:
            return self.result
        if total_size is not None and total_size != self._stream.position:
            raise ValueError(f"finish({total_size}) but {self._stream.position}"
                             " bytes were fed")
        total = self._stream.position
        tail = self._stream.tail
        self._stream.finish()
        findings = [f for probe in self._probes
                    if (f := probe.finding(total, tail)) is not None]
        self.result = combine(findings, total)
        return self.result


def inspect_stream(chunks: Iterable[bytes], **options: Any) -> InspectionResult:
    inspector = StreamingInspector(**options)
    for chunk in chunks:
        inspector.feed(chunk)
    return inspector.finish()


def inspect_file(path: str | os.PathLike[str], *,
                 chunk_size: int = DEFAULT_CHUNK_SIZE,
                 **options: Any) -> InspectionResult:
    """Inspect a file, reading only what the probes ask for plus the tail."""
    inspector = StreamingInspector(**options)
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        position = 0
        while True:
            target = min(inspector.next_wanted_offset,
                         max(size - TAIL_LENGTH, 0))
            if target > position:
                inspector.skip(int(target) - position)
                position = int(target)
                handle.seek(position)
            chunk = handle.read(chunk_size)
            if not chunk:
                break
            inspector.feed(chunk)
            position += len(chunk)
    return inspector.finish(position)
