"""Backups: their statuses, and the pure rules of Cinder's backup API and of
its chunked backup driver (what may be backed up, which backup an
incremental one builds on, which blocks changed since the parent).

A backup's life, as Cinder's:

    creating ──► available ──► restoring ──► available
        │            │
        ▼            ▼
      error ──► deleting ──► (deleted)      error_deleting: stable

The volume it copies goes backing-up and back to the status it had
(available or in-use); a volume a backup is restored into goes
restoring-backup and then available (error_restoring on failure).
"""
from __future__ import annotations

import datetime as dt
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass

from shared.errors import BadRequest

CREATING, AVAILABLE, DELETING, RESTORING = "creating", "available", "deleting", "restoring"
ERROR, ERROR_DELETING, DELETED = "error", "error_deleting", "deleted"
STATUSES = (CREATING, AVAILABLE, DELETING, ERROR, ERROR_DELETING, RESTORING)

# The volume's (and a snapshot's) statuses while a backup works on it.
VOLUME_BACKING_UP = "backing-up"
VOLUME_RESTORING = "restoring-backup"
VOLUME_ERROR_RESTORING = "error_restoring"

MAX_CONTAINER_LENGTH = 255


def invalid_backup(reason: str) -> BadRequest:
    """Cinder's InvalidBackup, answered 400."""
    return BadRequest(f"Invalid backup: {reason}")


def invalid_volume(reason: str) -> BadRequest:
    """Cinder's InvalidVolume, answered 400."""
    return BadRequest(f"Invalid volume: {reason}")


def check_source(volume_status: str, force: bool) -> None:
    """A volume may be backed up when available, or in-use with force
    (cinder/backup/api.py create)."""
    if volume_status not in ("available", "in-use"):
        raise invalid_volume(f'Volume to be backed up must be available or in-use, but the '
                             f'current status is "{volume_status}".')
    if volume_status == "in-use" and not force:
        raise invalid_volume("Backing up an in-use volume must use the force flag.")


def check_snapshot_source(volume_id: str, snapshot_volume_id: str,
                          snapshot_status: str) -> None:
    if volume_id != snapshot_volume_id:
        raise invalid_volume(f"Volume {volume_id} does not match with snapshot.volume_id "
                             f"{snapshot_volume_id}.")
    if snapshot_status != "available":
        raise BadRequest(f'Invalid snapshot: Snapshot to be backed up must be available, '
                         f'but the current status is "{snapshot_status}".')


@dataclass(frozen=True)
class Candidate:
    """What choosing a parent needs to know of an earlier backup."""
    id: str
    status: str
    data_timestamp: dt.datetime


def choose_parent(backups: Sequence[Candidate],
                  snapshot_created_at: dt.datetime | None = None) -> str:
    """The id of the backup an incremental backup builds on: the available
    backup with the latest data (for a backup of a snapshot, the latest
    whose data is older than the snapshot). Raises 400 when there is none,
    with Cinder's words."""
    usable = [b for b in backups if b.status == AVAILABLE and
              (snapshot_created_at is None or b.data_timestamp < snapshot_created_at)]
    if not usable:
        raise invalid_backup("No backups available to do an incremental backup.")
    return max(usable, key=lambda b: b.data_timestamp).id


def check_deletable(status: str, dependents: int, *, force: bool = False) -> None:
    if not force and status not in (AVAILABLE, ERROR):
        raise invalid_backup("Backup status must be available or error")
    if dependents:
        raise invalid_backup("Incremental backups exist for this backup.")


def check_restorable(backup_status: str, backup_size: int, volume_status: str | None,
                     volume_size: int | None) -> None:
    """A backup restores when available, into a volume that is available
    and at least as big (cinder/backup/api.py restore)."""
    if backup_status != AVAILABLE:
        raise invalid_backup("Backup status must be available")
    if volume_status is None or volume_size is None:
        return
    if volume_status != "available":
        raise invalid_volume("Volume to be restored to must be available")
    if backup_size > volume_size:
        raise invalid_volume(f"volume size {volume_size} is too small to restore backup of "
                             f"size {backup_size}.")


def check_container(container: str | None) -> str | None:
    """A container is a directory under the backup path (posix) or a
    container name (an object store): a relative path that stays inside,
    never absolute and never `..`."""
    if container is None:
        return None
    if not isinstance(container, str):
        raise BadRequest("Invalid input received: container must be a string.")
    if len(container) > MAX_CONTAINER_LENGTH:
        raise BadRequest(f"Invalid input received: container is longer than "
                         f"{MAX_CONTAINER_LENGTH} characters.")
    if container == "":
        return None
    parts = container.split("/")
    if container.startswith("/") or "\\" in container or "\x00" in container or \
            any(part in ("", ".", "..") for part in parts):
        raise BadRequest(f"Invalid input received: container {container!r} must be a "
                         f"relative name inside the backup repository (no leading '/', "
                         f"no '.' or '..' parts).")
    return posixpath.normpath(container)


def default_container(backup_id: str) -> str:
    """Cinder's posix driver spreads backups over two levels of directories
    named by the first characters of the backup's id."""
    return f"{backup_id[0:2]}/{backup_id[2:4]}/{backup_id}"


def object_prefix(volume_id: str, backup_id: str, when: dt.datetime) -> str:
    """The names of a backup's objects start with this (Cinder's posix and
    NFS drivers): volume_<volume>_<YYYYmmddHHMMSS>_backup_<backup>."""
    return f"volume_{volume_id}_{when.strftime('%Y%m%d%H%M%S')}_backup_{backup_id}"


def restore_order(backup_id: str, parents: dict[str, str | None]) -> list[str]:
    """The backups to lay down, full one first, to restore `backup_id`
    (an incremental backup is its chain: full, then each increment)."""
    chain = [backup_id]
    seen = {backup_id}
    while parents.get(chain[-1]):
        parent = parents[chain[-1]]
        assert parent is not None
        if parent in seen:
            raise ValueError(f"backup {backup_id} has a loop in its parents")
        chain.append(parent)
        seen.add(parent)
    return list(reversed(chain))


def check_block_sizes(chunk_size: int, sha_block_size: int) -> None:
    """Cinder's rule for the two sizes (raised at backup time there; at
    start-up here, as a config error)."""
    if sha_block_size <= 0 or chunk_size % sha_block_size:
        raise ValueError(f"backup_file_size ({chunk_size}) must be a multiple of "
                         f"backup_sha_block_size_bytes ({sha_block_size})")
