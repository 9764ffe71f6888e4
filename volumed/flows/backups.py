"""Volume backups, as Cinder's backup API and backup manager run them.

create:  volume available (in-use with force; or one of its snapshots) +
         quota (backups, backup_gigabytes) -> backup creating, volume
         backing-up (the snapshot backing-up)
         -> in the background: the volume's file is read and written into
            the repository in Cinder's chunked format (only the changed
            blocks for an incremental backup)
         -> backup available, volume back to the status it had
         (a failure: backup error with its fail_reason, every object of it
         removed, the volume back to the status it had)
restore: backup available, into a new volume (made with the backup's size)
         or an available volume at least as big -> backup restoring, volume
         restoring-backup
         -> in the background: the chain (full backup, then each increment)
            is written into the volume's file
         -> volume available (error_restoring on failure), backup available
delete:  available or error, no incremental backup built on it -> deleting
         -> every object removed -> deleted
At start-up reconcile_backups does what Cinder's backup manager does for
operations a restart cut short.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from shared.context import RequestContext
from shared.db import transaction
from shared.errors import ApiError, BadRequest
from shared.units import GiB
from volumed import repo
from volumed.backup.chunked import BackupCancelled, BackupRecord
from volumed.backup.service import BackupService
from volumed.domain import backups as rules
from volumed.domain import quotas, status
from volumed.flows import Deps, iso, now
from volumed.flows.create import CreateRequest, create_volume
from volumed.models import Backup, Snapshot, Volume

LOG = logging.getLogger(__name__)
RESTORED_DESCRIPTION = "auto-created_from_restore_from_backup"


@dataclass
class BackupRequest:
    volume_id: str
    name: str | None = None
    description: str | None = None
    container: str | None = None
    incremental: bool = False
    force: bool = False
    snapshot_id: str | None = None
    metadata: dict | None = None


def service_of(deps: Deps) -> BackupService:
    if deps.backups is None:
        raise ApiError("Service cinder-backup could not be found.", status=503)
    return deps.backups


# --- create ------------------------------------------------------------------------------
def create_backup(deps: Deps, ctx: RequestContext, scope: str | None,
                  request: BackupRequest) -> Backup:
    service = service_of(deps)
    container = rules.check_container(request.container)
    with transaction(deps.sessions) as session:
        volume = repo.get_volume(session, request.volume_id, scope)
        snapshot = None
        if request.snapshot_id:
            snapshot = repo.get_snapshot(session, request.snapshot_id, scope)
            rules.check_snapshot_source(volume.id, snapshot.volume_id, snapshot.status)
        else:
            rules.check_source(volume.status, request.force)
        project_id = ctx.project_id or volume.project_id
        limits = repo.limits(session, project_id, deps.settings.quota_defaults)
        quotas.check(limits, repo.usage(session, project_id), backups=1,
                     backup_gigabytes=volume.size)
        parent_id = None
        if request.incremental:
            earlier = repo.backups_of_volume(session, volume.id, project_id)
            parent_id = rules.choose_parent(
                [rules.Candidate(b.id, b.status, b.data_timestamp or b.created_at)
                 for b in earlier], snapshot.created_at if snapshot else None)
        created = now()
        backup = Backup(id=repo.new_id(), project_id=project_id, user_id=ctx.user_id,
                        volume_id=volume.id, snapshot_id=request.snapshot_id,
                        name=request.name, description=request.description,
                        status=rules.CREATING, size=volume.size, container=container,
                        parent_id=parent_id, created_at=created,
                        data_timestamp=snapshot.created_at if snapshot else created,
                        metadata_=request.metadata or {}, service=service.store.service_name)
        session.add(backup)
        if snapshot is not None:
            snapshot.status = status.SNAPSHOT_BACKING_UP
        else:
            volume.previous_status, volume.status = volume.status, status.BACKING_UP
        _event(deps, ctx, "backup.create.start", backup, session)
    deps.background(f"backup-{backup.id}", lambda: _run_backup(deps, ctx, backup.id))
    return backup


def _run_backup(deps: Deps, ctx: RequestContext, backup_id: str) -> None:
    service = service_of(deps)
    try:
        record, parent, (volume_id, snapshot_id), size = _prepare_backup(deps, service,
                                                                         backup_id)
        progress = _Progress(deps, ctx, backup_id, size, service.progress_interval)
        with deps.backend.open_data(volume_id, snapshot_id) as volume_file:
            count = service.format.backup(record, volume_file, size, parent, progress.report,
                                          cancelled=lambda: _stopped(deps, backup_id))
        progress.finish()
    except Exception as exc:
        if not isinstance(exc, BackupCancelled):
            LOG.warning("backup %s failed: %s", backup_id, exc)
        _finish_backup(deps, ctx, backup_id, error=str(exc))
        return
    _finish_backup(deps, ctx, backup_id, object_count=count)


def _prepare_backup(deps: Deps, service: BackupService,
                    backup_id: str
                    ) -> tuple[BackupRecord, BackupRecord | None, tuple[str, str | None], int]:
    """Name the backup's container and objects (recorded before anything is
    written, so a delete or a restart can find them), and find its parent."""
    with transaction(deps.sessions) as session:
        backup = session.get_one(Backup, backup_id)
        backup.container = service.container_for(backup.id, backup.container)
        backup.service_metadata = rules.object_prefix(backup.volume_id, backup.id, now())
        parent = None
        if backup.parent_id:
            parent_row = session.get_one(Backup, backup.parent_id)
            if backup.size > parent_row.size:
                raise BadRequest("Volume size increased since the last backup. Do a full "
                                 "backup.")
            parent = _record(parent_row)
        source = (backup.volume_id, backup.snapshot_id)  # what open_data reads
        return _record(backup), parent, source, backup.size * GiB


def _finish_backup(deps: Deps, ctx: RequestContext, backup_id: str, *,
                   error: str | None = None, object_count: int = 0) -> None:
    """The backup's outcome, and its source back to the status it had."""
    with transaction(deps.sessions) as session:
        backup = session.get_one(Backup, backup_id)
        _release_source(session, backup)
        if backup.status in (rules.DELETING, rules.DELETED) or backup.deleted:
            return  # force-deleted meanwhile: the delete has the last word
        if error is None:
            backup.status, backup.object_count = rules.AVAILABLE, object_count
            _event(deps, ctx, "backup.create.end", backup, session)
        else:
            backup.status, backup.fail_reason = rules.ERROR, error
            _event(deps, ctx, "backup.create.error", backup, session)
        backup.updated_at = now()


