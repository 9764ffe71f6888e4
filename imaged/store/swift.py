"""The swift store: each image an object in a container of OpenStack Swift,
the way Glance's swift store keeps images (single-tenant, Glance's default:
every image in one container of the account of imaged's own project).

    where     Swift is found in the catalog (type object-store) of imaged's
              service user, who logs in to identity as for every other call;
              its storage URL is http://host:port/v1/AUTH_<service project>
    upload    into the container (swift_store_container, made at the first
              upload when missing if swift_store_create_container_on_put);
              an image of at most swift_store_large_object_size MiB is one
              object named after the image id; a larger one is cut into
              segments of swift_store_large_object_chunk_size MiB,
              <image id>-00001, -00002..., each streamed to Swift as it
              arrives, and then a zero-byte manifest <image id> whose
              X-Object-Manifest header names the segments' prefix: a Dynamic
              Large Object, as Glance makes, which Swift serves as one
    location  swift+http://host:port/v1/AUTH_<project>/<container>/<image id>
              (the storage URL with a swift+ prefix, as Glance writes it)
    download  a GET of that object, streamed; a Range request is passed to
              Swift, which serves a range of a large object too
    delete    the segments first, then the object or manifest itself

Glance learns an image's size from the request before writing; imaged's
writer is only handed the data. So the first large_object_size bytes are
held in a local spool file (0600): if the data ends there, they go up as one
object; if more comes, they become the first segments and the rest streams
straight to Swift. Nothing piles up in memory.

A failed upload (the client went away, the data was refused, Swift went
down) removes what it had written: the spool, every segment already in
Swift, the manifest. When Swift cannot be reached to remove them, the image
id is recorded in a file beside the spool and a background thread tries
again until Swift answers (and imaged-api's next start tries too), so no
orphan segment outlives an outage.
"""
from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

from imaged.store.base import (
    DataNotFound,
    ImageData,
    LocationRefused,
    Store,
    StoreError,
    StoreFull,
    StoreWriter,
)
from imaged.store.orphans import Orphans
from shared.clients import Caller, ObjectStoreClient, RemoteError, ServiceSession
from shared.clients.object_store import stream
from shared.units import MiB

LOG = logging.getLogger(__name__)
SCHEME_PREFIX = "swift+"
READ_CHUNK = MiB


def segment_name(image_id: str, number: int) -> str:
    """Glance's segment names: <object>-00001, -00002..."""
    return f"{image_id}-{number:05d}"


def _as_store_error(exc: RemoteError, doing: str) -> StoreError:
    if not exc.reached:
        LOG.warning("%s", exc.message)
        return StoreError("The swift store cannot reach Swift or identity.")
    if exc.status == 507:
        return StoreFull(f"Swift has no space left ({doing}).")
    return StoreError(f"Swift refused {doing} ({exc.status}: {exc.message}).")


class _StreamingPut:
    """One object PUT to Swift while its data is still arriving: a thread
    runs the request, whose chunked body is fed through a short queue (so
    at most a few blocks wait in memory)."""

    _END, _CANCEL = object(), object()

    def __init__(self, client: ObjectStoreClient, caller: Caller, container: str, name: str):
        self._queue: queue.Queue = queue.Queue(maxsize=4)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(client, caller, container,
                                                                name), daemon=True)
        self._thread.start()

    def _body(self) -> Iterator[bytes]:
        while True:
            item = self._queue.get()
            if item is self._END:
                return
            if item is self._CANCEL:
                # Breaking the body off makes Swift drop the object unwritten.
                raise ConnectionAbortedError("upload cancelled")
            yield item

    def _run(self, client, caller, container, name) -> None:
        try:
            client.put_object(caller, container, name, self._body())
        except BaseException as exc:  # noqa: BLE001  (handed to the writing thread)
            self._error = exc

    def _put(self, item) -> None:
        while True:
            if self._error is not None or not self._thread.is_alive():
                self._raise()
            try:
                self._queue.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    def feed(self, data: bytes) -> None:
        self._put(data)

    def finish(self) -> None:
        """End the body and wait for Swift's answer; RemoteError if refused."""
        self._put(self._END)
        self._thread.join()
        if self._error is not None:
            self._raise()

    def cancel(self) -> None:
        """Break the PUT off (nothing of it is kept); raises nothing."""
        if self._thread.is_alive():
            with contextlib.suppress(queue.Full):
                self._queue.put(self._CANCEL, timeout=5)
            self._thread.join(timeout=30)

    def _raise(self) -> None:
        error = self._error
        if isinstance(error, RemoteError):
            raise error
        raise RemoteError("swift", 503, f"the upload to swift stopped: {error}",
                          reached=False)


