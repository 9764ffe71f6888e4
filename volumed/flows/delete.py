"""Deleting a volume.

    check: no attachments, an allowed status (any status with force), no
    snapshots unless cascade  -> deleting
    -> remove any leftover export, the snapshots' files, the volume's file
    -> deleted (the row stays, marked deleted, as Cinder keeps it)
A failure leaves error_deleting, and the delete can be tried again.
"""
from __future__ import annotations

import logging

from shared.context import RequestContext
from shared.db import transaction
from shared.errors import BadRequest
from volumed import repo
from volumed.domain import status
from volumed.flows import Deps, now
from volumed.models import Snapshot, Volume
from volumed.target.base import TargetError

LOG = logging.getLogger(__name__)


def delete_volume(deps: Deps, ctx: RequestContext, project_id: str | None, volume_id: str, *,
                  cascade: bool = False, force: bool = False) -> None:
    with transaction(deps.sessions) as session:
        volume = repo.get_volume(session, volume_id, project_id)
        attachments = repo.active_attachments(session, volume.id)
        if attachments:
            raise BadRequest(f"Invalid volume: Volume {volume.id} has {len(attachments)} "
                             f"attachment(s) (status {volume.status}); detach it before "
                             f"deleting it.")
        status.require("force_delete" if force else "delete", volume.status)
        snapshots = repo.snapshots_of(session, volume.id)
        if snapshots and not cascade:
            raise BadRequest(f"Invalid volume: Volume {volume.id} still has "
                             f"{len(snapshots)} dependent snapshot(s); delete them first "
                             f"or pass cascade=True.")
        for snapshot in snapshots:
            snapshot.status = status.SNAPSHOT_DELETING
        volume.previous_status, volume.status = volume.status, status.DELETING
        snapshot_ids = [snapshot.id for snapshot in snapshots]
        deps.event(ctx, "volume.delete.start", volume, session=session)

    try:
        _remove_stale_export(deps, volume.id)
        for snapshot_id in snapshot_ids:
            deps.backend.delete_snapshot(snapshot_id)
        deps.backend.delete(volume.id)
    except Exception as exc:
        LOG.warning("deleting volume %s failed: %s", volume.id, exc)
        with transaction(deps.sessions) as session:
            volume = session.get_one(Volume, volume.id)
            volume.status = status.ERROR_DELETING
            volume.error_message = str(exc)
            deps.event(ctx, "volume.delete.error", volume, session=session, reason=str(exc))
        return

    with transaction(deps.sessions) as session:
        volume = session.get_one(Volume, volume.id)
        for snapshot_id in snapshot_ids:
            snapshot = session.get_one(Snapshot, snapshot_id)
            snapshot.deleted, snapshot.deleted_at, snapshot.status = True, now(), "deleted"
            deps.event(ctx, "snapshot.delete.end", snapshot, session=session)
        volume.deleted, volume.deleted_at, volume.status = True, now(), "deleted"
        deps.event(ctx, "volume.delete.end", volume, session=session)


def _remove_stale_export(deps: Deps, volume_id: str) -> None:
    """A volume without attachments has no export, unless a detach failed
    half-way; never serve the file of a deleted volume."""
    try:
        deps.target.remove_export(deps.iqn(volume_id))
    except TargetError:
        if deps.target.alive():
            raise
        # tgtd is down: it has no targets at all, and when it comes back the
        # export watcher only re-creates exports of attached volumes.
