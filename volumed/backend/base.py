"""The storage interface every backend fills in.

Rules every backend keeps, so that no failed operation ever loses a volume:
- a new volume or snapshot is built under a temporary name and moved into
  place in one step at the very end; a failure leaves only a temporary file,
  which `remove_leftovers` clears at the next start;
- an existing volume is never truncated or overwritten: extend only grows,
  and nothing is ever created over an existing name.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Callable

# Called with the path of the not-yet-visible new volume (already at its
# full size, all zeroes); it writes the content, e.g. qemu-img convert.
Filler = Callable[[Path], None]


class BackendError(Exception):
    """A storage operation failed; the message is for the log and the user."""


class VolumeBackend(ABC):
    @abstractmethod
    def device_path(self, volume_id: str) -> Path:
        """What tgtd serves as the LUN (a file or a block device)."""

    @abstractmethod
    def exists(self, volume_id: str) -> bool: ...

    @abstractmethod
    def size_bytes(self, volume_id: str) -> int: ...

    @abstractmethod
    def create(self, volume_id: str, size_gib: int, fill: Filler | None = None) -> None:
        """A new volume of size_gib, empty or filled by `fill`."""

    @abstractmethod
    def clone(self, source_volume_id: str, volume_id: str, size_gib: int) -> None: ...

    @abstractmethod
    def extend(self, volume_id: str, new_size_gib: int) -> None:
        """Grow a volume; never shrinks, never touches the existing data."""

    @abstractmethod
    def delete(self, volume_id: str) -> None:
        """Remove a volume; a volume that is already gone is not an error."""

    @abstractmethod
    def snapshot_exists(self, snapshot_id: str) -> bool: ...

    @abstractmethod
    def create_snapshot(self, volume_id: str, snapshot_id: str) -> None: ...

    @abstractmethod
    def delete_snapshot(self, snapshot_id: str) -> None: ...

    @abstractmethod
    def create_from_snapshot(self, snapshot_id: str, volume_id: str, size_gib: int) -> None: ...

    @abstractmethod
    def scratch_path(self, purpose: str) -> Path:
        """A fresh name for a temporary file (a download, a conversion) that
        remove_leftovers clears if the operation never finishes."""

    @abstractmethod
    def remove_leftovers(self) -> list[str]:
        """Delete what failed operations left behind (temporary files).
        Only safe when no operation runs: at start-up."""