class SwiftWriter(StoreWriter):
    """Spools up to large_object_size bytes; beyond that, segments."""

    def __init__(self, store: SwiftStore, image_id: str):
        self._store, self._image_id = store, image_id
        self._client, self._caller = store.writer_client()
        self._spool_path = store.staging / f"{image_id}.{uuid.uuid4().hex}.spool"
        self._spool = open(self._spool_path, "x+b")  # noqa: SIM115  (closed by _close_spool)
        os.chmod(self._spool_path, 0o600)
        self._spooled = 0
        self._segments = 0                       # segments begun in Swift
        self._segment_size = 0                   # bytes in the current segment
        self._put: _StreamingPut | None = None
        self._segmented = False
        self._done = False

    # --- the StoreWriter interface --------------------------------------------------------
    def write(self, data: memoryview) -> None:
        try:
            if not self._segmented:
                if self._spooled + len(data) <= self._store.large_object_size:
                    self._spool.write(data)
                    self._spooled += len(data)
                    return
                self._go_segmented()
            self._feed_segments(bytes(data))
        except RemoteError as exc:
            raise _as_store_error(exc, "a segment of the image") from None
        except OSError as exc:
            raise StoreError(f"Spooling image data failed: {exc.strerror}.") from None

    def commit(self) -> str:
        store = self._store
        try:
            if self._segmented:
                if self._put is not None:
                    self._put.finish()
                    self._put = None
                prefix = f"{store.container}/{self._image_id}-"
                self._client.put_object(self._caller, store.container, self._image_id, b"",
                                        headers={"X-Object-Manifest": prefix})
            else:
                self._spool.flush()
                self._spool.seek(0)
                # A file body: requests sends it with its length, from its position.
                self._client.put_object(self._caller, store.container, self._image_id,
                                        self._spool)
        except RemoteError as exc:
            self.abort()
            raise _as_store_error(exc, "the image") from None
        except BaseException:
            self.abort()
            raise
        self._done = True
        self._close_spool()
        return store.location(self._client.url, self._image_id)

    def abort(self) -> None:
        if self._done:
            return
        self._done = True
        self._close_spool()
        if self._put is not None:
            self._put.cancel()
            self._put = None
        if self._segments or self._segmented:
            self._store.remove_or_remember(self._client, self._image_id)

    # --- segments --------------------------------------------------------------------------
    def _go_segmented(self) -> None:
        """The data is larger than large_object_size: what was spooled
        becomes the first segments."""
        self._segmented = True
        self._spool.flush()
        self._spool.seek(0)
        while chunk := self._spool.read(4 * MiB):
            self._feed_segments(chunk)
        self._close_spool()

    def _feed_segments(self, data: bytes) -> None:
        chunk_size = self._store.large_object_chunk_size
        view = memoryview(data)
        while view:
            if self._put is None:
                self._segments += 1
                self._segment_size = 0
                self._put = _StreamingPut(self._client, self._caller, self._store.container,
                                          segment_name(self._image_id, self._segments))
            room = chunk_size - self._segment_size
            piece = view[:room]
            self._put.feed(bytes(piece))
            self._segment_size += len(piece)
            view = view[len(piece):]
            if self._segment_size == chunk_size:
                self._put.finish()
                self._put = None

    def _close_spool(self) -> None:
        if not self._spool.closed:
            self._spool.close()
        self._spool_path.unlink(missing_ok=True)


