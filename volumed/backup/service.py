"""What the backup flows need, built once per process by app.py: the
repository (a BackupStore), the chunked format over it, and the settings of
volumed.conf [backup]."""
from __future__ import annotations

from dataclasses import dataclass

from volumed.backup.base import BackupStore
from volumed.backup.chunked import ChunkedBackup


@dataclass(frozen=True)
class BackupService:
    store: BackupStore
    format: ChunkedBackup
    #: The container of a backup made without one ("" : the store's default).
    default_container: str = ""
    #: Seconds between two backup.createprogress events (None: only the last).
    progress_interval: float | None = 120

    def container_for(self, backup_id: str, asked: str | None) -> str:
        return asked or self.default_container or self.store.default_container(backup_id)
