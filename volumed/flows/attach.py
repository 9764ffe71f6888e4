"""Attaching: how a compute service gets to a volume's data over iSCSI (or,
for a volume of the rbd backend, straight from Ceph: no export, and
connection_info says where the RBD image is and which cephx user reads it).

The attachments API (Cinder 3.27+, complete since 3.44), what Nova uses:
    POST   attachments {volume_uuid, instance_uuid}     volume -> reserved
    PUT    attachments/{id} {connector}                  -> attaching, and the
           target is created in tgtd; the answer carries connection_info:
           portal, IQN, LUN and a fresh CHAP user and password
    POST   attachments/{id}/action {"os-complete"}       -> in-use
(detach.py has the way back). The older actions (os-reserve,
os-initialize_connection, os-attach...) drive the same records.

The CHAP secrets are made here, fresh for each attachment, kept in volumed's
database (so that an export can be re-made identically after a restart),
sent to tgtd over its socket (never on a command line), and given only to
the caller, in connection_info. They are never logged.
"""
from __future__ import annotations

import logging

from shared.context import RequestContext
from shared.db import transaction
from shared.errors import ApiError, BadRequest
from shared.secrets import generate_password
from volumed import repo
from volumed.domain import status
from volumed.flows import Deps, now, readonly
from volumed.models import Attachment, Volume
from volumed.target.base import LUN, Export, TargetError

LOG = logging.getLogger(__name__)


class ExportFailed(ApiError):
    status = 503


# --- the attachments API -----------------------------------------------------------
def create_attachment(deps: Deps, ctx: RequestContext, project_id: str | None, volume_id: str,
                      instance_uuid: str | None, connector: dict | None,
                      mode: str | None) -> tuple[Attachment, dict | None]:
    if mode not in (None, "rw", "ro"):
        raise BadRequest("Invalid input received: mode must be rw or ro.")
    if connector:   # checked before anything is reserved: a bad one leaves nothing
        _check_connector(connector)
    with transaction(deps.sessions) as session:
        volume = repo.get_volume(session, volume_id, project_id)
        _refuse_second_attachment(session, volume)
        status.require("attachment_create", volume.status)
        attachment = Attachment(id=repo.new_id(), volume_id=volume.id,
                                project_id=volume.project_id, instance_uuid=instance_uuid,
                                attach_status="reserved",
                                attach_mode=readonly.mode_for_new_attachment(
                                    session, volume.id, mode))
        session.add(attachment)
        volume.status = status.RESERVED
        deps.event(ctx, "volume.reserve", volume, session=session,
                   attachment_id=attachment.id, instance_uuid=instance_uuid)
    info = connect(deps, ctx, project_id, attachment.id, connector) if connector else None
    with transaction(deps.sessions, write=False) as session:
        return repo.get_attachment(session, attachment.id, None), info


def connect(deps: Deps, ctx: RequestContext, project_id: str | None, attachment_id: str,
            connector: dict) -> dict:
    """Export the volume to the connector's initiator; return connection_info."""
    _check_connector(connector)
    with transaction(deps.sessions) as session:
        attachment = repo.get_attachment(session, attachment_id, project_id)
        volume = repo.get_volume(session, attachment.volume_id, None)
        status.require("attachment_update", volume.status)
        before = (attachment.attach_status, volume.status, attachment.connector)
        if not attachment.chap_username:
            attachment.chap_username = "vol" + generate_password(17)
            attachment.chap_password = generate_password(24)
        attachment.connector = connector
        attachment.attached_host = connector.get("host")
        if connector.get("mountpoint"):
            attachment.mountpoint = connector["mountpoint"]
        if attachment.attach_status == "reserved":
            attachment.attach_status = "attaching"
        if volume.status == status.RESERVED:
            volume.status = status.ATTACHING
        deps.event(ctx, "volume.attach.start", volume, session=session,
                   attachment_id=attachment.id, instance_uuid=attachment.instance_uuid,
                   initiator=connector.get("initiator"))
        export = export_for(deps, attachment, volume) \
            if deps.backend.needs_target(volume.id) else None

    try:
        if export is not None:   # an rbd volume needs none: the host reaches Ceph itself
            deps.target.ensure_export(export)
    except TargetError as exc:
        LOG.error("exporting volume %s failed: %s", volume.id, exc)
        with transaction(deps.sessions) as session:
            attachment = session.get_one(Attachment, attachment_id)
            volume = session.get_one(Volume, attachment.volume_id)
            attachment.attach_status, volume.status, attachment.connector = before
            deps.event(ctx, "volume.attach.error", volume, session=session,
                       attachment_id=attachment_id, reason=str(exc))
        raise ExportFailed(f"The volume could not be exported: {exc}") from None

    with transaction(deps.sessions, write=False) as session:
        attachment = session.get_one(Attachment, attachment_id)
        return connection_info(deps, attachment)


