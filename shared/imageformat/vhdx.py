"""VHDX: Hyper-V's disk format, found by following a chain of tables.

Path to the virtual size (all little-endian, [MS-VHDX]):
file identifier ``vhdxfile`` at 0 -> two headers at 64 KiB and 128 KiB ->
region table at 192 KiB -> the metadata region it points to (a table of
GUID-identified items) -> the "Virtual Disk Size" item.

Why check it: every hop is an offset chosen by the file's author.  We
only follow offsets that point *forward* into sane places (regions 1 MiB
aligned past the header area, items after the item table), cap what we
buffer, and refuse what qemu would use to reach outside the image or act
differently from us:

* a *parent locator* item or the HasParent flag: a differencing disk whose
  data comes from a parent file (a backing file);
* an unknown region or metadata item marked *required*: its meaning is
  unknown, so we cannot say the image is harmless;
* a log holding entries to replay (an entry carrying the header's log
  GUID): qemu replays it on open, i.e. it writes to the image and reads
  it differently than we did;
* checksums (CRC-32C) that do not match: qemu would pick another header or
  refuse the image, so our reading would not be qemu's.
"""

from __future__ import annotations

import struct
import uuid
from functools import partial
from typing import Any

from .base import Finding, FormatProbe, out_of_range

IDENTIFIER = b"vhdxfile"
HEADER_OFFSETS = (64 << 10, 128 << 10)
HEADER_SIZE = 4 << 10
REGION_TABLE_OFFSET = 192 << 10
REGION_TABLE_SIZE = 64 << 10
METADATA_TABLE_SIZE = 64 << 10
MIB = 1 << 20
MAX_ENTRIES = 2047
LOG_SECTOR = 4096
MAX_DISK_SIZE = 64 << 40  # 64 TiB, the VHDX limit

BAT_REGION = uuid.UUID("2DC27766-F623-4200-9D64-115E9BFD4A08")
METADATA_REGION = uuid.UUID("8B7CA206-4790-4B9A-B8FE-575F050F886E")
FILE_PARAMETERS = uuid.UUID("CAA16737-FA36-4D43-B3B6-33F0AA44E76B")
VIRTUAL_DISK_SIZE = uuid.UUID("2FA54224-CD1B-4876-B211-5DBED83BF4B8")
PAGE_83_DATA = uuid.UUID("BECA12AB-B2E6-4523-93EF-C309E000C746")
LOGICAL_SECTOR_SIZE = uuid.UUID("8141BF1D-A96F-4709-BA47-F233A8FAAB5F")
PHYSICAL_SECTOR_SIZE = uuid.UUID("CDA348C7-445D-4471-9CC9-E9885251C556")
PARENT_LOCATOR = uuid.UUID("A8D35F2D-B30B-454D-ABF7-D3D84834AB0C")
KNOWN_ITEMS = {FILE_PARAMETERS, VIRTUAL_DISK_SIZE, PAGE_83_DATA,
               LOGICAL_SECTOR_SIZE, PHYSICAL_SECTOR_SIZE, PARENT_LOCATOR}
# item -> exact length we read
WANTED_ITEMS = {FILE_PARAMETERS: 8, VIRTUAL_DISK_SIZE: 8,
                LOGICAL_SECTOR_SIZE: 4}
ITEM_IS_REQUIRED = 1 << 2
REGION_IS_REQUIRED = 1
FILE_HAS_PARENT = 1 << 1

# signature, checksum, sequence_number, file_write_guid, data_write_guid,
# log_guid, log_version, version, log_length, log_offset
_HEADER = struct.Struct("<4sIQ16s16s16sHHIQ")


