"""The store interface: where image data lives.

A store keeps the bytes of images and knows nothing about image records. It
answers four questions: write this new image's data (a writer that can be
committed or aborted, so a failed upload leaves nothing behind), open a
location for reading (from an offset, for Range requests), how big is the
data at a location (for locations added by URL), and delete a location.

Each store is one file: file.py (the default, under the state directory)
and http.py (read-only: data served from a web server, never uploaded).
Later stores (a volume store on volumed, an object store, RBD) implement the
same class; multi-store means naming several instances of these.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import BinaryIO, Callable, Iterator
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


@dataclass
class ImageData:
    """Data on its way out. A store that has a real file hands it over
    positioned at the offset (the API can then let the kernel send it with
    sendfile); others hand over an iterator of chunks."""
    length: int                                  # bytes this read produces
    file: BinaryIO | None = None
    chunks: Iterator[bytes] | None = None
    close: Callable[[], None] = lambda: None


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
    schemes: tuple[str, ...] = ()
    writable: bool = True

    def handles(self, url: str) -> bool:
        return urlsplit(url).scheme in self.schemes

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
