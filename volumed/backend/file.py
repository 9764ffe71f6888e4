"""Volumes as sparse raw files: <volumes_dir>/volume-<id>, snapshots as
<volumes_dir>/snapshot-<id>.

A 10 GiB volume costs no disk until it is written (a sparse file); tgtd
serves the file as a LUN as it is. Copies (clones, snapshots) use
`cp --sparse=always --reflink=auto`, which keeps holes as holes and shares
blocks on file systems that can.

Every new file is built as .tmp-<random>-<name> and then hard-linked to its
final name: link() fails if the name exists, so nothing is ever replaced,
and a crash at any moment leaves either no volume or the whole volume.

A file system that fills up half way through a copy shows as an OSError of
our own writes or as cp's message; both are said the same way (`_full`),
without the host's paths, since the message reaches the user's events."""
from __future__ import annotations

import contextlib
import errno
import logging
import os
import subprocess
import uuid
from pathlib import Path

from volumed.backend.base import BackendError, Filler, VolumeBackend
from volumed.domain.sizes import to_bytes

LOG = logging.getLogger(__name__)
TEMP_PREFIX = ".tmp-"
NO_SPACE = os.strerror(errno.ENOSPC)  # "No space left on device", in cp's words too


class FileBackend(VolumeBackend):
    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)

    # --- names ---------------------------------------------------------------
    def device_path(self, volume_id: str) -> Path:
        return self.directory / f"volume-{volume_id}"

    def snapshot_path(self, snapshot_id: str) -> Path:
        return self.directory / f"snapshot-{snapshot_id}"

    def _temp_for(self, final: Path) -> Path:
        return self.scratch_path(final.name)

    def scratch_path(self, purpose: str) -> Path:
        return self.directory / f"{TEMP_PREFIX}{uuid.uuid4().hex[:8]}-{purpose}"

    # --- queries -------------------------------------------------------------
    def exists(self, volume_id: str) -> bool:
        return self.device_path(volume_id).exists()

    def size_bytes(self, volume_id: str) -> int:
        return self.device_path(volume_id).stat().st_size

    def snapshot_exists(self, snapshot_id: str) -> bool:
        return self.snapshot_path(snapshot_id).exists()

    # --- creating ------------------------------------------------------------
    def create(self, volume_id: str, size_gib: int, fill: Filler | None = None) -> None:
        def build(temp: Path) -> None:
            _new_sparse_file(temp, to_bytes(size_gib))
            if fill is not None:
                fill(temp)
        self._build(self.device_path(volume_id), build)

    def clone(self, source_volume_id: str, volume_id: str, size_gib: int) -> None:
        self._copy(self.device_path(source_volume_id), self.device_path(volume_id), size_gib)

    def create_snapshot(self, volume_id: str, snapshot_id: str) -> None:
        self._copy(self.device_path(volume_id), self.snapshot_path(snapshot_id), None)

    def create_from_snapshot(self, snapshot_id: str, volume_id: str, size_gib: int) -> None:
        self._copy(self.snapshot_path(snapshot_id), self.device_path(volume_id), size_gib)

    def _copy(self, source: Path, final: Path, size_gib: int | None) -> None:
        if not source.exists():
            raise BackendError(f"{source.name} does not exist")

        def build(temp: Path) -> None:
            _run(["cp", "--sparse=always", "--reflink=auto", "--", str(source), str(temp)])
            os.chmod(temp, 0o600)
            if size_gib is not None:
                _grow(temp, to_bytes(size_gib))
        self._build(final, build)

    def _build(self, final: Path, build) -> None:
        """Make `final` appear complete or not at all."""
        if final.exists():
            raise BackendError(f"{final.name} already exists; refusing to overwrite it")
        temp = self._temp_for(final)
        try:
            with _full(final.name):
                build(temp)
                _fsync(temp)
                os.link(temp, final)  # fails if final appeared meanwhile: never overwrites
                _fsync_dir(self.directory)
        except FileExistsError:
            raise BackendError(f"{final.name} already exists; refusing to overwrite it") from None
        finally:
            temp.unlink(missing_ok=True)

    # --- changing ------------------------------------------------------------
    def extend(self, volume_id: str, new_size_gib: int) -> None:
        path = self.device_path(volume_id)
        if not path.exists():
            raise BackendError(f"{path.name} does not exist")
        _grow(path, to_bytes(new_size_gib))

    def revert_to_snapshot(self, volume_id: str, snapshot_id: str) -> None:
        """A sparse copy of the snapshot, grown to the volume's size, built
        beside the volume and renamed over it: rename() replaces in one
        step, so the volume is either all old data or all snapshot data."""
        final, source = self.device_path(volume_id), self.snapshot_path(snapshot_id)
        for needed in (final, source):
            if not needed.exists():
                raise BackendError(f"{needed.name} does not exist")
        size = final.stat().st_size
        temp = self._temp_for(final)
        try:
            with _full(f"the copy of {source.name}"):
                _run(["cp", "--sparse=always", "--reflink=auto", "--", str(source), str(temp)])
                os.chmod(temp, 0o600)
                _grow(temp, size)
                _fsync(temp)
            os.replace(temp, final)
            _fsync_dir(self.directory)
        finally:
            temp.unlink(missing_ok=True)

    def delete(self, volume_id: str) -> None:
        self.device_path(volume_id).unlink(missing_ok=True)

    def delete_snapshot(self, snapshot_id: str) -> None:
        self.snapshot_path(snapshot_id).unlink(missing_ok=True)

    def remove_leftovers(self) -> list[str]:
        removed = []
        for leftover in self.directory.glob(f"{TEMP_PREFIX}*"):
            leftover.unlink(missing_ok=True)
            removed.append(leftover.name)
        return removed


@contextlib.contextmanager
def _full(what: str):
    """Turn a full file system, however it shows (our own write's OSError,
    cp's or qemu-img's message), into one BackendError naming what did not
    fit; the caller removes the partial file."""
    try:
        yield
    except Exception as exc:
        if not (isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)
                or NO_SPACE in str(exc)):
            raise
        raise BackendError(f"{NO_SPACE}: the volume storage has no room left for {what}; "
                           f"nothing of it was kept") from None


def _new_sparse_file(path: Path, size: int) -> None:
    # O_EXCL: a new file or an error, never an existing file truncated.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.ftruncate(fd, size)
    finally:
        os.close(fd)


def _grow(path: Path, size: int) -> None:
    """Make a file `size` bytes long if it is shorter; never shorter."""
    fd = os.open(path, os.O_WRONLY)
    try:
        current = os.fstat(fd).st_size
        if size < current:
            raise BackendError(f"{path.name} is {current} bytes; refusing to shrink it "
                               f"to {size}")
        if size > current:
            os.ftruncate(fd, size)
            os.fsync(fd)
    finally:
        os.close(fd)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _run(command: list[str]) -> None:
    # The C locale: its messages are the ones `_full` recognises.
    result = subprocess.run(command, capture_output=True, text=True,
                            env={**os.environ, "LC_ALL": "C"})
    if result.returncode != 0:
        raise BackendError(f"{command[0]} failed: {result.stderr.strip()}")