def _release_source(session, backup: Backup) -> None:
    if backup.snapshot_id:
        snapshot = session.get(Snapshot, backup.snapshot_id)
        if snapshot is not None and snapshot.status == status.SNAPSHOT_BACKING_UP:
            snapshot.status = status.SNAPSHOT_AVAILABLE
        return
    volume = session.get(Volume, backup.volume_id)
    if volume is not None and volume.status == status.BACKING_UP:
        attached = repo.active_attachments(session, volume.id)
        volume.status = volume.previous_status if volume.previous_status in (
            status.AVAILABLE, status.IN_USE) else status.status_after_detach(len(attached))
        volume.previous_status = status.BACKING_UP
        volume.updated_at = now()


class _Progress:
    """backup.createprogress events: one every `interval` seconds while the
    backup runs (backup_enable_progress_timer), and the last at 100%."""

    def __init__(self, deps: Deps, ctx: RequestContext, backup_id: str, size: int,
                 interval: float | None):
        self.deps, self.ctx, self.backup_id, self.size = deps, ctx, backup_id, size
        self.interval = interval
        self.last = time.monotonic()

    def report(self, done: int) -> None:
        if self.interval is None or time.monotonic() - self.last < self.interval:
            return
        self.last = time.monotonic()
        self._emit(done * 100 / self.size if self.size else 100)

    def finish(self) -> None:
        self._emit(100)

    def _emit(self, percent: float) -> None:
        with transaction(self.deps.sessions) as session:
            backup = session.get_one(Backup, self.backup_id)
            _event(self.deps, self.ctx, "backup.createprogress", backup, session,
                   backup_percent=percent)


# --- restore -------------------------------------------------------------------------------
def restore_backup(deps: Deps, ctx: RequestContext, scope: str | None, backup_id: str,
                   volume_id: str | None, name: str | None) -> dict:
    service = service_of(deps)
    with transaction(deps.sessions, write=False) as session:
        backup = repo.get_backup(session, backup_id, scope)
        rules.check_restorable(backup.status, backup.size, None, None)
        _check_service(service, backup)
        size = backup.size
    volume_is_new = volume_id is None
    if volume_id is None:
        made = create_volume(deps, ctx, ctx.project_id or backup.project_id, CreateRequest(
            size=size, name=name if name is not None else f"restore_backup_{backup_id}",
            description=RESTORED_DESCRIPTION))
        if made.status != status.AVAILABLE:
            raise rules.invalid_volume(f"Error while creating volume {made.id} for "
                                       f"restoring backup {backup_id}.")
        volume_id = made.id
    target_id: str = volume_id
    with transaction(deps.sessions) as session:
        backup = repo.get_backup(session, backup_id, scope)
        volume = repo.get_volume(session, target_id, scope)
        rules.check_restorable(backup.status, backup.size, volume.status, volume.size)
        backup.status, backup.restore_volume_id = rules.RESTORING, volume.id
        volume.status = status.RESTORING_BACKUP
        volume.updated_at = now()
        answer = {"backup_id": backup.id, "volume_id": volume.id, "volume_name": volume.name}
        _event(deps, ctx, "backup.restore.start", backup, session, volume_id=volume.id)
    deps.background(f"restore-{backup_id}", lambda: _run_restore(
        deps, ctx, backup_id, target_id, volume_is_new))
    return answer


