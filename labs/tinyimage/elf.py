"""Read, from an ELF program or shared library, what the dynamic loader will
need to run it: its program interpreter (PT_INTERP, the loader itself) and
the shared libraries it names (DT_NEEDED entries).

This is what `readelf -d` and `ldd` show, read here with `struct` so that the
image builder needs no binutils and never runs a binary it only packages.
Only what the tiny image uses is supported: 64-bit little-endian ELF
(x86_64).  Layout (see elf(5)):

    ELF header      e_phoff (program headers' offset), e_phentsize, e_phnum
    program header  p_type, p_offset, p_vaddr, p_filesz: PT_LOAD segments map
                    file ranges to addresses; PT_DYNAMIC is the dynamic
                    section; PT_INTERP holds the loader's path
    dynamic section (d_tag, d_val) pairs up to DT_NULL; DT_STRTAB is the
                    *address* of the string table, DT_NEEDED an offset in it
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

PT_LOAD, PT_DYNAMIC, PT_INTERP = 1, 2, 3
DT_NULL, DT_NEEDED, DT_STRTAB = 0, 1, 5

_ELF_HEADER = struct.Struct("<16sHHIQQQIHHHHHH")
# type, flags, offset, vaddr, paddr, filesz, memsz, align
_PROGRAM_HEADER = struct.Struct("<IIQQQQQQ")
_DYNAMIC_ENTRY = struct.Struct("<qQ")  # tag, value


class ElfError(ValueError):
    """Not an ELF file this module can read."""


@dataclass(frozen=True)
class Segment:
    kind: int
    offset: int
    vaddr: int
    filesz: int


@dataclass(frozen=True)
class DynamicInfo:
    interpreter: str | None   # e.g. /lib64/ld-linux-x86-64.so.2 (programs only)
    needed: list[str]         # sonames, e.g. ["libz.so.1", "libc.so.6"]


def _segments(data: bytes) -> list[Segment]:
    if len(data) < _ELF_HEADER.size or data[:4] != b"\x7fELF":
        raise ElfError("not an ELF file")
    if data[4] != 2 or data[5] != 1:
        raise ElfError("only 64-bit little-endian ELF files are supported")
    header = _ELF_HEADER.unpack_from(data)
    phoff, phentsize, phnum = header[5], header[9], header[10]
    segments = []
    for index in range(phnum):
        kind, _flags, offset, vaddr, _paddr, filesz, _memsz, _align = \
            _PROGRAM_HEADER.unpack_from(data, phoff + index * phentsize)
        segments.append(Segment(kind, offset, vaddr, filesz))
    return segments


def _file_offset(segments: list[Segment], address: int) -> int:
    """Where in the file the byte loaded at `address` comes from."""
    for segment in segments:
        if segment.kind == PT_LOAD and segment.vaddr <= address < segment.vaddr + segment.filesz:
            return address - segment.vaddr + segment.offset
    raise ElfError(f"address {address:#x} is in no loaded segment")


def _c_string(data: bytes, offset: int) -> str:
    return data[offset:data.index(b"\0", offset)].decode()


def dynamic_info(path: Path) -> DynamicInfo:
    """The interpreter and the DT_NEEDED sonames of the ELF file at `path`
    (a static program has neither)."""
    data = Path(path).read_bytes()
    segments = _segments(data)
    interpreter = next((_c_string(data, s.offset) for s in segments if s.kind == PT_INTERP),
                       None)
    dynamic = next((s for s in segments if s.kind == PT_DYNAMIC), None)
    if dynamic is None:
        return DynamicInfo(interpreter, [])
    entries = []
    for position in range(dynamic.offset, dynamic.offset + dynamic.filesz, _DYNAMIC_ENTRY.size):
        tag, value = _DYNAMIC_ENTRY.unpack_from(data, position)
        if tag == DT_NULL:
            break
        entries.append((tag, value))
    strtab = next((value for tag, value in entries if tag == DT_STRTAB), None)
    if strtab is None:
        raise ElfError(f"{path}: a dynamic section without a string table")
    table = _file_offset(segments, strtab)
    needed = [_c_string(data, table + value) for tag, value in entries if tag == DT_NEEDED]
    return DynamicInfo(interpreter, needed)
