"""Changing a volume in place: name, description and metadata (any status),
extend (grow an available volume, or from 3.42 an in-use one), and the
admin's reset of a status."""
from __future__ import annotations

import logging

from shared.context import RequestContext
from shared.db import transaction
from shared.errors import BadRequest
from volumed import repo
from volumed.domain import quotas, status
from volumed.flows import Deps, now
from volumed.models import Volume

LOG = logging.getLogger(__name__)


def update_volume(deps: Deps, ctx: RequestContext, project_id: str | None, volume_id: str,
                  changes: dict) -> None:
    with transaction(deps.sessions) as session:
        volume = repo.get_volume(session, volume_id, project_id)
        if "name" in changes:
            volume.name = changes["name"]
        if "description" in changes:
            volume.description = changes["description"]
        if "metadata" in changes:
            volume.metadata_ = dict(changes["metadata"])
        volume.updated_at = now()
        deps.event(ctx, "volume.update", volume, session=session)


def set_metadata(deps: Deps, ctx: RequestContext, project_id: str | None, volume_id: str,
                 items: dict, *, replace: bool) -> dict:
    with transaction(deps.sessions) as session:
        volume = repo.get_volume(session, volume_id, project_id)
        volume.metadata_ = dict(items) if replace else {**(volume.metadata_ or {}), **items}
        volume.updated_at = now()
        deps.event(ctx, "volume.update", volume, session=session)
        return dict(volume.metadata_)


def delete_metadata_key(deps: Deps, ctx: RequestContext, project_id: str | None,
                        volume_id: str, key: str) -> None:
    from shared.errors import NotFound
    with transaction(deps.sessions) as session:
        volume = repo.get_volume(session, volume_id, project_id)
        metadata = dict(volume.metadata_ or {})
        if key not in metadata:
            raise NotFound(f"Metadata key {key} of volume {volume_id} could not be found.")
        del metadata[key]
        volume.metadata_ = metadata
        volume.updated_at = now()
        deps.event(ctx, "volume.update", volume, session=session)


def extend_volume(deps: Deps, ctx: RequestContext, project_id: str | None, volume_id: str,
                  new_size: int, *, attached: bool = False) -> None:
    """available -> extending -> available with the new size. The file only
    grows: the data already there is not touched.

    With `attached` (microversion 3.42, Cinder's extend_attached_volume) an
    in-use volume too: in-use -> extending -> the file grown -> its LUN made
    again so the initiator sees the new size -> in-use, and then computed is
    told (volume-extended) for every server it is attached to, so that the
    running guest's disk grows as well."""
    with transaction(deps.sessions) as session:
        volume = repo.get_volume(session, volume_id, project_id)
        if volume.status == status.IN_USE and not attached:
            raise BadRequest("Invalid volume: Volume status must be available to extend, "
                             "but it is in-use (extending an in-use volume needs "
                             "microversion 3.42 or later).")
        status.require("extend_attached" if attached else "extend", volume.status)
        if new_size <= volume.size:
            raise BadRequest(f"Invalid input received: New size for extend must be greater "
                             f"than current size. (current: {volume.size}, "
                             f"extended: {new_size}).")
        limit = deps.settings.per_volume_gigabytes
        if limit != -1 and new_size > limit:
            raise BadRequest(f"Invalid input received: Volume size {new_size} GiB exceeds "
                             f"the per-volume limit of {limit} GiB.")
        limits = repo.limits(session, volume.project_id, deps.settings.quota_defaults)
        quotas.check(limits, repo.usage(session, volume.project_id),
                     gigabytes=new_size - volume.size)
        volume.previous_status, volume.status = volume.status, status.EXTENDING
        deps.event(ctx, "volume.resize.start", volume, session=session, new_size=new_size)

    was_in_use = volume.previous_status == status.IN_USE
    try:
        deps.backend.extend(volume.id, new_size)
        if was_in_use:
            deps.target.refresh_size(deps.iqn(volume.id))
    except Exception as exc:
        LOG.warning("extending volume %s failed: %s", volume.id, exc)
        with transaction(deps.sessions) as session:
            volume = session.get_one(Volume, volume.id)
            volume.status = status.ERROR_EXTENDING
            volume.error_message = str(exc)
            deps.event(ctx, "volume.resize.error", volume, session=session, reason=str(exc))
        return
    with transaction(deps.sessions) as session:
        volume = session.get_one(Volume, volume.id)
        volume.size, volume.updated_at = new_size, now()
        volume.status = status.IN_USE if was_in_use else status.AVAILABLE
        deps.event(ctx, "volume.resize.end", volume, session=session)
        servers = [a.instance_uuid for a in repo.active_attachments(session, volume.id)
                   if a.instance_uuid] if was_in_use else []
    if servers and deps.compute is not None:
        # After the answer: computed asks volumed the new size while it works.
        compute, extended = deps.compute, volume.id
        deps.background(f"volume-extended-{extended}",
                        lambda: compute.volume_extended(servers, extended))


def reset_status(deps: Deps, ctx: RequestContext, volume_id: str, body: dict) -> None:
    """The admin's way out of a stuck status. With attach_status=detached
    the volume's attachments are dropped too (and their exports removed)."""
    new_status = body.get("status")
    attach_status = body.get("attach_status")
    if new_status is None and attach_status is None:
        raise BadRequest("Invalid input received: Must specify 'status', 'attach_status' "
                         "or 'migration_status' for update.")
    if new_status is not None and new_status not in status.ALL_STATUSES:
        raise BadRequest(f"Invalid input received: Must specify a valid status "
                         f"(one of {', '.join(status.ALL_STATUSES)}), not {new_status!r}.")
    if attach_status not in (None, "attached", "detached"):
        raise BadRequest(f"Invalid input received: Must specify a valid attach status "
                         f"(attached or detached), not {attach_status!r}.")
    with transaction(deps.sessions) as session:
        volume = repo.get_volume(session, volume_id, None)
        dropped = []
        if attach_status == "detached":
            for attachment in repo.active_attachments(session, volume.id):
                attachment.deleted, attachment.attach_status = True, "detached"
                attachment.detach_time = now()
                dropped.append(attachment.id)
            repo.delete_admin_metadata(session, volume.id, "attached_mode")
        old = volume.status
        if new_status is not None:
            volume.status = new_status
        volume.updated_at = now()
        deps.event(ctx, "volume.reset_status", volume, session=session, old_status=old,
                   dropped_attachments=dropped)
    if dropped:
        from volumed.flows.delete import _remove_stale_export
        _remove_stale_export(deps, volume.id)


def set_bootable(deps: Deps, ctx: RequestContext, project_id: str | None, volume_id: str,
                 bootable: bool) -> None:
    with transaction(deps.sessions) as session:
        volume = repo.get_volume(session, volume_id, project_id)
        volume.bootable = bootable
        volume.updated_at = now()
        deps.event(ctx, "volume.update", volume, session=session, bootable=bootable)


def retype(deps: Deps, ctx: RequestContext, project_id: str | None, volume_id: str,
           new_type: str) -> None:
    """Every type lives on the same file backend, so a retype only changes
    the label (Cinder's "retype without migration")."""
    with transaction(deps.sessions) as session:
        volume = repo.get_volume(session, volume_id, project_id)
        if volume.status not in (status.AVAILABLE, status.IN_USE):
            raise BadRequest(f"Invalid volume: Volume status must be available or in-use "
                             f"to be retyped, but it is {volume.status}.")
        volume.volume_type_id = repo.get_type(session, new_type).id
        volume.updated_at = now()
        deps.event(ctx, "volume.retype", volume, session=session, new_type=new_type)
