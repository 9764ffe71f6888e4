"""The store interface: where image data lives.

A store keeps the bytes of images and knows nothing about image records. It
answers four questions: write this new image's data (a writer that can be
committed or aborted, so a failed upload leaves nothing behind), open a
location for reading (from an offset, for Range requests), how big is the
data at a location (for locations added by URL), and delete a location.

Each store is one file: file.py (the default, under the state directory)
and http.py (read-only: data served from a web server, never uploaded).
Later stores (a volume store on volumed, an object store, RBD) implement the
same class; multi-store means naming several instances of these (two file
stores in two directories...), each with its own store_id.
"""
from __future__ import annotations

import abc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import urlsplit


class StoreError(Exception):
    """The store failed (the message is safe to show a user)."""


class StoreFull(StoreError):
    """No space left where the store writes."""


class DataNotFound(StoreError):
    """Nothing at that location (any more)."""


class LocationRefused(StoreError):
    """A location a user asked for that this store will not use."""


class ReadOnlyStore(StoreError):
    pass


class UnknownStore(StoreError):
    """A store id that names no configured store (the message lists them)."""

    def __init__(self, store_id: str, available: list[str]):
        self.store_id, self.available = store_id, available
        super().__init__(f"Unknown store {store_id!r} (available: "
                         f"{', '.join(available) or 'none'}).")


@dataclass
class ImageData:
    """Data on its way out. A store that has a real file hands it over
    positioned at the offset (the API can then let the kernel send it with
    sendfile); others hand over an iterator of chunks."""
    length: int                                  # bytes this read produces
    file: BinaryIO | None = None
    chunks: Iterator[bytes] | None = None
    close: Callable[[], None] = lambda: None

    @classmethod
    def of_file(cls, handle: BinaryIO, size: int, offset: int,
                length: int | None) -> ImageData:
        """`length` bytes (None: to the end) of an open file of `size` bytes,
        from `offset`: the handle is positioned there and closed with the read."""
        handle.seek(offset)
        available = max(size - offset, 0)
        return cls(length=available if length is None else min(length, available),
                   file=handle, close=handle.close)


class StoreWriter(abc.ABC):
    """New data being written. Exactly one of commit() or abort() ends it."""

    @abc.abstractmethod
    def write(self, data: memoryview) -> None:
        """Write all of data (large writes: the caller passes 1 MiB or more)."""

    @abc.abstractmethod
    def commit(self) -> str:
        """Make the data permanent and return its location URL."""

    @abc.abstractmethod
    def abort(self) -> None:
        """Remove whatever was written. Safe to call more than once."""


class Store(abc.ABC):
    name: str = ""        # the kind of store: file, http, volume
    #: The name the operator gave this store in imaged-api.conf (the kind,
    #: when stores are not named); locations record it as metadata "store".
    store_id: str = ""
    description: str = ""
    #: Downloads try the locations of the heaviest stores first (Glance's weight).
    weight: int = 0
    #: Shown by GET /v2/info/stores (False for the stores imaged adds itself).
    listed: bool = True
    schemes: tuple[str, ...] = ()
    writable: bool = True

    def handles(self, url: str) -> bool:
        return urlsplit(url).scheme in self.schemes

    def owns(self, url: str) -> bool:
        """Whether a URL this store handles is its own (not another store's
        of the same kind: a file store, only files in its directory)."""
        return True

    def properties(self) -> dict:
        """What GET /v2/info/stores/detail shows of this store's settings."""
        return {}

    @abc.abstractmethod
    def open_writer(self, image_id: str) -> StoreWriter: ...

    @abc.abstractmethod
    def open(self, url: str, offset: int = 0, length: int | None = None) -> ImageData:
        """Read `length` bytes (None: to the end) from `offset`."""

    @abc.abstractmethod
    def size_of(self, url: str) -> int:
        """Bytes at the location; LocationRefused when a user may not add it."""

    @abc.abstractmethod
    def delete(self, url: str) -> None:
        """Remove the data (a read-only store leaves data it does not own)."""

    def remove_partial_writes(self) -> int:
        """Remove what writers left unfinished when their process died (only
        called while no writer can be running: at imaged-api's start).
        Returns how many were removed; stores that write nothing partial
        have nothing to do."""
        return 0
