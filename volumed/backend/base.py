"""The storage interface every backend fills in (the seam between the flows
and where volume data lives): file.py (sparse files, exported over iSCSI)
and rbd.py (RBD images in Ceph); router.py picks one per volume type.

Rules every backend keeps, so that no failed operation ever loses a volume:
- a new volume or snapshot is built under a temporary name and moved into
  place in one step at the very end; a failure leaves only a temporary file,
  which `remove_leftovers` clears at the next start;
- an existing volume is never truncated or overwritten: extend only grows,
  and nothing is ever created over an existing name. The one exception is
  revert_to_snapshot, which the user asks for to throw the volume's present
  data away; it too swaps the whole volume in one step, so a failure leaves
  the volume as it was.

Every operation that fails raises BackendError (with a message fit for the
log and the user) and leaves what existed before it exactly as it was. The
flows record the failure on the volume; a backend never touches the
database.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import BinaryIO

# Called with the path of the not-yet-visible new volume (already at its
# full size, all zeroes); it writes the content, e.g. qemu-img convert.
Filler = Callable[[Path], None]


class BackendError(Exception):
    """A storage operation failed; the message is for the log and the user."""


class VolumeBackend(ABC):
    """One volume service's storage. Volumes and snapshots are named by their
    ids; sizes are whole GiB."""

    # --- queries -----------------------------------------------------------
    @abstractmethod
    def device_path(self, volume_id: str) -> Path:
        """The path the target serves as the LUN of `volume_id` (a file or a
        block device). A name only: the volume need not exist. Raises
        nothing."""

    def open_data(self, volume_id: str | None = None, snapshot_id: str | None = None,
                  writable: bool = False) -> AbstractContextManager[BinaryIO]:
        """The data of a volume, or of a snapshot (read only), as a file
        object that seeks, reads and writes: what a backup reads and a
        restore writes. This default opens the file device_path or
        snapshot_path names. Raises BackendError or OSError."""
        path = self.snapshot_path(snapshot_id) if snapshot_id \
            else self.device_path(volume_id or "")
        return open(path, "r+b" if writable else "rb")  # noqa: SIM115 - the caller's with

    def qemu_source(self, volume_id: str) -> str:
        """What qemu-img opens to read the volume as raw (an upload to an
        image): this default is its file; an existing file is read in place."""
        return str(self.device_path(volume_id))

    @abstractmethod
    def exists(self, volume_id: str) -> bool:
        """Whether the volume `volume_id` is complete in place (a half-built
        one never is). Raises nothing."""

    @abstractmethod
    def size_bytes(self, volume_id: str) -> int:
        """The size of the volume `volume_id` in bytes. Raises OSError if it
        does not exist."""

    @abstractmethod
    def snapshot_path(self, snapshot_id: str) -> Path:
        """The path of the snapshot's data, for reading (a backup of a
        snapshot). A name only: the snapshot need not exist. Raises
        nothing."""

    @abstractmethod
    def snapshot_exists(self, snapshot_id: str) -> bool:
        """Whether the snapshot `snapshot_id` is complete in place. Raises
        nothing."""

    # --- creating ----------------------------------------------------------
    @abstractmethod
    def create(self, volume_id: str, size_gib: int, fill: Filler | None = None) -> None:
        """Make the new volume `volume_id` of `size_gib` GiB: all zeroes, or
        written by `fill` before it becomes visible.

        Raises BackendError if a volume of that id exists (it is left
        untouched) or the space cannot be had; whatever `fill` raises is
        passed on. On any failure the half-built volume is removed: the
        volume does not exist afterwards."""

    @abstractmethod
    def clone(self, source_volume_id: str, volume_id: str, size_gib: int) -> None:
        """Make the new volume `volume_id`, a copy of `source_volume_id` grown
        to `size_gib` GiB (never smaller than the source).

        Raises BackendError if the source is missing, the new id exists or
        the copy fails. On failure the partial copy is removed and the
        source is untouched."""

    @abstractmethod
    def create_snapshot(self, volume_id: str, snapshot_id: str) -> None:
        """Make the snapshot `snapshot_id`: the content of `volume_id` at this
        moment.

        Raises BackendError if the volume is missing, the snapshot id exists
        or the copy fails. On failure the partial snapshot is removed and the
        volume is untouched."""

    @abstractmethod
    def create_from_snapshot(self, snapshot_id: str, volume_id: str, size_gib: int) -> None:
        """Make the new volume `volume_id` from the snapshot `snapshot_id`,
        grown to `size_gib` GiB.

        Raises BackendError if the snapshot is missing, the volume id exists
        or the copy fails. On failure the partial volume is removed and the
        snapshot is untouched."""

    @abstractmethod
    def scratch_path(self, purpose: str) -> Path:
        """A fresh name for a temporary file (a download, a conversion) that
        `remove_leftovers` clears if the operation never finishes; `purpose`
        is part of the name, for whoever reads the directory. Creates
        nothing; the caller removes the file when done. Raises nothing."""

    def clone_image(self, location_url: str, volume_id: str, size_gib: int) -> bool:
        """Make the new volume `volume_id` without copying, from an image
        location the backend can reach itself (an rbd:// snapshot in its own
        Ceph cluster: a copy-on-write clone, Cinder's clone_image). Returns
        False, having done nothing, when it cannot (the caller downloads the
        image instead); raises BackendError when it tried and failed (the
        volume does not exist afterwards). Backends without such a shortcut
        keep this default."""
        return False

    def needs_target(self, volume_id: str) -> bool:
        """Whether the volume reaches compute hosts through the iSCSI
        target (an export per attachment). Raises nothing."""
        return True

    def connection(self, volume_id: str) -> dict | None:
        """connection_info for a compute host that reaches the volume
        itself (rbd: monitors, pool/name, cephx user and libvirt secret),
        or None when the volume is exported by the iSCSI target (the file
        backend: this default)."""
        return None

    # --- changing ----------------------------------------------------------
    @abstractmethod
    def extend(self, volume_id: str, new_size_gib: int) -> None:
        """Grow the volume `volume_id` to `new_size_gib` GiB, keeping every
        byte it holds.

        Raises BackendError if the volume is missing or `new_size_gib` is
        smaller than it is (it never shrinks). On failure the volume keeps
        its old size and data."""

    @abstractmethod
    def revert_to_snapshot(self, volume_id: str, snapshot_id: str) -> None:
        """Give the volume `volume_id` the content of its snapshot
        `snapshot_id` again (Cinder 3.40), keeping the volume's size. Only
        for a volume nothing has open (not exported): the data is replaced
        as a whole, not written in place.

        Raises BackendError if the volume or the snapshot is missing or the
        copy fails. On failure the volume keeps its data, whole, and the
        snapshot is untouched."""

    @abstractmethod
    def delete(self, volume_id: str) -> None:
        """Remove the volume `volume_id`. A volume that is already gone is
        not an error. Raises BackendError (or OSError) if it exists and
        cannot be removed; it then still exists, whole."""

    @abstractmethod
    def delete_snapshot(self, snapshot_id: str) -> None:
        """Remove the snapshot `snapshot_id`. A snapshot that is already gone
        is not an error. Raises BackendError (or OSError) if it exists and
        cannot be removed."""

    @abstractmethod
    def remove_leftovers(self) -> list[str]:
        """Delete what failed operations left behind (temporary files) and
        return their names, for the log. Only safe when no operation runs:
        at start-up. Raises OSError if one cannot be removed."""
