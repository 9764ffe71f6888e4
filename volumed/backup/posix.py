"""Backups as files (Cinder's posix backup driver): a container is a
directory under backup_posix_path, an object a file in it.

The default container of a backup is <id[0:2]>/<id[2:4]>/<id>, as Cinder's.
Cinder makes directories 0770 and files 0660 for a group of backup
operators; here everything is root's only (0700, 0600), since the files
hold the users' data.

Each object is written as .tmp-<name> beside its final name and renamed
into place once complete (after fsync), so a crash never leaves a
truncated object under a real name; remove_leftovers clears the rest.
A full file system may show at any write, or only when the last buffered
bytes are flushed at commit: either way the object's temporary file goes
(nothing half-written waits for the next start) and the error says the
repository is full."""
from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path
from typing import BinaryIO

from volumed.backup.base import BackupStore, BackupStoreError, ObjectWriter
from volumed.domain.backups import check_container, default_container

TEMP_PREFIX = ".tmp-"


class PosixStore(BackupStore):
    service_name = "volumed.backup.posix"

    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)

    def default_container(self, backup_id: str) -> str:
        return default_container(backup_id)

    def _directory(self, container: str) -> Path:
        try:
            safe = check_container(container)
        except Exception as exc:  # an ApiError: say it as a store error
            raise BackupStoreError(str(exc)) from None
        if not safe:
            raise BackupStoreError("a backup needs a container")
        directory = (self.root / safe).resolve()
        if self.root.resolve() not in directory.parents:
            raise BackupStoreError(f"container {container!r} is outside the backup path")
        return directory

    def _object(self, container: str, name: str) -> Path:
        if "/" in name or name.startswith(".") or not name:
            raise BackupStoreError(f"bad object name {name!r}")
        return self._directory(container) / name

    def put_container(self, container: str) -> None:
        directory = self._directory(container)
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise BackupStoreError(f"cannot make the container {container}: {exc}") from None

    def list_objects(self, container: str, prefix: str) -> list[str]:
        directory = self._directory(container)
        if not directory.is_dir():
            return []
        return [entry.name for entry in directory.iterdir()
                if entry.name.startswith(prefix) and not entry.name.startswith(TEMP_PREFIX)
                and entry.is_file()]

    def object_writer(self, container: str, name: str) -> ObjectWriter:
        path = self._object(container, name)
        if not path.parent.is_dir():
            raise BackupStoreError(f"the container {container} does not exist")
        if path.exists():
            raise BackupStoreError(f"the object {name} exists already in {container}")
        return FileWriter(path)

    def open_object(self, container: str, name: str) -> BinaryIO:
        path = self._object(container, name)
        try:
            return open(path, "rb")
        except FileNotFoundError:
            raise BackupStoreError(f"the object {name} is missing from {container}") \
                from None

    def delete_object(self, container: str, name: str) -> None:
        self._object(container, name).unlink(missing_ok=True)
        _remove_empty_parents(self._directory(container), self.root)

    def prune_container(self, container: str) -> None:
        with contextlib.suppress(BackupStoreError):
            _remove_empty_parents(self._directory(container), self.root)

    def remove_leftovers(self) -> list[str]:
        removed = []
        for leftover in self.root.rglob(f"{TEMP_PREFIX}*"):
            leftover.unlink(missing_ok=True)
            removed.append(str(leftover.relative_to(self.root)))
        return removed


class FileWriter(ObjectWriter):
    def __init__(self, final: Path):
        self.final = final
        self.temp = final.with_name(f"{TEMP_PREFIX}{final.name}")
        with _saying_when_full():
            fd = os.open(self.temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self.handle = os.fdopen(fd, "wb")

    def write(self, data: bytes) -> None:
        with _saying_when_full():
            self.handle.write(data)

    def commit(self) -> None:
        try:
            with _saying_when_full():
                self.handle.flush()
                os.fsync(self.handle.fileno())
                self.handle.close()
            os.link(self.temp, self.final)  # fails if the name exists: never replaces
        except FileExistsError:
            raise BackupStoreError(f"the object {self.final.name} exists already") from None
        finally:
            self.discard()

    def discard(self) -> None:
        """The temporary file goes first: closing may try to flush bytes a
        full disk has no room for, and fail."""
        self.temp.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self.handle.close()


@contextlib.contextmanager
def _saying_when_full():
    """ENOSPC (or a quota) as a BackupStoreError, the backup's fail_reason."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        raise BackupStoreError(f"{exc.strerror}: the backup repository is full") from None


def _remove_empty_parents(directory: Path, root: Path) -> None:
    """A deleted backup leaves no empty directories behind (up to the root)."""
    root = root.resolve()
    while directory != root and root in directory.parents:
        try:
            directory.rmdir()
        except OSError:
            return
        directory = directory.parent
