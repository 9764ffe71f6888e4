"""Detaching: the way back from attach.py.

    DELETE attachments/{id}        (or the older os-terminate_connection +
                                    os-detach)
    -> the attachment is marked detaching first, so the export watcher will
       not re-create the export while it is being removed
    -> the target and its CHAP account are removed from tgtd: the secrets
       handed out for this attachment stop working at once
    -> attachment detached; the volume is available again (data kept).
"""
from __future__ import annotations

import logging

from shared.context import RequestContext
from shared.db import transaction
from shared.errors import BadRequest
from volumed import repo
from volumed.domain import status
from volumed.flows import Deps, now, readonly
from volumed.flows.attach import ExportFailed
from volumed.models import Attachment, Volume
from volumed.target.base import TargetError

LOG = logging.getLogger(__name__)


def delete_attachment(deps: Deps, ctx: RequestContext, project_id: str | None,
                      attachment_id: str) -> list[Attachment]:
    """Returns the volume's attachments that are still active."""
    with transaction(deps.sessions) as session:
        attachment = repo.get_attachment(session, attachment_id, project_id)
        volume = repo.get_volume(session, attachment.volume_id, None)
        _begin(deps, ctx, session, attachment, volume)
    _unexport(deps, ctx, attachment_id)
    return _finish(deps, ctx, attachment_id)


def begin_detaching(deps: Deps, ctx: RequestContext, project_id: str | None,
                    volume_id: str) -> None:
    with transaction(deps.sessions) as session:
        volume = repo.get_volume(session, volume_id, project_id)
        status.require("begin_detaching", volume.status)
        volume.status = status.DETACHING
        deps.event(ctx, "volume.detach.start", volume, session=session)


def roll_detaching(deps: Deps, ctx: RequestContext, project_id: str | None,
                   volume_id: str) -> None:
    with transaction(deps.sessions) as session:
        volume = repo.get_volume(session, volume_id, project_id)
        status.require("roll_detaching", volume.status)
        volume.status = status.IN_USE
        deps.event(ctx, "volume.detach.rollback", volume, session=session)


def terminate_connection(deps: Deps, ctx: RequestContext, project_id: str | None,
                         volume_id: str, connector: dict | None) -> None:
    """os-terminate_connection: stop exporting; the attachment record stays
    until os-detach. Its secrets are dropped: the next connection gets new ones."""
    with transaction(deps.sessions) as session:
        volume = repo.get_volume(session, volume_id, project_id)
        for attachment in repo.active_attachments(session, volume.id):
            attachment.chap_username = attachment.chap_password = None
        deps.event(ctx, "volume.terminate_connection", volume, session=session)
    _remove_export(deps, volume_id)


def detach(deps: Deps, ctx: RequestContext, project_id: str | None, volume_id: str,
           attachment_id: str | None) -> None:
    """os-detach: the instance no longer uses the volume."""
    with transaction(deps.sessions) as session:
        volume = repo.get_volume(session, volume_id, project_id)
        status.require("detach", volume.status)
        active = repo.active_attachments(session, volume.id)
        if attachment_id:
            matching = [a for a in active if a.id == attachment_id]
        else:
            matching = active[:1] if len(active) == 1 else []
        if not matching:
            raise BadRequest(f"Invalid volume: volume {volume_id} has no attachment "
                             f"{attachment_id or ''} to detach (it has {len(active)}).")
        attachment = matching[0]
        _begin(deps, ctx, session, attachment, volume)
    _unexport(deps, ctx, attachment.id)
    _finish(deps, ctx, attachment.id)


# --- steps -----------------------------------------------------------------------------
def _begin(deps: Deps, ctx, session, attachment: Attachment, volume: Volume) -> None:
    attachment.attach_status = "detaching"
    if volume.status in (status.IN_USE, status.ATTACHING, status.RESERVED):
        volume.status = status.DETACHING
    deps.event(ctx, "volume.detach.start", volume, session=session,
               attachment_id=attachment.id, instance_uuid=attachment.instance_uuid)


def _unexport(deps: Deps, ctx, attachment_id: str) -> None:
    try:
        _remove_export(deps, _volume_id_of(deps, attachment_id))
    except TargetError as exc:
        with transaction(deps.sessions) as session:
            attachment = session.get_one(Attachment, attachment_id)
            volume = session.get_one(Volume, attachment.volume_id)
            attachment.attach_status = "attached" if attachment.attach_time else "attaching"
            volume.status = status.IN_USE if attachment.attach_time else status.ATTACHING
            deps.event(ctx, "volume.detach.error", volume, session=session,
                       attachment_id=attachment_id, reason=str(exc))
        raise ExportFailed(f"The export could not be removed: {exc}") from None


def _finish(deps: Deps, ctx, attachment_id: str) -> list[Attachment]:
    """The attachment is gone; returns the volume's remaining active ones."""
    with transaction(deps.sessions) as session:
        attachment = session.get_one(Attachment, attachment_id)
        volume = session.get_one(Volume, attachment.volume_id)
        attachment.deleted, attachment.attach_status = True, "detached"
        attachment.detach_time = now()
        attachment.chap_username = attachment.chap_password = None  # never needed again
        session.flush()
        remaining = repo.active_attachments(session, volume.id)
        if volume.status in (status.DETACHING, status.IN_USE, status.ATTACHING,
                             status.RESERVED):
            volume.status = status.status_after_detach(len(remaining))
        if not remaining:
            readonly.forget_attach_mode(session, volume.id)
        volume.updated_at = now()
        deps.event(ctx, "volume.detach.end", volume, session=session,
                   attachment_id=attachment_id, instance_uuid=attachment.instance_uuid)
        return remaining


def _volume_id_of(deps: Deps, attachment_id: str) -> str:
    with transaction(deps.sessions, write=False) as session:
        return session.get_one(Attachment, attachment_id).volume_id


def _remove_export(deps: Deps, volume_id: str) -> None:
    try:
        deps.target.remove_export(deps.iqn(volume_id))
    except TargetError:
        if deps.target.alive():
            raise
        LOG.warning("tgtd is not running; the export of %s is gone with it", volume_id)
