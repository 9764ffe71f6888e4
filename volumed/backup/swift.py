"""Backups in OpenStack Swift (Cinder's swift backup driver): a container is
a Swift container, an object a Swift object.

Where: the account of volumed's own service user (project `service`), whose
catalog's object-store entry gives the storage URL, as imaged's swift store
finds it; Cinder's default (single-tenant) keeps every backup in its own
account too, so a user cannot touch the backup objects directly. A backup
made without a container goes into backup_swift_container ("volumebackups",
Cinder's default), made at the first backup when missing.

An object appears whole or not at all because it is sent in one PUT, at
commit, and Swift stores an object only when its PUT completed (with the
md5 sent as ETag, Swift also refuses bytes that arrived damaged). Until
then the bytes wait in memory up to MEMORY_LIMIT and beyond that in an
anonymous temporary file (unlinked from the moment it is made), so a crash
leaves nothing anywhere; chunked.py keeps each object at most
backup_file_size bytes. A name is written once: the PUT carries
If-None-Match: *, which Swift answers 412 when the name exists.
"""
from __future__ import annotations

import hashlib
import io
import tempfile
import threading
from pathlib import Path
from typing import BinaryIO, cast

import requests

from shared.clients import Caller, ObjectStoreClient, RemoteError, ServiceSession
from shared.units import MiB
from volumed.backup.base import BackupStore, BackupStoreError, ObjectWriter
from volumed.domain.backups import check_container

DEFAULT_CONTAINER = "volumebackups"
MEMORY_LIMIT = 16 * MiB      # bytes of one object held in memory before spooling to disk
SERVICE = Caller(None)       # every call as volumed's service user, in its own account


def _store_error(exc: RemoteError, doing: str) -> BackupStoreError:
    if not exc.reached:
        return BackupStoreError(f"Swift could not be reached ({doing}): {exc.message}")
    return BackupStoreError(f"Swift refused {doing} ({exc.status}: {exc.message})")


class SwiftStore(BackupStore):
    service_name = "volumed.backup.swift"

    def __init__(self, session: ServiceSession, staging: Path,
                 container: str = DEFAULT_CONTAINER, timeout: float = 300.0):
        self._session = session
        self._client: ObjectStoreClient | None = None
        self._lock = threading.Lock()
        self.staging = Path(staging)
        self.container = container
        self.timeout = timeout

    def client(self) -> ObjectStoreClient:
        """Swift at the service user's storage URL, looked up in the catalog
        at first use (identity may start after volumed's workers)."""
        with self._lock:
            if self._client is None:
                try:
                    self._client = ObjectStoreClient.from_catalog(self._session, self.timeout)
                except RemoteError as exc:
                    if exc.reached and exc.status == 404:
                        raise BackupStoreError("backup_driver is swift but the catalog has "
                                               "no object-store endpoint") from None
                    raise _store_error(exc, "finding Swift in the catalog") from None
            return self._client

    def default_container(self, backup_id: str) -> str:
        return self.container

    @staticmethod
    def _name(container: str) -> str:
        """A Swift container is one path segment: no '/' (which check_container
        allows for posix's directories)."""
        try:
            safe = check_container(container)
        except Exception as exc:  # an ApiError: say it as a store error
            raise BackupStoreError(str(exc)) from None
        if not safe or "/" in safe:
            raise BackupStoreError(f"{container!r} is not a Swift container name (one "
                                   f"name, no '/')")
        return safe

    def put_container(self, container: str) -> None:
        try:
            self.client().create_container(SERVICE, self._name(container))
        except RemoteError as exc:
            raise _store_error(exc, f"making the container {container}") from None

    def list_objects(self, container: str, prefix: str) -> list[str]:
        try:
            return self.client().list_objects(SERVICE, self._name(container), prefix)
        except RemoteError as exc:
            raise _store_error(exc, f"listing {container}") from None

    def object_writer(self, container: str, name: str) -> ObjectWriter:
        container = self._name(container)
        client = self.client()
        try:
            if not client.container_exists(SERVICE, container):
                raise BackupStoreError(f"the container {container} does not exist")
            if client.head_object(SERVICE, container, name) is not None:
                raise BackupStoreError(f"the object {name} exists already in {container}")
        except RemoteError as exc:
            raise _store_error(exc, f"checking {container}/{name}") from None
        return SwiftWriter(client, container, name, self.staging)

    def open_object(self, container: str, name: str) -> BinaryIO:
        try:
            response = self.client().get_object(SERVICE, self._name(container), name)
        except RemoteError as exc:
            raise _store_error(exc, f"reading {container}/{name}") from None
        if response is None:
            raise BackupStoreError(f"the object {name} is missing from {container}")
        return cast(BinaryIO, io.BufferedReader(_ResponseReader(response)))

    def delete_object(self, container: str, name: str) -> None:
        try:
            self.client().delete_object(SERVICE, self._name(container), name)
        except RemoteError as exc:
            raise _store_error(exc, f"deleting {container}/{name}") from None

    def prune_container(self, container: str) -> None:
        """Kept: one container holds every backup (Cinder's volumebackups)."""

    def remove_leftovers(self) -> list[str]:
        """Nothing can be left: an unfinished writer never sent its PUT (or
        Swift dropped the PUT cut short), and its spool was an anonymous
        temporary file that vanished with the process."""
        return []


class SwiftWriter(ObjectWriter):
    """One object's bytes, held until commit sends them in one PUT."""

    def __init__(self, client: ObjectStoreClient, container: str, name: str, staging: Path):
        self.client, self.container, self.name = client, container, name
        self.staging = staging
        self.memory = bytearray()
        self.spool: BinaryIO | None = None
        self.md5 = hashlib.md5(usedforsecurity=False)

    def write(self, data: bytes) -> None:
        self.md5.update(data)
        if self.spool is None and len(self.memory) + len(data) <= MEMORY_LIMIT:
            self.memory += data
            return
        if self.spool is None:
            self.staging.mkdir(mode=0o700, parents=True, exist_ok=True)
            # TemporaryFile: no name on disk, gone when closed or at a crash.
            self.spool = cast(BinaryIO, tempfile.TemporaryFile(dir=self.staging))  # noqa: SIM115
            self.spool.write(self.memory)
            self.memory = bytearray()
        self.spool.write(data)

    def commit(self) -> None:
        body: bytes | BinaryIO = bytes(self.memory)
        if self.spool is not None:
            self.spool.flush()
            self.spool.seek(0)
            body = self.spool  # requests sends a file with its length
        headers = {"If-None-Match": "*", "ETag": self.md5.hexdigest()}
        try:
            self.client.put_object(SERVICE, self.container, self.name, body, headers=headers)
        except RemoteError as exc:
            if exc.status == 412:
                raise BackupStoreError(f"the object {self.name} exists already in "
                                       f"{self.container}") from None
            raise _store_error(exc, f"storing {self.container}/{self.name}") from None
        finally:
            self.discard()

    def discard(self) -> None:
        self.memory = bytearray()
        if self.spool is not None:
            self.spool.close()
            self.spool = None


class _ResponseReader(io.RawIOBase):
    """A streamed GET read as a file; a connection that breaks mid-object
    becomes BackupStoreError (chunked.py then fails the restore)."""

    def __init__(self, response: requests.Response):
        self.response = response

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            data = self.response.raw.read(len(buffer))
        except Exception as exc:  # urllib3's errors are not OSErrors
            raise BackupStoreError(f"reading from Swift failed: {exc}") from None
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        self.response.close()
        super().close()
