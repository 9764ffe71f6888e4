"""ISO 9660 / UDF optical disc images.

Volume descriptors start at sector 16 (byte 32768, 2048-byte sectors); the
first 32 KiB are a "system area" that the ISO standard leaves free for
anything, which is why hybrid ISOs put an MBR or GPT there (allowed).

Why check it: that same free system area can hold a qcow2 or VMDK header
at offset 0.  qemu probing the file without ``-f`` would then open it as
qcow2 (backing files and all) while we called it an ISO: the multiple
signature check in :mod:`.detect` catches that.  Here we only refuse an
ISO whose primary volume descriptor lies about its size: the little- and
big-endian copies of each number must agree (a classic parser-differential
trick), and the volume must fit in the file.

Virtual size = the primary volume descriptor's volume space size times its
logical block size (a pure UDF image has no PVD: we use the file size).
"""

from __future__ import annotations

import struct

from .base import Finding, FormatProbe, check_virtual_size, out_of_range

SECTOR = 2048
FIRST_DESCRIPTOR = 16 * SECTOR
DESCRIPTORS_READ = 16          # enough for PVD, boot record, SVDs, terminator
ISO9660_ID = b"CD001"
UDF_START_IDS = (b"BEA01", b"NSR02", b"NSR03")
TYPE_PRIMARY, TYPE_TERMINATOR = 1, 255


def _both_endian(block: bytes, at: int, size: int) -> tuple[int, int]:
    """ISO numbers are stored twice: little-endian then big-endian."""
    code = {2: "H", 4: "I"}[size]
    little = struct.unpack_from("<" + code, block, at)[0]
    big = struct.unpack_from(">" + code, block, at + size)[0]
    return little, big


class IsoProbe(FormatProbe):
    name = "iso"

    def start(self) -> None:
        self.descriptors = b""
        self.want(FIRST_DESCRIPTOR, DESCRIPTORS_READ * SECTOR,
                  self._got_descriptors)

    def _got_descriptors(self, data: bytes) -> None:
        self.descriptors = data

    def conclude(self, total_size: int, tail: bytes) -> Finding | None:
        data = self.descriptors
        if len(data) < SECTOR or data[1:6] not in (ISO9660_ID,) + UDF_START_IDS:
            return None
        finding = Finding(self.name, total_size)
        primary = None
        for index in range(len(data) // SECTOR):
            block = data[index * SECTOR:(index + 1) * SECTOR]
            if block[1:6] != ISO9660_ID:
                continue
            if block[0] == TYPE_TERMINATOR:
                break
            if block[0] == TYPE_PRIMARY:
                primary = block
                break
        if primary is None:
            finding.details["filesystem"] = "udf"
            return finding
        finding.details["filesystem"] = "iso9660"
        problems = finding.problems
        blocks, blocks_be = _both_endian(primary, 80, 4)
        block_size, block_size_be = _both_endian(primary, 128, 2)
        if blocks != blocks_be or block_size != block_size_be:
            problems.append("iso primary volume descriptor's little- and "
                            "big-endian sizes disagree")
            return finding
        if block_size not in (512, 1024, 2048):
            problems.append(out_of_range("iso", "logical_block_size",
                                         block_size, "512, 1024 or 2048"))
            return finding
        size = blocks * block_size
        finding.virtual_size = size
        check_virtual_size("iso", size, problems)
        if size > total_size:
            problems.append(f"iso volume ({size} bytes) is larger than the file "
                            f"({total_size} bytes)")
        return finding
