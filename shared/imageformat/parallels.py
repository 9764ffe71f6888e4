"""Parallels / Virtuozzo "ploop" images (qemu driver ``parallels``).

Why detect it: qemu probes this format by its magic, so an image that is
parallels inside but registered as "raw" would be read differently by a
qemu that was not told ``-f raw``.  Detecting it lets :mod:`.policy`
accept it only for disk_format ``ploop``.  The format has no backing
files; we refuse inconsistent headers (a catalogue that cannot cover the
disk, absurd cluster sizes) and images left "in use": qemu repairs those
on open, i.e. writes to them.

Header (little-endian, qemu ``block/parallels.c``): magic (16 bytes),
version, heads, cylinders, tracks (sectors per cluster), bat_entries,
nb_sectors (u64), inuse, data_off, flags.
"""

from __future__ import annotations

import struct

from .base import Finding, FormatProbe, check_virtual_size, out_of_range

MAGICS = (b"WithoutFreeSpace", b"WithouFreSpacExt")
HEADER_VERSION = 2
INUSE_MAGIC = 0x746F6E59
_HEADER = struct.Struct("<16sIIIIIQIII")
MAX_TRACKS = 0x7FFFFFFF // 513  # qemu: "Too big cluster"


class ParallelsProbe(FormatProbe):
    name = "parallels"

    def start(self) -> None:
        self.header = b""
        self.want(0, 64, self._got_header)

    def _got_header(self, data: bytes) -> None:
        self.header = data

    def conclude(self, total_size: int, tail: bytes) -> Finding | None:
        data = self.header
        if data[:16] not in MAGICS:
            return None
        finding = Finding(self.name)
        problems = finding.problems
        if len(data) < _HEADER.size:
            problems.append(f"parallels header is truncated ({len(data)} bytes)")
            return finding
        (magic, version, _heads, _cylinders, tracks, bat_entries, sectors,
         inuse, _data_off, _flags) = _HEADER.unpack_from(data)
        if magic == MAGICS[0]:  # the old format only has a 32-bit size
            sectors &= 0xFFFFFFFF
        finding.virtual_size = sectors * 512
        if version != HEADER_VERSION:
            problems.append(f"parallels version {version} is not supported")
            return finding
        if not 0 < tracks <= MAX_TRACKS:
            problems.append(out_of_range("parallels", "tracks", tracks,
                                         f"1..{MAX_TRACKS}"))
            return finding
        check_virtual_size("parallels", finding.virtual_size, problems)
        if bat_entries * tracks < sectors:
            problems.append(f"parallels block catalogue covers "
                            f"{bat_entries * tracks} sectors, less than the "
                            f"{sectors} sector disk")
        if _HEADER.size + 4 * bat_entries > total_size:
            problems.append("parallels block catalogue extends past the end of "
                            "the file")
        if inuse == INUSE_MAGIC:
            problems.append("parallels image was not closed cleanly (qemu "
                            "would repair, i.e. write to, it on open)")
        return finding
