"""copy-image's source: the data of an active image, read from the best of
its stores (Stores.open_best: heaviest first, falling back to the others)
the way upload's stream_into_store reads a request body, so that each copy
is hashed (and compared with the image's checksum) on its way into the new
store."""
from __future__ import annotations

import io
from collections.abc import Iterator
from typing import cast

from imaged.domain.image import Image
from imaged.incoming import IncomingData
from imaged.store import Stores
from imaged.store.base import ImageData


class StoredSource(IncomingData):
    expected = None
    direct = False

    def __init__(self, data: ImageData):
        self._data = data
        self._chunks: Iterator[bytes] = iter(data.chunks if data.chunks is not None else ())
        self._left = b""

    @classmethod
    def open(cls, stores: Stores, image: Image) -> StoredSource:
        return cls(stores.open_best(image.locations))

    def readinto(self, buffer: bytearray) -> int:
        view, filled = memoryview(buffer), 0
        while filled < len(view):
            count = self._read_some(view[filled:])
            if not count:
                break
            filled += count
        return filled

    def _read_some(self, view: memoryview) -> int:
        if self._data.file is not None:
            # Stores hand over files opened unbuffered (FileIO), which read into a buffer.
            return cast(io.RawIOBase, self._data.file).readinto(view) or 0
        if not self._left:
            self._left = next(self._chunks, b"")
        count = min(len(view), len(self._left))
        view[:count] = self._left[:count]
        self._left = self._left[count:]
        return count

    def finish(self) -> None:
        self._data.close()