class SwiftStore(Store):
    name = "swift"
    schemes = ("swift+http", "swift+https")
    writable = True

    def __init__(self, session: ServiceSession, staging: Path, container: str = "glance",
                 create_container: bool = True, large_object_size_mib: int = 5120,
                 large_object_chunk_size_mib: int = 200, timeout: float = 300.0):
        self._session = session
        self._client: ObjectStoreClient | None = None
        self.staging = staging
        self.staging.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.container = container
        self.create_container = create_container
        self.large_object_size = large_object_size_mib * MiB
        self.large_object_chunk_size = large_object_chunk_size_mib * MiB
        self.timeout = timeout
        self._container_checked = False
        self._lock = threading.Lock()
        self.orphans = Orphans(staging, self._remove_orphans, "swift")

    def properties(self) -> dict:
        """What Glance shows of a swift store (sizes in bytes)."""
        return {"container": self.container, "large_object_size": self.large_object_size,
                "large_object_chunk_size": self.large_object_chunk_size}

    # --- the Store interface ------------------------------------------------------------
    def open_writer(self, image_id: str) -> StoreWriter:
        return SwiftWriter(self, image_id)

    def owns(self, url: str) -> bool:
        try:
            return self.split(url)[1] == self.container
        except LocationRefused:
            return False

    def open(self, url: str, offset: int = 0, length: int | None = None) -> ImageData:
        storage_url, container, name = self.split(url)
        client = ObjectStoreClient(self._session, storage_url, self.timeout)
        try:
            response = client.get_object(Caller(None), container, name, offset, length)
        except RemoteError as exc:
            raise _as_store_error(exc, "reading the image") from None
        if response is None:
            raise DataNotFound(f"The object {container}/{name} that held the image data is "
                               f"gone.")
        if response.status_code == 416:
            response.close()
            return ImageData(length=0, chunks=iter(()))
        produced = int(response.headers.get("Content-Length", 0))
        return ImageData(length=produced, chunks=_readable(stream(response, READ_CHUNK)),
                         close=response.close)

    def size_of(self, url: str) -> int:
        raise LocationRefused("swift locations cannot be added through the API: only imaged "
                              "itself writes into its swift store.")

    def delete(self, url: str) -> None:
        storage_url, container, name = self.split(url)
        client = ObjectStoreClient(self._session, storage_url, self.timeout)
        try:
            self._remove(client, container, name)
        except RemoteError as exc:
            raise _as_store_error(exc, "deleting the image") from None

    def remove_partial_writes(self) -> int:
        """Spools of uploads cut off by a crash, and the segments of failed
        uploads that Swift was not there to have removed."""
        removed = 0
        for spool in self.staging.glob("*.spool"):
            spool.unlink(missing_ok=True)
            removed += 1
        self.orphans.resume()
        return removed

    # --- Swift -------------------------------------------------------------------------
    def writer_client(self) -> tuple[ObjectStoreClient, Caller]:
        """Swift at the service user's storage URL, found in the catalog at
        first use; the container made when missing."""
        with self._lock:
            try:
                if self._client is None:
                    self._client = ObjectStoreClient.from_catalog(self._session, self.timeout)
                if not self._container_checked:
                    if not self._client.container_exists(Caller(None), self.container):
                        if not self.create_container:
                            raise StoreError(f"The swift store's container {self.container} "
                                             f"does not exist (and swift_store_create_"
                                             f"container_on_put is off).")
                        self._client.create_container(Caller(None), self.container)
                    self._container_checked = True
            except RemoteError as exc:
                if exc.reached and exc.status == 404:
                    raise StoreError("The swift store finds no object-store in the "
                                     "catalog.") from None
                raise _as_store_error(exc, "the image container") from None
        return self._client, Caller(None)

    def location(self, storage_url: str, image_id: str) -> str:
        return f"{SCHEME_PREFIX}{storage_url}/{self.container}/{image_id}"

    @staticmethod
    def split(url: str) -> tuple[str, str, str]:
        """(storage URL, container, object) of a location of this store."""
        parts = urlsplit(url)
        segments = parts.path.split("/")
        # "", "v1", "AUTH_<project>", container, object
        if not parts.scheme.startswith(SCHEME_PREFIX) or len(segments) != 5 \
                or segments[1] != "v1" or not all(segments[2:]):
            raise LocationRefused(f"{url} is not a location of the swift store.")
        scheme = parts.scheme[len(SCHEME_PREFIX):]
        return (f"{scheme}://{parts.netloc}/v1/{segments[2]}", unquote(segments[3]),
                unquote(segments[4]))

    def _remove(self, client: ObjectStoreClient, container: str, name: str) -> None:
        """The segments, then the object or manifest: nothing of it stays."""
        caller = Caller(None)
        for segment in client.list_objects(caller, container, prefix=f"{name}-"):
            client.delete_object(caller, container, segment)
        client.delete_object(caller, container, name)

    def remove_or_remember(self, client: ObjectStoreClient, image_id: str) -> None:
        """Remove a failed upload's objects now, or, when Swift cannot be
        reached, record them and keep trying in the background."""
        try:
            self._remove(client, self.container, image_id)
            return
        except RemoteError as exc:
            LOG.warning("could not remove the objects of failed upload %s yet: %s",
                        image_id, exc)
        self.orphans.remember(image_id, client.url)

    def _remove_orphans(self, image_id: str, storage_url: str) -> None:
        client = ObjectStoreClient(self._session, storage_url, self.timeout)
        self._remove(client, self.container, image_id)


def _readable(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Swift's chunks; a read that breaks off becomes a StoreError."""
    try:
        yield from chunks
    except RemoteError as exc:
        raise _as_store_error(exc, "reading the image") from None
