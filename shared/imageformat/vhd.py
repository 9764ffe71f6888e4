"""VHD (qemu calls it "vpc"): Microsoft Virtual PC disks.

Structure: a 512-byte big-endian *footer* is the LAST sector of the file.
A fixed VHD is raw data followed by the footer; a dynamic VHD also keeps a
copy of the footer at offset 0, then a dynamic header ("cxsparse") and a
block allocation table (BAT).

Why check it: the footer's size fields decide how much disk the guest sees
and how far qemu reads.  A fixed VHD whose footer claims more than the file
holds makes the guest see a disk bigger than the data (and the image
record's virtual_size a lie); a dynamic VHD whose BAT cannot cover the size
is rejected by qemu later, at boot.  Differencing VHDs (type 4) name a
parent file: a backing file, which we never accept.  The footer copy at
offset 0 and the real footer must agree, or two readers could disagree
about the disk; and since qemu only probes offset 0, a *fixed* VHD is
invisible to a qemu that is not told ``-f vpc`` (it looks like raw).

Virtual size follows qemu (``block/vpc.c``): the CHS geometry, unless the
creator is one known to use ``current_size`` (Hyper-V "win ", "qem2",
"d2v ", "CTXS", "tap\\0") or the geometry is the maximum one.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .base import Finding, FormatProbe, out_of_range

FOOTER_COOKIE = b"conectix"
DYNAMIC_COOKIE = b"cxsparse"
NO_DATA_OFFSET = 0xFFFFFFFFFFFFFFFF
TYPE_FIXED, TYPE_DYNAMIC, TYPE_DIFFERENCING = 2, 3, 4
MAX_GEOMETRY_SECTORS = 65535 * 16 * 255
MAX_SIZE = 0xFF000000 * 512  # qemu's VHD_MAX_SECTORS: 2040 GiB
CURRENT_SIZE_CREATORS = (b"win ", b"qem2", b"d2v ", b"CTXS", b"tap\x00")

# cookie, features, version, data_offset, timestamp, creator_app,
# creator_version, creator_os, original_size, current_size, cylinders,
# heads, sectors_per_track, disk_type, checksum
_FOOTER = struct.Struct(">8sIIQI4sIIQQHBBII")
_FOOTER_CHECKSUM_AT = 64
# cookie, data_offset, table_offset, header_version, max_table_entries,
# block_size, checksum
_DYNAMIC = struct.Struct(">8sQQIIII")
_DYNAMIC_CHECKSUM_AT = 36


def vhd_checksum(block: bytes, checksum_at: int) -> int:
    """One's complement of the byte sum, with the checksum field as zero."""
    total = sum(block) - sum(block[checksum_at:checksum_at + 4])
    return ~total & 0xFFFFFFFF


@dataclass(frozen=True)
class Footer:
    data_offset: int
    creator_app: bytes
    current_size: int
    cylinders: int
    heads: int
    sectors_per_track: int
    disk_type: int
    checksum: int
    checksum_ok: bool

    @classmethod
    def parse(cls, block: bytes) -> Footer:
        (_cookie, _features, _version, data_offset, _ts, creator_app, _cv,
         _os, _original, current_size, cylinders, heads, spt, disk_type,
         checksum) = _FOOTER.unpack_from(block)
        return cls(data_offset, creator_app, current_size, cylinders, heads,
                   spt, disk_type, checksum,
                   checksum == vhd_checksum(block[:512], _FOOTER_CHECKSUM_AT))

    @property
    def qemu_virtual_size(self) -> int:
        chs_sectors = self.cylinders * self.heads * self.sectors_per_track
        if (self.creator_app in CURRENT_SIZE_CREATORS
                or chs_sectors == MAX_GEOMETRY_SECTORS):
            return self.current_size // 512 * 512
        return chs_sectors * 512


