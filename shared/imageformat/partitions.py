"""Partition tables inside raw images: MBR and GPT.

A raw disk image normally starts with a partition table, so finding one is
not suspicious in itself; a raw image reports ``partition_table`` = "mbr"
or "gpt".  But the tables are parsed by firmware, boot loaders and the
host kernel (loop devices, partition probing by tools run on the image),
and those parsers have had bugs, so like Glance (``gpt_safety_checks``,
strict by default) we refuse tables that no partitioning tool writes:

* MBR: every boot flag 0x00 or 0x80; used entries start after sector 0,
  have a size and do not overlap; at least one entry.
* Protective MBR (type 0xEE, meaning "GPT follows"): exactly one entry,
  in slot 1, starting at CHS 0/2/0 and LBA 1.
* GPT header (LBA 1, 512- or 4096-byte sectors): signature, revision,
  sizes, CRC-32 of the header and of the entry array, and every partition
  within the usable area without overlaps.

A FAT/NTFS/exFAT *volume* boot sector also ends in 0x55AA; when such a sector
does not hold a valid table it is a bare filesystem, not an MBR.
"""

from __future__ import annotations

import struct
import zlib

from .base import Finding, FormatProbe

BOOT_SIGNATURE = b"\x55\xaa"
PROTECTIVE_TYPE = 0xEE
GPT_SIGNATURE = b"EFI PART"
GPT_REVISION = 0x00010000
MAX_ENTRY_ARRAY = 1 << 20

# boot, start CHS (3), type, end CHS (3), start LBA, sectors
_MBR_ENTRY = struct.Struct("<B3sB3sII")
# signature, revision, header_size, crc, reserved, my_lba, alternate_lba,
# first_usable, last_usable, disk_guid, entries_lba, entry_count,
# entry_size, entries_crc
_GPT_HEADER = struct.Struct("<8sIIIIQQQQ16sQIII")


def parse_mbr(sector: bytes) -> list[tuple[int, int, bytes, int, int]]:
    """The four entries as (boot_flag, type, start_chs, start_lba, sectors)."""
    entries = []
    for slot in range(4):
        boot, start_chs, kind, _end_chs, start, sectors = \
            _MBR_ENTRY.unpack_from(sector, 446 + 16 * slot)
        entries.append((boot, kind, start_chs, start, sectors))
    return entries


def mbr_problems(sector: bytes) -> list[str]:
    problems: list[str] = []
    entries = parse_mbr(sector)
    used: list[tuple[int, int, int]] = []
    protective = [slot for slot, e in enumerate(entries)
                  if e[1] == PROTECTIVE_TYPE]
    for slot, (boot, kind, start_chs, start, sectors) in enumerate(entries, 1):
        if boot not in (0x00, 0x80):
            problems.append(f"MBR partition {slot} has invalid boot flag "
                            f"{boot:#04x}")
        if kind == 0:
            continue
        if kind == PROTECTIVE_TYPE:
            if start_chs != b"\x00\x02\x00":
                problems.append("protective MBR entry has an invalid start CHS")
            if start != 1:
                problems.append("protective MBR entry does not start at LBA 1")
            continue
        if start == 0 or sectors == 0:
            problems.append(f"MBR partition {slot} has an invalid start or size")
            continue
        used.append((start, start + sectors, slot))
    if protective and [slot for slot, e in enumerate(entries) if e[1]] != [0]:
        problems.append("protective MBR defines extra partitions")
    if not protective and not used and not problems:
        problems.append("MBR has no partitions defined")
    used.sort()
    for (_s, first_end, first), (second_start, _e, second) in zip(used, used[1:], strict=False):
        if second_start < first_end:
            problems.append(f"MBR partitions {first} and {second} overlap")
    return problems


def looks_like_volume_boot_record(sector: bytes) -> bool:
    """A FAT/NTFS/exFAT boot sector: x86 jump, then a BIOS parameter block."""
    if not (sector[0] == 0xEB and sector[2] == 0x90) and sector[0] != 0xE9:
        return False
    if sector[3:11] == b"EXFAT   ":  # exFAT zeroes the old BPB fields
        return True
    bytes_per_sector = struct.unpack_from("<H", sector, 11)[0]
    sectors_per_cluster = sector[13]
    return (bytes_per_sector in (512, 1024, 2048, 4096)
            and sectors_per_cluster in (1, 2, 4, 8, 16, 32, 64, 128)
            and sector[21] in (0xF0, 0xF8, 0xF9, 0xFA, 0xFB, 0xFC, 0xFD, 0xFE,
                               0xFF))