def complete(deps: Deps, ctx: RequestContext, project_id: str | None,
             attachment_id: str) -> None:
    """The caller has attached the device: the volume is in-use."""
    with transaction(deps.sessions) as session:
        attachment = repo.get_attachment(session, attachment_id, project_id)
        if attachment.attach_status not in ("attaching", "attached"):
            raise BadRequest(f"Invalid attachment: attachment {attachment_id} is "
                             f"{attachment.attach_status}; give it a connector (PUT) "
                             f"before completing it.")
        volume = repo.get_volume(session, attachment.volume_id, None)
        attachment.attach_status = "attached"
        attachment.attach_time = attachment.attach_time or now()
        volume.status = status.IN_USE
        volume.updated_at = now()
        deps.event(ctx, "volume.attach.end", volume, session=session,
                   attachment_id=attachment.id, instance_uuid=attachment.instance_uuid)


# --- the older actions ---------------------------------------------------------------
def reserve(deps: Deps, ctx: RequestContext, project_id: str | None, volume_id: str) -> None:
    with transaction(deps.sessions) as session:
        volume = repo.get_volume(session, volume_id, project_id)
        status.require("reserve", volume.status)
        volume.status = status.ATTACHING  # what Cinder's os-reserve sets
        deps.event(ctx, "volume.reserve", volume, session=session)


def unreserve(deps: Deps, ctx: RequestContext, project_id: str | None, volume_id: str) -> None:
    with transaction(deps.sessions) as session:
        volume = repo.get_volume(session, volume_id, project_id)
        status.require("unreserve", volume.status)
        if not any(a.attach_status in ("attaching", "attached")
                   for a in repo.active_attachments(session, volume.id)):
            volume.status = status.AVAILABLE
        deps.event(ctx, "volume.unreserve", volume, session=session)


def initialize_connection(deps: Deps, ctx: RequestContext, project_id: str | None,
                          volume_id: str, connector: dict) -> dict:
    """os-initialize_connection: export to this connector (reusing the
    volume's pending or matching attachment record), return
    {"driver_volume_type": "iscsi", "data": {...}}."""
    _check_connector(connector)
    with transaction(deps.sessions) as session:
        volume = repo.get_volume(session, volume_id, project_id)
        status.require("initialize_connection", volume.status)
        attachment = _legacy_attachment(session, volume, connector)
        if attachment is None:
            attachment = Attachment(id=repo.new_id(), volume_id=volume.id,
                                    project_id=volume.project_id, attach_status="attaching",
                                    attach_mode=readonly.mode_for_connection(session,
                                                                             volume.id))
            session.add(attachment)
        attachment_id = attachment.id
    flat = connect(deps, ctx, project_id, attachment_id, connector)
    data = {k: v for k, v in flat.items() if k not in ("driver_volume_type", "attachment_id",
                                                          "enforce_multipath")}
    return {"driver_volume_type": flat["driver_volume_type"], "data": data}


