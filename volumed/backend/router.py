"""Several backends behind the one the flows see: each volume goes to the
backend its volume type names, as Cinder's scheduler places a volume on the
backend whose volume_backend_name matches the type's extra spec.

    volume type extra_specs {"volume_backend_name": "rbd"}  -> the rbd backend
    no such spec, or "file"                                  -> the file backend

A volume's backend is read from the database (volume -> type -> extra
spec), a snapshot's from its volume's. The flows stay as they are: they
call one VolumeBackend, this one, which passes each call on.
"""
from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.orm import sessionmaker

from shared.db import transaction
from volumed.backend.base import BackendError, Filler, VolumeBackend
from volumed.models import Snapshot, Volume, VolumeType

BACKEND_SPEC = "volume_backend_name"


class BackendRouter(VolumeBackend):
    def __init__(self, backends: dict[str, VolumeBackend], default: str,
                 sessions: sessionmaker):
        self.backends, self.default, self.sessions = backends, default, sessions

    # --- which backend -------------------------------------------------------
    def name_for_volume(self, volume_id: str) -> str:
        with transaction(self.sessions, write=False) as session:
            volume = session.get(Volume, volume_id)
            volume_type = session.get(VolumeType, volume.volume_type_id) \
                if volume is not None and volume.volume_type_id else None
            specs = (volume_type.extra_specs or {}) if volume_type is not None else {}
        return specs.get(BACKEND_SPEC) or self.default

    def for_volume(self, volume_id: str) -> VolumeBackend:
        name = self.name_for_volume(volume_id)
        if name not in self.backends:
            raise BackendError(f"No backend is named {name!r} (volume_backend_name of the "
                               f"volume's type; backends: {', '.join(self.backends)}).")
        return self.backends[name]

    def for_snapshot(self, snapshot_id: str) -> VolumeBackend:
        with transaction(self.sessions, write=False) as session:
            snapshot = session.get(Snapshot, snapshot_id)
            volume_id = snapshot.volume_id if snapshot is not None else None
        return self.for_volume(volume_id) if volume_id else self.backends[self.default]

    def _quiet(self, pick: Callable[[], VolumeBackend]) -> VolumeBackend:
        """For the queries that raise nothing: the default when unsure."""
        try:
            return pick()
        except BackendError:
            return self.backends[self.default]

    # --- the contract, passed on ---------------------------------------------
    def device_path(self, volume_id: str) -> Path:
        return self._quiet(lambda: self.for_volume(volume_id)).device_path(volume_id)

    def exists(self, volume_id: str) -> bool:
        return self._quiet(lambda: self.for_volume(volume_id)).exists(volume_id)

    def open_data(self, volume_id: str | None = None, snapshot_id: str | None = None,
                  writable: bool = False) -> AbstractContextManager[BinaryIO]:
        backend = self.for_snapshot(snapshot_id) if snapshot_id \
            else self.for_volume(volume_id or "")
        return backend.open_data(volume_id, snapshot_id, writable)

    def qemu_source(self, volume_id: str) -> str:
        return self.for_volume(volume_id).qemu_source(volume_id)

    def size_bytes(self, volume_id: str) -> int:
        return self.for_volume(volume_id).size_bytes(volume_id)

    def snapshot_path(self, snapshot_id: str) -> Path:
        return self._quiet(lambda: self.for_snapshot(snapshot_id)).snapshot_path(snapshot_id)

    def snapshot_exists(self, snapshot_id: str) -> bool:
        return self._quiet(lambda: self.for_snapshot(snapshot_id)).snapshot_exists(snapshot_id)

    def create(self, volume_id: str, size_gib: int, fill: Filler | None = None) -> None:
        self.for_volume(volume_id).create(volume_id, size_gib, fill)

    def clone(self, source_volume_id: str, volume_id: str, size_gib: int) -> None:
        backend = self.for_volume(volume_id)
        if backend is not self.for_volume(source_volume_id):
            raise BackendError("A volume can only be copied within its backend (the new "
                               "volume's type names another one).")
        backend.clone(source_volume_id, volume_id, size_gib)

    def create_snapshot(self, volume_id: str, snapshot_id: str) -> None:
        self.for_volume(volume_id).create_snapshot(volume_id, snapshot_id)

    def create_from_snapshot(self, snapshot_id: str, volume_id: str, size_gib: int) -> None:
        backend = self.for_volume(volume_id)
        if backend is not self.for_snapshot(snapshot_id):
            raise BackendError("A volume can only be made from a snapshot in its own "
                               "backend (the new volume's type names another one).")
        backend.create_from_snapshot(snapshot_id, volume_id, size_gib)

    def clone_image(self, location_url: str, volume_id: str, size_gib: int) -> bool:
        return self.for_volume(volume_id).clone_image(location_url, volume_id, size_gib)

    def needs_target(self, volume_id: str) -> bool:
        return self._quiet(lambda: self.for_volume(volume_id)).needs_target(volume_id)

    def connection(self, volume_id: str) -> dict | None:
        return self.for_volume(volume_id).connection(volume_id)

    def scratch_path(self, purpose: str) -> Path:
        return self.backends[self.default].scratch_path(purpose)

    def extend(self, volume_id: str, new_size_gib: int) -> None:
        self.for_volume(volume_id).extend(volume_id, new_size_gib)

    def revert_to_snapshot(self, volume_id: str, snapshot_id: str) -> None:
        self.for_volume(volume_id).revert_to_snapshot(volume_id, snapshot_id)

    def delete(self, volume_id: str) -> None:
        self.for_volume(volume_id).delete(volume_id)

    def delete_snapshot(self, snapshot_id: str) -> None:
        self.for_snapshot(snapshot_id).delete_snapshot(snapshot_id)

    def remove_leftovers(self) -> list[str]:
        return [name for backend in self.backends.values()
                for name in backend.remove_leftovers()]