def _run_restore(deps: Deps, ctx: RequestContext, backup_id: str, volume_id: str,
                 volume_is_new: bool) -> None:
    service = service_of(deps)
    try:
        with transaction(deps.sessions, write=False) as session:
            chain = _chain(session, backup_id)
        with deps.backend.open_data(volume_id, writable=True) as volume_file:
            service.format.restore(chain, volume_file, volume_is_new,
                                   cancelled=lambda: _status(deps, backup_id) != rules.RESTORING)
    except Exception as exc:
        LOG.warning("restoring backup %s into volume %s failed: %s", backup_id, volume_id, exc)
        _finish_restore(deps, ctx, backup_id, volume_id, error=str(exc))
        return
    _finish_restore(deps, ctx, backup_id, volume_id)


def _chain(session, backup_id: str) -> list[BackupRecord]:
    """The backups to lay down for this one, the full backup first."""
    parents: dict[str, str | None] = {}
    rows: dict[str, Backup] = {}
    current: str | None = backup_id
    while current and current not in rows:
        row = session.get_one(Backup, current)
        rows[current], parents[current] = row, row.parent_id
        current = row.parent_id
    return [_record(rows[key]) for key in rules.restore_order(backup_id, parents)]


def _finish_restore(deps: Deps, ctx: RequestContext, backup_id: str, volume_id: str, *,
                    error: str | None = None) -> None:
    with transaction(deps.sessions) as session:
        backup = session.get_one(Backup, backup_id)
        volume = session.get_one(Volume, volume_id)
        if error is None:
            volume.status = status.AVAILABLE
            if backup.volume_id != volume.id or \
                    (volume.metadata_ or {}).get("src_backup_id") not in (None, backup.id):
                volume.metadata_ = {**(volume.metadata_ or {}), "src_backup_id": backup.id}
        else:
            volume.status = status.ERROR_RESTORING
            volume.error_message = error
        volume.updated_at = now()
        if backup.status == rules.RESTORING:
            backup.status = rules.AVAILABLE
        backup.updated_at = now()
        _event(deps, ctx, "backup.restore.end" if error is None else "backup.restore.error",
               backup, session, volume_id=volume_id, **({"reason": error} if error else {}))


# --- delete, update, admin actions -----------------------------------------------------------
def delete_backup(deps: Deps, ctx: RequestContext, scope: str | None, backup_id: str, *,
                  force: bool = False) -> None:
    service = service_of(deps)
    with transaction(deps.sessions) as session:
        backup = repo.get_backup(session, backup_id, scope)
        dependents = repo.dependent_counts(session, [backup.id]).get(backup.id, 0)
        rules.check_deletable(backup.status, dependents, force=force)
        if backup.service and backup.service != service.store.service_name:
            _check_service(service, backup)
        backup.status = rules.DELETING
        container, prefix = backup.container, backup.service_metadata
        _event(deps, ctx, "backup.delete.start", backup, session)
    try:
        service.format.delete(container, prefix)
    except Exception as exc:
        LOG.warning("deleting backup %s failed: %s", backup_id, exc)
        with transaction(deps.sessions) as session:
            backup = session.get_one(Backup, backup_id)
            backup.status, backup.fail_reason = rules.ERROR_DELETING, str(exc)
            _event(deps, ctx, "backup.delete.error", backup, session)
        return
    with transaction(deps.sessions) as session:
        backup = session.get_one(Backup, backup_id)
        backup.deleted, backup.deleted_at, backup.status = True, now(), rules.DELETED
        _event(deps, ctx, "backup.delete.end", backup, session)


