"""Reverting a volume to its latest snapshot (Cinder 3.40, the `revert`
action): the volume's data becomes the snapshot's again.

    check: the snapshot named is the volume's latest, of the same size
           (400); volume available and snapshot available (409)
    volume available -> reverting, snapshot available -> restoring
    the backend replaces the volume's data with the snapshot's (background)
    both back to available | volume error, snapshot available on failure

Only the latest snapshot: an older one would silently drop the snapshots
taken after it from the volume's history. Only the same size: the snapshot's
data has no room for what a grown volume holds past its end.
"""
from __future__ import annotations

import logging

from shared.context import RequestContext
from shared.db import transaction
from shared.errors import BadRequest, Conflict
from volumed import repo
from volumed.domain import status
from volumed.flows import Deps, now
from volumed.models import Snapshot, Volume

LOG = logging.getLogger(__name__)


def revert_to_snapshot(deps: Deps, ctx: RequestContext, project_id: str | None,
                       volume_id: str, snapshot_id: object) -> None:
    with transaction(deps.sessions) as session:
        volume = repo.get_volume(session, volume_id, project_id)
        latest = _latest_snapshot(session, volume.id)
        if latest is None:
            raise BadRequest(f"Volume {volume.id} doesn't have any snapshots.")
        if snapshot_id is None or snapshot_id != latest.id:
            raise BadRequest(f"Specified snapshot {snapshot_id} is None or not the latest "
                             f"one of volume {volume.id}.")
        if volume.size != latest.size:
            raise BadRequest(f"Can't revert volume {volume.id} to its latest snapshot "
                             f"{latest.id}. The volume size must be equal to the "
                             f"snapshot size.")
        if volume.status != status.AVAILABLE:
            raise Conflict(f"Invalid volume: Can't revert volume {volume.id} to its latest "
                           f"snapshot {latest.id}. Volume's status must be 'available'.")
        if latest.status != status.SNAPSHOT_AVAILABLE:
            raise Conflict(f"Invalid snapshot: Can't revert volume {volume.id} to its latest "
                           f"snapshot {latest.id}. Snapshot's status must be 'available'.")
        volume.status, volume.updated_at = status.REVERTING, now()
        latest.status, latest.updated_at = status.SNAPSHOT_RESTORING, now()
        deps.event(ctx, "volume.revert.start", volume, session=session)
        deps.event(ctx, "snapshot.revert.start", latest, session=session)
        snapshot = latest.id

    def revert() -> None:
        try:
            deps.backend.revert_to_snapshot(volume_id, snapshot)
        except Exception as exc:
            LOG.warning("reverting volume %s to snapshot %s failed: %s", volume_id,
                        snapshot, exc)
            _finish(deps, ctx, volume_id, snapshot, status.ERROR, str(exc))
            return
        LOG.info("volume %s reverted to snapshot %s", volume_id, snapshot)
        _finish(deps, ctx, volume_id, snapshot, status.AVAILABLE, None)

    deps.background(f"revert-{volume_id}", revert)


def _latest_snapshot(session, volume_id: str) -> Snapshot | None:
    """Cinder's Volume.get_latest_snapshot: the newest live snapshot."""
    snapshots = repo.snapshots_of(session, volume_id)
    return max(snapshots, key=lambda s: (s.created_at, s.id)) if snapshots else None


def _finish(deps: Deps, ctx: RequestContext, volume_id: str, snapshot_id: str,
            volume_status: str, error: str | None) -> None:
    """The volume to available (or error), the snapshot always back to
    available: the backend never touches it."""
    with transaction(deps.sessions) as session:
        volume = session.get_one(Volume, volume_id)
        volume.status, volume.updated_at = volume_status, now()
        if error is not None:
            volume.error_message = error
        snapshot = session.get_one(Snapshot, snapshot_id)
        snapshot.status, snapshot.updated_at = status.SNAPSHOT_AVAILABLE, now()
        deps.event(ctx, "volume.revert.end", volume, session=session)
        deps.event(ctx, "snapshot.revert.end", snapshot, session=session)