def attach(deps: Deps, ctx: RequestContext, project_id: str | None, volume_id: str,
           options: dict) -> None:
    """os-attach: record that an instance uses the volume (in-use)."""
    mode = options.get("mode") or "rw"
    if mode not in ("rw", "ro"):
        raise BadRequest("Invalid input received: mode must be rw or ro.")
    with transaction(deps.sessions) as session:
        volume = repo.get_volume(session, volume_id, project_id)
        status.require("attach", volume.status)
        readonly.record_attach_mode(session, volume.id, mode)
        pending = [a for a in repo.active_attachments(session, volume.id)
                   if a.attach_status in ("reserved", "attaching")]
        attached = [a for a in repo.active_attachments(session, volume.id)
                    if a.attach_status == "attached"]
        if attached and not pending:
            raise BadRequest(f"Invalid volume: volume {volume.id} is already attached and "
                             f"is not multiattach.")
        attachment = pending[0] if pending else Attachment(
            id=repo.new_id(), volume_id=volume.id, project_id=volume.project_id,
            attach_status="attaching")
        if not pending:
            session.add(attachment)
        attachment.instance_uuid = options.get("instance_uuid") or attachment.instance_uuid
        attachment.mountpoint = options.get("mountpoint") or attachment.mountpoint
        attachment.attached_host = options.get("host_name") or attachment.attached_host
        attachment.attach_mode = mode
        attachment.attach_status = "attached"
        attachment.attach_time = now()
        volume.status = status.IN_USE
        deps.event(ctx, "volume.attach.end", volume, session=session,
                   attachment_id=attachment.id, instance_uuid=attachment.instance_uuid)


# --- shared pieces -------------------------------------------------------------------
def export_for(deps: Deps, attachment: Attachment, volume: Volume) -> Export:
    if not attachment.chap_username or not attachment.chap_password:
        raise ValueError(f"attachment {attachment.id} has no CHAP account to export with")
    connector = attachment.connector or {}
    initiator = connector.get("initiator")
    return Export(iqn=deps.iqn(volume.id), path=deps.backend.device_path(volume.id),
                  chap_username=attachment.chap_username,
                  chap_password=attachment.chap_password,
                  initiator_name=initiator or None,
                  initiator_address=None if initiator else connector.get("ip"))


def connection_info(deps: Deps, attachment: Attachment) -> dict:
    """Cinder's connection_info, flat as the attachments API returns it:
    iSCSI (portal, IQN, LUN, CHAP), or what the backend says for a volume
    the host reaches itself (rbd: monitors, pool/name, cephx user, secret)."""
    direct = deps.backend.connection(attachment.volume_id)
    if direct is not None:
        return {**direct, "access_mode": attachment.attach_mode, "encrypted": False,
                "cacheable": False, "qos_specs": None, "attachment_id": attachment.id,
                "enforce_multipath": False}
    return {"driver_volume_type": "iscsi", "target_discovered": False,
            "target_iqn": deps.iqn(attachment.volume_id), "target_portal": deps.settings.portal,
            "target_lun": LUN, "volume_id": attachment.volume_id,
            "auth_method": "CHAP", "auth_username": attachment.chap_username,
            "auth_password": attachment.chap_password, "discard": False,
            "access_mode": attachment.attach_mode, "encrypted": False, "cacheable": False,
            "qos_specs": None, "attachment_id": attachment.id, "enforce_multipath": False}


def _check_connector(connector) -> None:
    if not isinstance(connector, dict):
        raise BadRequest("Invalid input received: connector must be an object.")
    if not (connector.get("initiator") or connector.get("ip")):
        raise BadRequest("Invalid input received: the connector must name an initiator "
                         "(its IQN) or an ip, so that the target can be restricted to it.")


def _refuse_second_attachment(session, volume: Volume) -> None:
    if repo.active_attachments(session, volume.id):
        raise BadRequest(f"Invalid volume: volume {volume.id} already has an attachment "
                         f"(status {volume.status}) and is not multiattach.")


def _legacy_attachment(session, volume: Volume, connector: dict) -> Attachment | None:
    active = repo.active_attachments(session, volume.id)
    for attachment in active:
        if attachment.attach_status in ("reserved", "attaching"):
            return attachment
        previous = attachment.connector or {}
        if previous.get("initiator") == connector.get("initiator") and \
                previous.get("ip") == connector.get("ip"):
            return attachment
    if active:
        raise BadRequest(f"Invalid volume: volume {volume.id} is attached to another "
                         f"initiator and is not multiattach.")
    return None