def update_backup(deps: Deps, ctx: RequestContext, scope: str | None, backup_id: str,
                  changes: dict) -> Backup:
    with transaction(deps.sessions) as session:
        backup = repo.get_backup(session, backup_id, scope)
        for key in ("name", "description"):
            if key in changes:
                setattr(backup, key, changes[key])
        if "metadata" in changes:
            backup.metadata_ = dict(changes["metadata"])
        backup.updated_at = now()
        _event(deps, ctx, "backup.update", backup, session)
        return backup


def reset_backup_status(deps: Deps, ctx: RequestContext, backup_id: str,
                        new_status: object) -> None:
    """The admin's way out (Cinder allows available and error only)."""
    if new_status not in (rules.AVAILABLE, rules.ERROR):
        raise BadRequest(f"Invalid input received: Backup status {new_status!r} is not "
                         f"allowed (available or error).")
    with transaction(deps.sessions) as session:
        backup = repo.get_backup(session, backup_id, None)
        backup.status = str(new_status)
        backup.updated_at = now()
        _event(deps, ctx, "backup.reset_status", backup, session)


# --- after a restart -----------------------------------------------------------------------
def reconcile_backups(deps: Deps) -> None:
    """Cinder's backup manager at start: a backup still creating becomes
    error (its partial objects removed here too), its volume goes back to
    its previous status; one restoring becomes available again and the
    volume it was written into error_restoring; a delete cut short is
    finished."""
    service = deps.backups
    if service is None:
        return
    for name in service.store.remove_leftovers():
        LOG.info("removed %s, left by a backup that did not finish", name)
    unfinished_deletes = []
    with transaction(deps.sessions) as session:
        for backup in repo.live_backups(session):
            if backup.status == rules.CREATING:
                LOG.warning("backup %s was creating when volumed stopped; it is now error",
                            backup.id)
                service.format.delete(backup.container, backup.service_metadata)
                _release_source(session, backup)
                backup.status = rules.ERROR
                backup.fail_reason = "incomplete backup reset on manager restart"
            elif backup.status == rules.RESTORING:
                LOG.warning("backup %s was restoring when volumed stopped; it is available "
                            "again", backup.id)
                backup.status = rules.AVAILABLE
                volume = session.get(Volume, backup.restore_volume_id or "")
                if volume is not None and volume.status == status.RESTORING_BACKUP:
                    volume.status = status.ERROR_RESTORING
            elif backup.status == rules.DELETING:
                unfinished_deletes.append(backup.id)
    for backup_id in unfinished_deletes:
        LOG.info("finishing the delete of backup %s", backup_id)
        delete_backup(deps, None, None, backup_id, force=True)  # type: ignore[arg-type]


# --- shared pieces ---------------------------------------------------------------------------
def _record(backup: Backup) -> BackupRecord:
    return BackupRecord(id=backup.id, volume_id=backup.volume_id,
                        container=backup.container or "",
                        prefix=backup.service_metadata or "", name=backup.name,
                        description=backup.description, created_at=str(backup.created_at),
                        parent_id=backup.parent_id)


def _check_service(service: BackupService, backup: Backup) -> None:
    if backup.service and backup.service != service.store.service_name:
        raise rules.invalid_backup(
            f"the backup service currently configured [{service.store.service_name}] is not "
            f"the backup service that was used to create this backup [{backup.service}].")


def _status(deps: Deps, backup_id: str) -> str | None:
    with transaction(deps.sessions, write=False) as session:
        backup = session.get(Backup, backup_id)
        return None if backup is None or backup.deleted else backup.status


def _stopped(deps: Deps, backup_id: str) -> bool:
    """A backup being (force-)deleted stops copying (Cinder checks the same
    before each chunk)."""
    return _status(deps, backup_id) in (None, rules.DELETING, rules.DELETED)


def backup_payload(backup: Backup) -> dict:
    """Cinder's backup notification payload."""
    return {"backup_id": backup.id, "tenant_id": backup.project_id, "user_id": backup.user_id,
            "availability_zone": backup.availability_zone, "display_name": backup.name,
            "created_at": iso(backup.created_at), "status": backup.status,
            "volume_id": backup.volume_id, "size": backup.size,
            "service_metadata": backup.service_metadata, "service": backup.service,
            "fail_reason": backup.fail_reason, "snapshot_id": backup.snapshot_id,
            "parent_id": backup.parent_id}


def _event(deps: Deps, ctx: RequestContext | None, event_type: str, backup: Backup, session,
           **extra) -> None:
    deps.notifier.notify(ctx, event_type, resource_type="backup", resource_id=backup.id,
                         project_id=backup.project_id,
                         payload={**backup_payload(backup), **extra}, session=session)
