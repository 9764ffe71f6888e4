"""The backup repository interface (the seam between the chunked backup
logic and where backup objects live: posix.py keeps them as files, swift.py
as Swift objects).

As in Cinder's chunked driver, a backup is a set of named objects in a
container: data objects `<prefix>-00001`, `<prefix>-00002`... (a chunk of the
volume each, compressed), then `<prefix>_sha256file` (the sha256 of every
block, for incremental backups) and `<prefix>_metadata` (the list of objects
with their offsets, lengths, compression and md5), written last. A store
only keeps bytes under names; chunked.py decides what the bytes are.

Rules every store keeps:
- an object appears whole or not at all: a writer that is closed after an
  error (or never closed) leaves no object under that name;
- nothing outside the store's own place is ever read or written, whatever
  the container's name (domain.backups.check_container refuses names that
  climb out, and a store refuses them again).

Every operation that fails raises BackupStoreError (or OSError) with a
message fit for the log and for the backup's fail_reason.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import BinaryIO


class BackupStoreError(Exception):
    """A backup repository operation failed."""


class ObjectWriter(ABC):
    """Receives one object's bytes in order. Used as a context manager: a
    clean exit makes the object visible, an exception discards it."""

    @abstractmethod
    def write(self, data: bytes) -> None:
        """Append data to the object."""

    @abstractmethod
    def commit(self) -> None:
        """Make the object visible under its name (replacing nothing: a
        name is written once)."""

    @abstractmethod
    def discard(self) -> None:
        """Forget what was written; no object appears."""

    def __enter__(self) -> ObjectWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()


class BackupStore(ABC):
    """One backup repository. Containers and objects are named by strings;
    a container may hold the objects of several backups (each backup's
    names start with its own prefix)."""

    #: What the backups made by this store record as their service (Cinder
    #: records the driver); a backup restores only through the same kind.
    service_name: str = ""

    @abstractmethod
    def default_container(self, backup_id: str) -> str:
        """The container of a backup created without one. Raises nothing."""

    @abstractmethod
    def put_container(self, container: str) -> None:
        """Make the container if it does not exist (no error if it does).
        Raises BackupStoreError if it cannot be made."""

    @abstractmethod
    def list_objects(self, container: str, prefix: str) -> list[str]:
        """The names of the objects in `container` that start with `prefix`
        (any order). A container that does not exist holds nothing."""

    @abstractmethod
    def object_writer(self, container: str, name: str) -> ObjectWriter:
        """A writer for the new object `name` (see ObjectWriter). Raises
        BackupStoreError if the container is missing or the name exists."""

    @abstractmethod
    def open_object(self, container: str, name: str) -> BinaryIO:
        """The object's bytes, as a readable binary file (the caller closes
        it). Raises BackupStoreError (or OSError) if it does not exist."""

    @abstractmethod
    def delete_object(self, container: str, name: str) -> None:
        """Remove the object; one that is already gone is not an error."""

    @abstractmethod
    def prune_container(self, container: str) -> None:
        """Remove the container if it holds nothing any more, so that a
        backup that failed before its first object (a full disk, say) or
        was deleted leaves no empty container behind; a store whose
        containers are shared by every backup (Swift's volumebackups) may
        keep them. Raises nothing."""

    @abstractmethod
    def remove_leftovers(self) -> list[str]:
        """Delete what writers of unfinished operations left (never a whole
        object) and return their names, for the log. Only safe when no
        backup runs: at start-up."""
