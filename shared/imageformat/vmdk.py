"""VMDK: VMware's disk format, a binary sparse header plus a text descriptor.

Why it is dangerous (CVE-2022-47951): the text descriptor lists *extents*,
the files that hold the disk's data, e.g. ``RW 2048 FLAT "/etc/shadow" 0``.
qemu opens whatever the descriptor names, so an uploaded "disk" can be a
window onto any host file.  That happens when

* the file is a bare text descriptor (``# Disk DescriptorFile`` ...);
* a sparse header has ``capacity == 0``: qemu then treats the embedded
  descriptor as a descriptor file and opens its extents;
* the create type is one of the multi-file kinds (monolithicFlat,
  twoGbMaxExtentSparse, vmfs...);
* the descriptor names a parent (``parentFileNameHint``): a backing file.

So only single-file ``monolithicSparse`` and ``streamOptimized`` images are
accepted (Glance's ``vmdk_allowed_types``); every descriptor line must be
a comment, ``ddb.*``, ``key=value`` or an extent; every extent must be
``SPARSE`` and name a plain file name (no ``/``), all the same one.

A streamOptimized image may set the header's grain directory offset to
``GD_AT_END``: the real header is then the *footer* 1 KiB before the end,
which qemu prefers.  We read it from the stream's tail and check that it
agrees with the header and does not itself point at yet another footer.

Layout: VMware "Virtual Disk Format 5.0"; qemu ``block/vmdk.c``.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

from .base import Finding, FormatProbe, check_virtual_size, out_of_range

SPARSE_MAGIC = b"KDMV"
COWD_MAGIC = b"COWD"  # VMDK3 / ESX sparse: refused, qemu would still probe it
GD_AT_END = 0xFFFFFFFFFFFFFFFF
DEFAULT_ALLOWED_TYPES = frozenset({"monolithicSparse", "streamOptimized"})

DESCRIPTOR_OFFSET = 512          # qemu reads the embedded descriptor here
QEMU_DESCRIPTOR_READ = 20 * 512  # ... at least this much of it
MAX_DESCRIPTOR = 1 << 20         # qemu's limit for descriptor size
MAX_GRAIN_SECTORS = 0x200000
MAX_GTES_PER_GT = 512

MARKER_END_OF_STREAM = 0
MARKER_FOOTER = 3

# magic, version, flags, capacity, grain_size, descriptor_offset,
# descriptor_size, num_gtes_per_gt, rgd_offset, gd_offset, overhead
_SPARSE_HEADER = struct.Struct("<4sIIQQQQIQQQ")
_MARKER = struct.Struct("<QII")

_EXTENT_LINE = re.compile(
    r'^(RW|RDONLY|NOACCESS)\s+(\d+)\s+([A-Za-z0-9]+)'
    r'(?:\s+"([^"]*)")?(?:\s+(\d+))?\s*$', re.IGNORECASE)
_KEY_VALUE_LINE = re.compile(r"^([A-Za-z][A-Za-z0-9_.]*)\s*=\s*(.*)$")
_ACCESS_MODES = ("RW", "RDONLY", "NOACCESS")


@dataclass(frozen=True)
class SparseHeader:
    version: int
    flags: int
    capacity: int
    grain_size: int
    descriptor_offset: int
    descriptor_size: int
    num_gtes_per_gt: int
    gd_offset: int

    @classmethod
    def parse(cls, data: bytes) -> SparseHeader:
        (_magic, version, flags, capacity, grain, desc_offset, desc_size,
         gtes, _rgd, gd_offset, _overhead) = _SPARSE_HEADER.unpack_from(data)
        return cls(version, flags, capacity, grain, desc_offset, desc_size,
                   gtes, gd_offset)


@dataclass(frozen=True)
class Extent:
    access: str
    sectors: int
    type: str
    filename: str


def looks_like_text_descriptor(head: bytes) -> bool:
    """True if qemu would take this file for a text VMDK descriptor.

    qemu's probe skips ``#`` comment lines and blank lines and then wants
    ``version=N``; we also accept the customary first line on its own.
    """
    if head.lower().startswith(b"# disk descriptorfile"):
        return True
    for line in head.split(b"\n"):
        stripped = line.strip(b" \t\r")
        if line.startswith(b"#") or not stripped:
            continue
        return stripped.startswith(b"version=")
    return False


def parse_descriptor(text: str, problems: list[str]
                     ) -> tuple[dict[str, str], list[Extent]]:
    """Split a descriptor into ``key=value`` fields and extents.

    Anything we do not recognise is a problem: a descriptor is tiny and
    machine-written, so an unknown line is an attempt to find a parser
    difference between us and qemu.
    """
    fields: dict[str, str] = {}
    extents: list[Extent] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#") or line.lower().startswith("ddb."):
            continue
        if line.split(None, 1)[0].upper() in _ACCESS_MODES:
            match = _EXTENT_LINE.match(line)
            if not match:
                problems.append(f"vmdk extent line {number} is not understood:"
                                f" {line[:80]!r}")
                continue
            access, sectors, kind, filename, _offset = match.groups()
            extents.append(Extent(access.upper(), int(sectors), kind.upper(),
                                  filename or ""))
            continue
        match = _KEY_VALUE_LINE.match(line)
        if match:
            fields[match.group(1).lower()] = match.group(2).strip().strip('"')
            continue
        problems.append(f"vmdk descriptor line {number} is not understood: "
                        f"{line[:80]!r}")
    return fields, extents


class VmdkProbe(FormatProbe):
    name = "vmdk"

    def start(self) -> None:
        allowed = self.options.get("vmdk_allowed_types") or DEFAULT_ALLOWED_TYPES
        self.allowed_types = {t.lower(): t for t in allowed}
        self.head = b""
        self.descriptor: bytes | None = None
        self.want(0, 512, self._got_head)

    def _got_head(self, data: bytes) -> None:
        self.head = data
        if data.startswith(SPARSE_MAGIC) and len(data) >= _SPARSE_HEADER.size:
            header = SparseHeader.parse(data)
            # qemu reads the descriptor at sector 1 whatever the header says
            # (for parentFileNameHint), so that is what we read and judge.
            length = min(max(header.descriptor_size * 512,
                             QEMU_DESCRIPTOR_READ), MAX_DESCRIPTOR)
            self.want(DESCRIPTOR_OFFSET, length, self._got_descriptor)

    def _got_descriptor(self, data: bytes) -> None:
        self.descriptor = data

    def conclude(self, total_size: int, tail: bytes) -> Finding | None:
        head = self.head
        if head.startswith(COWD_MAGIC):
            return Finding(self.name, None, [
                "vmdk COWD (VMware ESX sparse, version 3) images are not "
                "allowed"], {"create_type": "COWD"})
        if not head.startswith(SPARSE_MAGIC):
            if looks_like_text_descriptor(head):
                return Finding(self.name, None, [
                    "vmdk is a descriptor-only text file: its extents would be "
                    "other files on the host"], {"create_type": "descriptor"})
            return None
        finding = Finding(self.name)
        if len(head) < _SPARSE_HEADER.size:
            finding.problems.append(f"vmdk sparse header is truncated "
                                    f"({len(head)} bytes)")
            return finding
        header = SparseHeader.parse(head)
        if header.gd_offset == GD_AT_END:
            from_footer = self._footer_header(header, total_size, tail,
                                              finding.problems)
            if from_footer is None:
                return finding
            header = from_footer
        self._check_header(header, finding)
        self._check_descriptor(header, finding)
        return finding

    # -- header ------------------------------------------------------------
    def _footer_header(self, header: SparseHeader, total_size: int,
                       tail: bytes, problems: list[str]) -> SparseHeader | None:
        """The stream-optimized footer, which takes precedence over the header."""
        if total_size % 512 or len(tail) < 1536 or total_size < 2048:
            problems.append("vmdk header says the real header is in a footer, "
                            "but the stream-optimized footer is missing")
            return None
        marker, footer, eos = tail[-1536:-1024], tail[-1024:-512], tail[-512:]
        _value, size, kind = _MARKER.unpack_from(marker)
        if size != 0 or kind != MARKER_FOOTER or any(marker[16:]):
            problems.append("vmdk footer marker is invalid")
        value, size, kind = _MARKER.unpack_from(eos)
        if value or size or kind != MARKER_END_OF_STREAM or any(eos[16:]):
            problems.append("vmdk end-of-stream marker is invalid")
        if not footer.startswith(SPARSE_MAGIC):
            problems.append("vmdk footer has no KDMV signature")
            return None
        footer_header = SparseHeader.parse(footer)
        if footer_header.version != header.version:
            problems.append("vmdk header and footer disagree on the version")
        if (footer_header.descriptor_offset, footer_header.descriptor_size) != (
                header.descriptor_offset, header.descriptor_size):
            problems.append("vmdk footer specifies a different descriptor than "
                            "the header")
        if header.capacity and header.capacity != footer_header.capacity:
            problems.append("vmdk header and footer disagree on the capacity "
                            f"({header.capacity} vs {footer_header.capacity} "
                            "sectors)")
        if footer_header.gd_offset == GD_AT_END:
            problems.append("vmdk footer points to another footer")
        return footer_header

    def _check_header(self, header: SparseHeader, finding: Finding) -> None:
        problems = finding.problems
        if header.version not in (1, 2, 3):
            problems.append(f"vmdk version {header.version} is not supported "
                            "(only 1..3)")
        if not 0 < header.num_gtes_per_gt <= MAX_GTES_PER_GT:
            problems.append(out_of_range("vmdk", "num_gtes_per_gt",
                                         header.num_gtes_per_gt,
                                         f"1..{MAX_GTES_PER_GT}"))
        grain = header.grain_size
        if not 0 < grain <= MAX_GRAIN_SECTORS or grain & (grain - 1):
            problems.append(out_of_range("vmdk", "grain_size", grain,
                                         "a power of two up to 2^21 sectors"))
        if header.capacity == 0:
            problems.append("vmdk header capacity is 0, which makes qemu open "
                            "the embedded descriptor's extents as files")
        finding.virtual_size = header.capacity * 512
        check_virtual_size("vmdk", finding.virtual_size, problems)

    # -- descriptor --------------------------------------------------------
    def _check_descriptor(self, header: SparseHeader, finding: Finding) -> None:
        problems = finding.problems
        if header.descriptor_offset == 0 or header.descriptor_size == 0:
            problems.append("vmdk sparse file has no embedded descriptor (it is "
                            "an extent of some other descriptor)")
            return
        if header.descriptor_offset != 1:
            problems.append(out_of_range("vmdk", "descriptor_offset",
                                         header.descriptor_offset,
                                         "must be sector 1"))
        if header.descriptor_size * 512 > MAX_DESCRIPTOR:
            problems.append(out_of_range("vmdk", "descriptor_size",
                                         header.descriptor_size,
                                         f"at most {MAX_DESCRIPTOR // 512}"))
        raw = (self.descriptor or b"").split(b"\x00", 1)[0]
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            problems.append("vmdk descriptor is not ASCII text")
            return
        fields, extents = parse_descriptor(text, problems)

        create_type = fields.get("createtype")
        finding.details["create_type"] = create_type
        if create_type is None:
            problems.append("vmdk descriptor has no createType")
        elif create_type.lower() not in self.allowed_types:
            allowed = ", ".join(sorted(self.allowed_types.values()))
            problems.append(f"vmdk create type {create_type!r} is not allowed "
                            f"(allowed: {allowed})")
        else:
            finding.details["create_type"] = self.allowed_types[
                create_type.lower()]
        if "parentfilenamehint" in fields:
            problems.append("vmdk descriptor names a parent file "
                            f"{fields['parentfilenamehint']!r} (a backing file)")

        if not extents:
            problems.append("vmdk descriptor has no extents")
            return
        for extent in extents:
            shown = extent.filename or "(no file)"
            if extent.type != "SPARSE":
                problems.append(f"vmdk extent {shown!r} is not inside the image"
                                f" (type {extent.type})")
            elif ("/" in extent.filename or "\\" in extent.filename
                  or not extent.filename):
                problems.append(f"vmdk extent {shown!r} is not inside the image"
                                " (it names a path)")
        names = sorted({e.filename for e in extents})
        if len(names) > 1:
            problems.append("vmdk extents name more than one file: "
                            + ", ".join(repr(n) for n in names))
        covered = sum(e.sectors for e in extents)
        if header.capacity and covered != header.capacity:
            problems.append(f"vmdk descriptor extents cover {covered} sectors "
                            f"but the header capacity is {header.capacity}")
