"""Snapshots: a point-in-time full copy of a volume's file (sparse, so it
only costs the blocks that were written).

create: volume available (or in-use with force) + quota -> creating ->
        copy in the background -> available | error
delete: available/error -> deleting -> file removed -> deleted
"""
from __future__ import annotations

import logging

from shared.context import RequestContext
from shared.db import transaction
from shared.errors import BadRequest
from volumed import repo
from volumed.domain import quotas, status
from volumed.flows import Deps, now
from volumed.models import Snapshot

LOG = logging.getLogger(__name__)


def create_snapshot(deps: Deps, ctx: RequestContext, project_id: str, volume_id: str, *,
                    name: str | None, description: str | None, metadata: dict | None,
                    force: bool) -> Snapshot:
    with transaction(deps.sessions) as session:
        # an admin snapshots any project's volume (Cinder looks it up with
        # the caller's context: an admin's sees every project)
        volume = repo.get_volume(session, volume_id, None if ctx.is_admin else project_id)
        status.require("snapshot_forced" if force else "snapshot", volume.status)
        limits = repo.limits(session, volume.project_id, deps.settings.quota_defaults)
        quotas.check(limits, repo.usage(session, volume.project_id), snapshots=1,
                     gigabytes=volume.size)
        snapshot = Snapshot(id=repo.new_id(), volume_id=volume.id, project_id=volume.project_id,
                            user_id=ctx.user_id, name=name, description=description,
                            size=volume.size, status=status.SNAPSHOT_CREATING,
                            metadata_=metadata or {})
        session.add(snapshot)
        deps.event(ctx, "snapshot.create.start", snapshot, session=session)

    def copy() -> None:
        try:
            deps.backend.create_snapshot(volume_id, snapshot.id)
        except Exception as exc:
            LOG.warning("snapshot %s of volume %s failed: %s", snapshot.id, volume_id, exc)
            _set_status(deps, ctx, snapshot.id, status.SNAPSHOT_ERROR, "snapshot.create.error",
                        reason=str(exc))
            return
        _set_status(deps, ctx, snapshot.id, status.SNAPSHOT_AVAILABLE, "snapshot.create.end")

    deps.background(f"snapshot-{snapshot.id}", copy)
    return snapshot


def delete_snapshot(deps: Deps, ctx: RequestContext, project_id: str | None,
                    snapshot_id: str, *, force: bool = False) -> None:
    with transaction(deps.sessions) as session:
        snapshot = repo.get_snapshot(session, snapshot_id, project_id)
        if not force:
            status.require_snapshot("delete", snapshot.status)
        snapshot.status = status.SNAPSHOT_DELETING
        deps.event(ctx, "snapshot.delete.start", snapshot, session=session)
    try:
        deps.backend.delete_snapshot(snapshot_id)
    except Exception as exc:
        LOG.warning("deleting snapshot %s failed: %s", snapshot_id, exc)
        _set_status(deps, ctx, snapshot_id, status.SNAPSHOT_ERROR_DELETING,
                    "snapshot.delete.error", reason=str(exc))
        return
    with transaction(deps.sessions) as session:
        snapshot = session.get_one(Snapshot, snapshot_id)
        snapshot.deleted, snapshot.deleted_at, snapshot.status = True, now(), "deleted"
        deps.event(ctx, "snapshot.delete.end", snapshot, session=session)


def update_snapshot(deps: Deps, ctx: RequestContext, project_id: str | None, snapshot_id: str,
                    changes: dict) -> Snapshot:
    with transaction(deps.sessions) as session:
        snapshot = repo.get_snapshot(session, snapshot_id, project_id)
        for key in ("name", "description"):
            if key in changes:
                setattr(snapshot, key, changes[key])
        if "metadata" in changes:
            snapshot.metadata_ = dict(changes["metadata"])
        snapshot.updated_at = now()
        deps.event(ctx, "snapshot.update", snapshot, session=session)
        return snapshot


def set_snapshot_metadata(deps: Deps, ctx: RequestContext, project_id: str | None,
                          snapshot_id: str, items: dict[str, str], *,
                          replace: bool) -> dict[str, str]:
    """Add `items` to the snapshot's metadata (replace: make them all of it);
    returns the metadata as it now is."""
    with transaction(deps.sessions) as session:
        snapshot = repo.get_snapshot(session, snapshot_id, project_id)
        current = {} if replace else dict(snapshot.metadata_ or {})
        snapshot.metadata_ = {**current, **items}
        snapshot.updated_at = now()
        deps.event(ctx, "snapshot.update", snapshot, session=session)
        return dict(snapshot.metadata_)


def reset_snapshot_status(deps: Deps, ctx: RequestContext, snapshot_id: str,
                          new_status: str | None) -> None:
    if new_status not in status.SNAPSHOT_STATUSES:
        raise BadRequest(f"Invalid input received: Must specify a valid status (one of "
                         f"{', '.join(status.SNAPSHOT_STATUSES)}), not {new_status!r}.")
    with transaction(deps.sessions) as session:
        snapshot = repo.get_snapshot(session, snapshot_id, None)
        snapshot.status = new_status
        deps.event(ctx, "snapshot.reset_status", snapshot, session=session)


def _set_status(deps: Deps, ctx, snapshot_id: str, new_status: str, event: str,
                **extra) -> None:
    """`extra`: more of the event's payload (an error's reason: a snapshot
    has no field of its own for it, as in Cinder)."""
    with transaction(deps.sessions) as session:
        snapshot = session.get_one(Snapshot, snapshot_id)
        snapshot.status, snapshot.updated_at = new_status, now()
        deps.event(ctx, event, snapshot, session=session, **extra)