class PartitionTableProbe(FormatProbe):
    """Reports format "mbr" or "gpt"; :mod:`.detect` decides what that means."""

    name = "partition-table"

    def start(self) -> None:
        self.mbr = b""
        self.gpt_header: bytes | None = None
        self.sector_size: int | None = None
        self.entries: bytes | None = None
        self.want(0, 512, self._got_mbr)

    def _got_mbr(self, sector: bytes) -> None:
        self.mbr = sector
        if len(sector) == 512 and sector[510:] == BOOT_SIGNATURE and any(
                entry[1] == PROTECTIVE_TYPE for entry in parse_mbr(sector)):
            self.want(512, 512, self._got_lba1_small)

    def _got_lba1_small(self, block: bytes) -> None:
        if block.startswith(GPT_SIGNATURE):
            self._got_gpt_header(block, 512)
        else:  # maybe a 4096-byte-sector disk; LBA 1 is then at 4096
            self.want(4096, 4096, lambda b: self._got_gpt_header(b, 4096)
                      if b.startswith(GPT_SIGNATURE) else None)

    def _got_gpt_header(self, block: bytes, sector_size: int) -> None:
        self.gpt_header, self.sector_size = block, sector_size
        if len(block) < _GPT_HEADER.size:
            return
        fields = _GPT_HEADER.unpack_from(block)
        entries_lba, count, entry_size = fields[10], fields[11], fields[12]
        length = count * entry_size
        # The array must come after the header: we never look back.
        if entries_lba >= 2 and 0 < length <= MAX_ENTRY_ARRAY:
            self.want(entries_lba * sector_size, length, self._got_entries)

    def _got_entries(self, data: bytes) -> None:
        self.entries = data

    def conclude(self, total_size: int, tail: bytes) -> Finding | None:
        sector = self.mbr
        if len(sector) < 512 or sector[510:] != BOOT_SIGNATURE:
            return None
        problems = mbr_problems(sector)
        has_partitions = any(e[1] for e in parse_mbr(sector))
        if looks_like_volume_boot_record(sector) and (problems
                                                      or not has_partitions):
            return None  # a bare FAT/NTFS filesystem image
        protective = any(e[1] == PROTECTIVE_TYPE for e in parse_mbr(sector))
        if not protective:
            return Finding("mbr", None, problems)
        finding = Finding("gpt", None, problems)
        self._check_gpt(finding.problems)
        finding.details["sector_size"] = self.sector_size
        return finding

    def _check_gpt(self, problems: list[str]) -> None:
        header, sector_size = self.gpt_header, self.sector_size
        if header is None or sector_size is None:
            problems.append("protective MBR but no GPT header at LBA 1")
            return
        if len(header) < _GPT_HEADER.size:
            problems.append("GPT header is truncated")
            return
        (_sig, revision, header_size, crc, _reserved, my_lba, alternate_lba,
         first_usable, last_usable, _guid, entries_lba, count, entry_size,
         entries_crc) = _GPT_HEADER.unpack_from(header)
        if revision != GPT_REVISION:
            problems.append(f"GPT revision {revision:#x} is not supported")
        if not _GPT_HEADER.size <= header_size <= sector_size:
            problems.append(f"GPT header size {header_size} out of range")
            return
        zeroed = header[:16] + b"\0\0\0\0" + header[20:header_size]
        if zlib.crc32(zeroed) != crc:
            problems.append("GPT header CRC is wrong")
        if my_lba != 1 or alternate_lba <= 1:
            problems.append("GPT header LBAs are inconsistent")
        if entry_size < 128 or entry_size & (entry_size - 1):
            problems.append(f"GPT entry size {entry_size} out of range")
            return
        array_bytes = count * entry_size
        if entries_lba < 2 or not 0 < array_bytes <= MAX_ENTRY_ARRAY:
            problems.append("GPT partition entry array location or size out of "
                            "range")
            return
        array_end_lba = entries_lba + -(-array_bytes // sector_size)
        if first_usable > last_usable or (entries_lba <= last_usable
                                          and array_end_lba > first_usable):
            problems.append("GPT usable area is inconsistent")
        entries = self.entries or b""
        if len(entries) != array_bytes:
            problems.append("GPT partition entry array is truncated")
            return
        if zlib.crc32(entries) != entries_crc:
            problems.append("GPT partition entry array CRC is wrong")
        used = []
        for index in range(count):
            entry = entries[index * entry_size:(index + 1) * entry_size]
            if not any(entry[:16]):
                continue
            first, last = struct.unpack_from("<QQ", entry, 32)
            if first > last or first < first_usable or last > last_usable:
                problems.append(f"GPT partition {index + 1} (sectors {first}-"
                                f"{last}) lies outside the usable area "
                                f"{first_usable}-{last_usable}")
            used.append((first, last, index + 1))
        used.sort()
        for (_f, first_last, a), (second_first, _l, b) in zip(used, used[1:], strict=False):
            if second_first <= first_last:
                problems.append(f"GPT partitions {a} and {b} overlap")