class VhdProbe(FormatProbe):
    name = "vhd"

    def start(self) -> None:
        self.head = b""
        self.dynamic_header: bytes | None = None
        self.dynamic_header_offset: int | None = None
        self.want(0, 512, self._got_head)

    def _got_head(self, data: bytes) -> None:
        self.head = data
        if not data.startswith(FOOTER_COOKIE) or len(data) < 512:
            return
        footer = Footer.parse(data)
        # The dynamic header must lie after the footer copy: we never look back.
        if footer.disk_type != TYPE_FIXED and 512 <= footer.data_offset < 1 << 48:
            self.dynamic_header_offset = footer.data_offset
            self.want(footer.data_offset, 1024, self._got_dynamic_header)

    def _got_dynamic_header(self, data: bytes) -> None:
        self.dynamic_header = data

    def conclude(self, total_size: int, tail: bytes) -> Finding | None:
        copy_at_start = self.head[:512] if self.head.startswith(
            FOOTER_COOKIE) and len(self.head) >= 512 else None
        at_end = (tail[-512:] if len(tail) >= 512 and total_size >= 512
                  and tail[-512:].startswith(FOOTER_COOKIE) else None)
        if copy_at_start is None and at_end is None:
            return None
        finding = Finding(self.name)
        problems = finding.problems
        # qemu reads the copy at offset 0 when there is one, else the end.
        footer = Footer.parse(copy_at_start if copy_at_start is not None
                              else at_end or b"")
        if not footer.checksum_ok:
            problems.append("vhd footer checksum is wrong")
        if copy_at_start is not None and at_end is None:
            problems.append("vhd has a footer copy at offset 0 but no footer at "
                            "the end of the file")
        elif copy_at_start is not None and copy_at_start != at_end:
            problems.append("vhd footer copy at offset 0 disagrees with the "
                            "footer at the end of the file")

        kind = footer.disk_type
        finding.details["subformat"] = {TYPE_FIXED: "fixed",
                                        TYPE_DYNAMIC: "dynamic"}.get(kind)
        if kind == TYPE_DIFFERENCING:
            problems.append("vhd is a differencing disk, which needs a parent "
                            "(backing) file")
            return finding
        if kind not in (TYPE_FIXED, TYPE_DYNAMIC):
            problems.append(out_of_range("vhd", "disk_type", kind, "2 or 3"))
            return finding

        size = footer.qemu_virtual_size
        finding.virtual_size = size
        if footer.current_size > MAX_SIZE or size > MAX_SIZE:
            problems.append(f"vhd disk size {max(size, footer.current_size)} "
                            "exceeds the VHD limit of 2040 GiB")
        if kind == TYPE_FIXED:
            self._check_fixed(footer, copy_at_start, total_size, problems)
        else:
            self._check_dynamic(footer, copy_at_start, total_size, problems)
        return finding

    @staticmethod
    def _check_fixed(footer: Footer, copy_at_start: bytes | None,
                     total_size: int, problems: list[str]) -> None:
        if copy_at_start is not None:
            problems.append("fixed vhd carries a footer copy at offset 0, where "
                            "its data should be")
        data_bytes = total_size - 512
        if footer.current_size != data_bytes:
            problems.append(f"fixed vhd footer says the disk is "
                            f"{footer.current_size} bytes but the file holds "
                            f"{data_bytes} bytes of data")
        elif footer.qemu_virtual_size > data_bytes:
            problems.append("fixed vhd geometry describes "
                            f"{footer.qemu_virtual_size} bytes but the file "
                            f"holds {data_bytes} bytes of data")

    def _check_dynamic(self, footer: Footer, copy_at_start: bytes | None,
                       total_size: int, problems: list[str]) -> None:
        if copy_at_start is None:
            problems.append("dynamic vhd lacks the footer copy at offset 0")
            return
        if self.dynamic_header_offset is None:
            problems.append(out_of_range("vhd", "data_offset",
                                         footer.data_offset,
                                         "at least 512, after the footer copy"))
            return
        header = self.dynamic_header or b""
        if len(header) < 1024 or not header.startswith(DYNAMIC_COOKIE):
            problems.append("vhd dynamic header at offset "
                            f"{self.dynamic_header_offset} is missing or "
                            "truncated")
            return
        (_cookie, _next, table_offset, _version, max_entries, block_size,
         checksum) = _DYNAMIC.unpack_from(header)
        if checksum != vhd_checksum(header, _DYNAMIC_CHECKSUM_AT):
            problems.append("vhd dynamic header checksum is wrong")
        if block_size < 512 or block_size & (block_size - 1):
            problems.append(out_of_range("vhd", "block_size", block_size,
                                         "a power of two, at least 512"))
            return
        capacity = max_entries * block_size
        if capacity < footer.qemu_virtual_size:
            problems.append(f"dynamic vhd block allocation table covers "
                            f"{capacity} bytes, less than the "
                            f"{footer.qemu_virtual_size} byte disk")
        if table_offset < 512 or table_offset + 4 * max_entries > total_size - 512:
            problems.append("vhd block allocation table lies outside the file")
