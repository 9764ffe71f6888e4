"""A minimal writer for the "newc" cpio format the Linux kernel unpacks as
its initramfs.

Writing the archive ourselves (rather than `find | cpio -o`) lets an
unprivileged build put root-owned files and the /dev/console device node in
it, and makes the archive byte-for-byte reproducible (fixed mtimes).
Format: for each entry a 110-byte ASCII header, the NUL-terminated name padded
to 4 bytes, then the data padded to 4 bytes; a "TRAILER!!!" entry ends it.
"""
from __future__ import annotations

import stat
from dataclasses import dataclass, field

MAGIC = b"070701"


def _pad4(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


@dataclass
class CpioWriter:
    """Collects entries in memory; `getvalue()` returns the archive."""
    _chunks: list[bytes] = field(default_factory=list)
    _next_inode: int = 1

    def _entry(self, name: str, mode: int, data: bytes = b"",
               rdev: tuple[int, int] = (0, 0)) -> None:
        encoded = name.encode() + b"\0"
        fields = [
            self._next_inode, mode, 0, 0,  # inode, mode, uid, gid (root)
            2 if stat.S_ISDIR(mode) else 1,  # nlink
            0, len(data),                    # mtime (fixed), file size
            0, 0, rdev[0], rdev[1],          # dev major/minor, rdev major/minor
            len(encoded), 0,                 # name size, checksum (unused)
        ]
        self._next_inode += 1
        header = MAGIC + b"".join(b"%08X" % value for value in fields)
        self._chunks.append(_pad4(header + encoded))
        self._chunks.append(_pad4(data))

    def directory(self, name: str, perm: int = 0o755) -> None:
        self._entry(name, stat.S_IFDIR | perm)

    def file(self, name: str, data: bytes, perm: int = 0o644) -> None:
        self._entry(name, stat.S_IFREG | perm, data)

    def symlink(self, name: str, target: str) -> None:
        self._entry(name, stat.S_IFLNK | 0o777, target.encode())

    def char_device(self, name: str, major: int, minor: int, perm: int = 0o600) -> None:
        self._entry(name, stat.S_IFCHR | perm, rdev=(major, minor))

    def getvalue(self) -> bytes:
        trailer = CpioWriter(_next_inode=0)
        trailer._entry("TRAILER!!!", 0)
        return b"".join(self._chunks + trailer._chunks)