def _crc32c_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC32C = _crc32c_table()


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli), the checksum VHDX uses."""
    crc = 0xFFFFFFFF
    table = _CRC32C
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def checksum_ok(block: bytes) -> bool:
    """VHDX structures keep their CRC-32C at bytes 4..8, computed as zero."""
    stored = struct.unpack_from("<I", block, 4)[0]
    return crc32c(block[:4] + b"\0\0\0\0" + block[8:]) == stored


class VhdxProbe(FormatProbe):
    name = "vhdx"

    def start(self) -> None:
        self.matched = False
        self.problems: list[str] = []
        self.headers: dict[int, bytes] = {}
        self.regions: dict[uuid.UUID, tuple[int, int]] = {}
        self.items: dict[uuid.UUID, bytes] = {}
        self.item_offsets: dict[uuid.UUID, int] = {}
        self.metadata_seen = False
        self.log_guid = b""
        self.log_needs_replay = False
        self.want(0, len(IDENTIFIER), self._got_identifier)

    # -- the chain of tables -----------------------------------------------
    def _got_identifier(self, data: bytes) -> None:
        if data != IDENTIFIER:
            return
        self.matched = True
        for offset in HEADER_OFFSETS:
            self.want(offset, HEADER_SIZE, partial(self._got_header, offset))
        self.want(REGION_TABLE_OFFSET, REGION_TABLE_SIZE, self._got_region_table)

    def _got_header(self, offset: int, block: bytes) -> None:
        self.headers[offset] = block
        if len(self.headers) < len(HEADER_OFFSETS):
            return
        current = self._current_header()
        if current is None or not any(current[5]):
            return
        # A non-zero log GUID only matters if the log holds an entry with
        # that GUID (Hyper-V leaves the GUID set after a clean close).
        log_length, log_offset = current[8], current[9]
        if log_offset < MIB or log_offset % MIB or not 0 < log_length <= MIB:
            self.problems.append("vhdx log region is out of range "
                                 f"(offset {log_offset}, length {log_length})")
            return
        self.log_guid = current[5]
        self.want(log_offset, log_length, self._got_log)

    def _got_log(self, log: bytes) -> None:
        for at in range(0, len(log) - 48 + 1, LOG_SECTOR):
            if log[at:at + 4] == b"loge" and log[at + 32:at + 48] == self.log_guid:
                self.log_needs_replay = True
                return

    def _got_region_table(self, table: bytes) -> None:
        problems = self.problems
        if len(table) < REGION_TABLE_SIZE or not table.startswith(b"regi"):
            problems.append("vhdx region table is missing or truncated")
            return
        if not checksum_ok(table):
            problems.append("vhdx region table checksum is wrong")
        count = struct.unpack_from("<I", table, 8)[0]
        if count > MAX_ENTRIES:
            problems.append(out_of_range("vhdx", "region count", count,
                                         f"at most {MAX_ENTRIES}"))
            return
        for index in range(count):
            entry = table[16 + 32 * index:48 + 32 * index]
            guid = uuid.UUID(bytes_le=entry[:16])
            offset, length, flags = struct.unpack_from("<QII", entry, 16)
            if guid not in (BAT_REGION, METADATA_REGION):
                if flags & REGION_IS_REQUIRED:
                    problems.append(f"vhdx region {guid} is required but "
                                    "unknown")
                continue
            if guid in self.regions:
                problems.append(f"vhdx region {guid} is listed twice")
                continue
            if offset < MIB or offset % MIB or length == 0 or length % MIB:
                problems.append(f"vhdx region {guid} at offset {offset} "
                                f"(length {length}) is not 1 MiB aligned past "
                                "the header area")
                continue
            self.regions[guid] = (offset, length)
        spans = sorted(self.regions.values())
        for (first, first_len), (second, _len) in zip(spans, spans[1:], strict=False):
            if first + first_len > second:
                problems.append("vhdx regions overlap")
        if METADATA_REGION not in self.regions or BAT_REGION not in self.regions:
            problems.append("vhdx region table lacks the metadata or BAT region")
            return
        offset, _length = self.regions[METADATA_REGION]
        self.want(offset, METADATA_TABLE_SIZE, self._got_metadata_table)

    def _got_metadata_table(self, table: bytes) -> None:
        problems = self.problems
        region_offset, region_length = self.regions[METADATA_REGION]
        if len(table) < METADATA_TABLE_SIZE or not table.startswith(b"metadata"):
            problems.append("vhdx metadata table is missing or truncated")
            return
        count = struct.unpack_from("<H", table, 10)[0]
        if count > MAX_ENTRIES:
            problems.append(out_of_range("vhdx", "metadata item count", count,
                                         f"at most {MAX_ENTRIES}"))
            return
        self.metadata_seen = True
        for index in range(count):
            entry = table[32 + 32 * index:64 + 32 * index]
            guid = uuid.UUID(bytes_le=entry[:16])
            offset, length, flags = struct.unpack_from("<III", entry, 16)
            if guid in self.item_offsets:
                problems.append(f"vhdx metadata item {guid} is listed twice")
                continue
            self.item_offsets[guid] = offset
            if guid not in KNOWN_ITEMS and flags & ITEM_IS_REQUIRED:
                problems.append(f"vhdx metadata item {guid} is required but "
                                "unknown")
            if guid not in WANTED_ITEMS:
                continue
            if (length != WANTED_ITEMS[guid] or offset < METADATA_TABLE_SIZE
                    or offset + length > region_length):
                problems.append(f"vhdx metadata item {guid} has a bad location "
                                f"(offset {offset}, length {length})")
                continue
            self.want(region_offset + offset, length,
                      partial(self.items.__setitem__, guid))

    # -- verdict -------------------------------------------------------------
    def conclude(self, total_size: int, tail: bytes) -> Finding | None:
        if not self.matched:
            return None
        finding = Finding(self.name, None, list(self.problems))
        problems = finding.problems
        self._check_headers(problems)
        for guid, (offset, length) in self.regions.items():
            if offset + length > total_size:
                problems.append(f"vhdx region {guid} extends past the end of "
                                "the file")
        if not self.metadata_seen:
            if not problems:
                problems.append("vhdx metadata table was not found")
            return finding
        if PARENT_LOCATOR in self.item_offsets:
            problems.append("vhdx image has a parent locator (a differencing "
                            "disk with a backing file)")
        for guid in WANTED_ITEMS:
            data = self.items.get(guid, b"")
            if len(data) != WANTED_ITEMS[guid]:
                problems.append(f"vhdx required metadata item {guid} is "
                                "missing")
                return finding
        block_size, flags = struct.unpack("<II", self.items[FILE_PARAMETERS])
        if flags & FILE_HAS_PARENT:
            problems.append("vhdx file parameters say it has a parent (a "
                            "backing file)")
        if not MIB <= block_size <= 256 * MIB or block_size & (block_size - 1):
            problems.append(out_of_range("vhdx", "block_size", block_size,
                                         "a power of two, 1..256 MiB"))
        sector_size = struct.unpack("<I", self.items[LOGICAL_SECTOR_SIZE])[0]
        if sector_size not in (512, 4096):
            problems.append(out_of_range("vhdx", "logical_sector_size",
                                         sector_size, "512 or 4096"))
        size = struct.unpack("<Q", self.items[VIRTUAL_DISK_SIZE])[0]
        finding.virtual_size = size
        if not 0 < size <= MAX_DISK_SIZE or size % 512:
            problems.append(out_of_range("vhdx", "virtual_disk_size", size,
                                         "a multiple of 512 up to 64 TiB"))
        return finding

    def _current_header(self) -> tuple[Any, ...] | None:
        """The header qemu would pick: valid checksum, highest sequence."""
        valid = []
        for block in self.headers.values():
            if len(block) == HEADER_SIZE and block.startswith(b"head") \
                    and checksum_ok(block):
                valid.append(_HEADER.unpack_from(block))
        return max(valid, key=lambda fields: fields[2]) if valid else None

    def _check_headers(self, problems: list[str]) -> None:
        current = self._current_header()
        if current is None:
            problems.append("vhdx has no valid header")
            return
        log_version, version = current[6], current[7]
        if version != 1 or log_version != 0:
            problems.append(f"vhdx version {version} (log version "
                            f"{log_version}) is not supported")
        if self.log_needs_replay:
            problems.append("vhdx image has a log that must be replayed "
                            "(qemu would write to it while opening)")
