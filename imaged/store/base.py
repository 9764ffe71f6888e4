"""The store interface: where image data lives.

A store keeps the bytes of images and knows nothing about image records. It
answers four questions: write this new image's data (a writer that can be
committed or aborted, so a failed upload leaves nothing behind), open a
location for reading (from an offset, for Range requests), how big is the
data at a location (for locations added by URL), and delete a location.

Each store is one file: file.py (the default, under the state directory),
http.py (read-only: data served from a web server, never uploaded),
volume.py (each image in a volume of volumed), rbd.py (each image an
RBD image in a Ceph pool, with a protected snapshot to clone from) and
swift.py (each image an object, or segments and a manifest, in Swift). They, and the fakes of the
unit tests, implement the abstract classes below, whose docstrings are the
contract: parameters, result, what is raised and what must be cleaned up
when an operation fails. Multi-store means naming several instances of these
(two file stores in two directories...), each with its own store_id.
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


class InUseByStore(StoreError):
    """The data is in use inside the store, outside imaged (an RBD snapshot
    with copy-on-write clones): delete() refused it and changed nothing.
    The message says by what. Glance's InUseByStore: the image stays as it
    was and the delete answers 409."""


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
    """New data being written, from Store.open_writer(). The caller writes
    the whole image, then ends the writer with exactly one of commit() (the
    data was accepted) or abort() (it was not: the upload failed or its
    checks refused it); a writer never leaves data behind unless committed."""

    @abc.abstractmethod
    def write(self, data: memoryview) -> None:
        """Append all of `data` (the caller passes large blocks, 1 MiB or more).

        Raises StoreFull when the medium is full, StoreError for any other
        failure. The caller then calls abort(): write itself need not clean up.
        """

    @abc.abstractmethod
    def commit(self) -> str:
        """Make the data permanent and return its location URL (a URL this
        store handles and owns, which open() and delete() take).

        Raises StoreError when the data cannot be made permanent; then
        nothing of it may remain (commit removes what it had begun: a
        half-made volume, a staging file) and abort() is not needed.
        """

    @abc.abstractmethod
    def abort(self) -> None:
        """Remove whatever was written. Safe to call more than once, and
        after a failed write; raises nothing a caller must handle."""


class Store(abc.ABC):
    """Where image data lives: one instance per store the operator named.

    The attributes say what kind of store this is and how the API shows it;
    the four abstract operations are what every store must do; handles,
    owns, properties and remove_partial_writes have defaults a store
    overrides when it has more to say. Errors are StoreError or one of its
    subclasses, with a message safe to show a user.
    """
    name: str = ""        # the kind of store: file, http, volume, rbd, swift
    #: The name the operator gave this store in imaged-api.conf (the kind,
    #: when stores are not named); locations record it as metadata "store".
    store_id: str = ""
    description: str = ""
    #: Downloads try the locations of the heaviest stores first (Glance's weight).
    weight: int = 0
    #: Shown by GET /v2/info/stores (False for the stores imaged adds itself).
    listed: bool = True
    #: The URL schemes of this store's locations (file, http, cinder).
    schemes: tuple[str, ...] = ()
    #: False for a store that only serves data (open_writer raises ReadOnlyStore).
    writable: bool = True

    def handles(self, url: str) -> bool:
        """Whether the URL is of a kind this store reads (by its scheme)."""
        return urlsplit(url).scheme in self.schemes

    def owns(self, url: str) -> bool:
        """Whether a URL this store handles is its own (not another store's
        of the same kind: a file store, only files in its directory)."""
        return True

    def properties(self) -> dict:
        """What GET /v2/info/stores/detail shows of this store's settings."""
        return {}

    @abc.abstractmethod
    def open_writer(self, image_id: str) -> StoreWriter:
        """A writer for the data of a new image `image_id`.

        Raises ReadOnlyStore for a store that takes no data, StoreError when
        a writer cannot be started (e.g. that image is already being
        written). Nothing is left behind when it raises; once it returns,
        the caller owns the writer and must commit() or abort() it.
        """

    @abc.abstractmethod
    def open(self, url: str, offset: int = 0, length: int | None = None) -> ImageData:
        """Read `length` bytes (None: to the end) of the data at `url`,
        starting at `offset` (a Range request).

        Returns an ImageData whose length is what the read produces (less
        than asked near the end); the caller must call its close().
        Raises DataNotFound when nothing is at the location any more,
        LocationRefused for a URL that is not this store's, StoreError when
        the store cannot be reached. Nothing stays open when it raises.
        """

    @abc.abstractmethod
    def size_of(self, url: str) -> int:
        """The size in bytes of the data at `url`, for a location a user adds.

        Raises LocationRefused when a user may not add such a location (a
        store imaged writes itself refuses them all), or when the data
        cannot be reached or does not say its size. Changes nothing.
        """

    @abc.abstractmethod
    def delete(self, url: str) -> None:
        """Remove the data at `url` for good; a location whose data is
        already gone is not an error, and a read-only store leaves the data
        it only pointed at.

        Raises LocationRefused for a URL that is not this store's,
        InUseByStore when the store refuses because the data is in use
        (nothing was removed; the caller keeps the image as it was), and
        StoreError when the store fails (callers log it: the image record no
        longer points at the data, so nothing is left half done).
        """

    def remove_partial_writes(self) -> int:
        """Remove what writers left unfinished when their process died (only
        called while no writer can be running: at imaged-api's start).
        Returns how many were removed; stores that write nothing partial
        have nothing to do."""
        return 0
