"""Filling the cache while a download streams: the tee.

The first full download of a remote image goes to the client and, chunk by
chunk, into a file under incomplete/. The copy is renamed into data/ and
recorded only when every byte has arrived and its md5 is the image's
checksum (an image added by location without validation_data has none:
then the size alone is checked). A client that goes away, a store that
breaks off or a full disk leave no entry: the partial file is removed. A
failure of the cache never fails the download itself.

A download fills the cache only for images in a remote store
(REMOTE_STORES): the http store reads from a web server, the volume store
attaches a volume over iSCSI for every read. A file-store image is already a
local file that the kernel sends with sendfile, so a copy made on the way
would only use the disk twice. An image an admin asks for (PUT
/v2/cache/{id}, the prefetcher) is cached wherever it lives, as Glance does,
and a cached copy serves downloads whatever its store.
"""
from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterator

from imaged.cache.entries import CacheEntries
from imaged.domain.image import Image
from imaged.store.base import ImageData, Store
from shared.units import MiB

LOG = logging.getLogger(__name__)
REMOTE_STORES = ("http", "volume")
READ_BLOCK = MiB


def is_remote(store: Store) -> bool:
    return store.name in REMOTE_STORES


class CacheFill:
    """One copy being written. The O_EXCL open makes this worker the only
    writer of the image's copy; another worker that tries at the same time
    gets FileExistsError and just serves its download without caching."""

    def __init__(self, entries: CacheEntries, image: Image, location: str):
        self.entries, self.image, self.location = entries, image, location
        self.expected = image.size or 0
        self.partial = entries.incomplete_path(image.id)
        self._fd: int | None = os.open(self.partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                                       0o600)
        self._md5 = hashlib.md5(usedforsecurity=False)
        self.written = 0
        self.committed = False

    @property
    def complete(self) -> bool:
        return self.written >= self.expected

    def write(self, chunk: bytes) -> None:
        view = memoryview(chunk)
        assert self._fd is not None, "write after commit or abort"
        while view:
            view = view[os.write(self._fd, view):]
        self._md5.update(chunk)
        self.written += len(chunk)

    def commit(self) -> bool:
        """Put the copy in place if it is the image's data; else drop it."""
        assert self._fd is not None, "commit after commit or abort"
        try:
            os.fsync(self._fd)
        finally:
            self._close()
        checksum = self._md5.hexdigest()
        if self.written != self.expected or (self.image.checksum
                                              and checksum != self.image.checksum):
            LOG.warning("not caching image %s: got %d bytes with md5 %s, the image has %d "
                        "bytes with md5 %s", self.image.id, self.written, checksum,
                        self.expected, self.image.checksum)
            self.abort()
            return False
        os.rename(self.partial, self.entries.data_path(self.image.id))
        self.entries.index.add(self.image.id, self.location, self.image.checksum,
                               self.written)
        self.committed = True
        return True

    def abort(self) -> None:
        """Remove the partial copy. Safe to call more than once."""
        self._close()
        if not self.committed:
            self.partial.unlink(missing_ok=True)

    def _close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)


def start_fill(entries: CacheEntries, image: Image, location: str) -> CacheFill | None:
    """A new fill, or None: another worker is writing this copy, or the
    image alone is bigger than the whole cache may be."""
    if (image.size or 0) > entries.max_size:
        return None
    try:
        return CacheFill(entries, image, location)
    except FileExistsError:
        return None
    except OSError as exc:
        LOG.warning("cannot cache image %s: %s", image.id, exc)
        return None


def tee(chunks: Iterator[bytes], fill: CacheFill) -> Iterator[bytes]:
    """Yield the chunks, writing each into the fill on the way. The copy is
    committed before the last chunk goes out, so that a client that has its
    download finds the image cached."""
    current: CacheFill | None = fill
    try:
        for chunk in chunks:
            if current is not None:
                current = _guarded(current, lambda f, chunk=chunk: f.write(chunk) or not f.complete)
            yield chunk
        if current is not None:  # fewer bytes than the image has: refused, removed
            current = _guarded(current, lambda f: False)
    finally:
        if current is not None:
            current.abort()


def _guarded(fill: CacheFill, step) -> CacheFill | None:
    """Run step(fill) (True: more to come); commit when it is done. The
    fill, or None once it is committed or given up (never an exception:
    the download goes on whatever happens to the copy)."""
    try:
        if step(fill):
            return fill
        fill.commit()
    except Exception as exc:  # noqa: BLE001
        LOG.warning("stopped caching image %s: %s", fill.image.id, exc)
        fill.abort()
    return None


def chunks_of(data: ImageData) -> Iterator[bytes]:
    """The chunks of data from a store, whether it handed over a file or chunks."""
    if data.chunks is not None:
        yield from data.chunks
        return
    assert data.file is not None, "ImageData holds chunks or a file"
    left = data.length
    while left > 0:
        block = data.file.read(min(READ_BLOCK, left))
        if not block:
            return
        left -= len(block)
        yield block


def open_for_download(entries: CacheEntries | None, store: Store, image: Image,
                      location: str, offset: int, length: int | None) -> ImageData:
    """The data a download sends: the cached copy when there is one, else
    the store's, teed into the cache when it is a full read of a remote
    image. Ranges of an image not yet cached are read from the store."""
    if entries is None:
        return store.open(location, offset, length)
    cached = entries.open(image, location, offset, length)
    if cached is not None:
        return cached
    data = store.open(location, offset, length)
    if offset or length is not None or not is_remote(store):
        return data
    return ImageData(length=data.length, close=data.close,
                     chunks=_filling(chunks_of(data), entries, image, location))


def _filling(chunks: Iterator[bytes], entries: CacheEntries, image: Image,
             location: str) -> Iterator[bytes]:
    """The chunks, teed into a new copy when this worker may write one. The
    fill starts at the first chunk asked for: a response that is never sent
    (HEAD, a client gone before the first byte) leaves no partial file."""
    fill = start_fill(entries, image, location)
    yield from chunks if fill is None else tee(chunks, fill)
