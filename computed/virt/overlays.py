"""qcow2 overlays made once by qemu-img, then written again from memory.

`qemu-img create -f qcow2 -b BASE -F FORMAT PATH SIZE` is a process of its
own: 10 ms on a quiet machine, more beside a guest starting, and a launch
makes three (vda on the image's base, vdb and the swap on their formatted
templates). The file it writes depends only on the backing file's name and
format and on the virtual size: qcow2 records nothing of the overlay's own
(no name, no time, no identifier), so every overlay on the same base at the
same size is the same file, byte for byte, about 200 KiB of header and
empty tables. The first one made is kept in memory, and the next is that
file written anew: what `qemu-img info` and QEMU see is what qemu-img would
have written. (`qemu-img compare` or `cmp` on two servers' fresh overlays
shows it.)
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

from computed.virt import qemu_img

QCOW2_MAGIC = b"QFI\xfb"
KEPT = 32  # overlays kept (a base and a size each): bases come and go with images


class Overlays:
    def __init__(self, kept: int = KEPT):
        self._kept: OrderedDict[tuple[str, str, int | None], bytes] = OrderedDict()
        self._limit = kept
        self._lock = threading.Lock()

    def create(self, path: Path, base: Path, base_format: str,
               size_bytes: int | None) -> None:
        """What qemu_img.create_overlay makes, at `path` (a file there is
        replaced, as qemu-img replaces it: a resize makes the swap anew).
        Raises QemuImgError as qemu-img would."""
        key = (str(base), base_format, size_bytes)
        with self._lock:
            pristine = self._kept.get(key)
            if pristine is not None:
                self._kept.move_to_end(key)
        if pristine is None:
            qemu_img.create_overlay(path, base, base_format, size_bytes)
            self._keep(key, path.read_bytes())  # nothing wrote to it yet
            return
        if not base.exists():  # as qemu-img, which opens the base for its size
            raise qemu_img.QemuImgError(f"qemu-img create failed: Could not open "
                                        f"backing file '{base}': No such file")
        path.write_bytes(pristine)

    def _keep(self, key: tuple[str, str, int | None], made: bytes) -> None:
        if not made.startswith(QCOW2_MAGIC):
            return  # not what it should be: not kept, each next one made anew
        with self._lock:
            self._kept[key] = made
            self._kept.move_to_end(key)
            while len(self._kept) > self._limit:
                self._kept.popitem(last=False)
