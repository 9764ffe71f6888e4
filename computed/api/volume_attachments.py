"""/v2.1/servers/{id}/os-volume_attachments: attach (200 with the device
name), list, show, detach (202). The work is in flows/volumes.py; from
microversion 2.20 a shelved server's too (flows/shelved_volumes.py)."""
from __future__ import annotations

import uuid as uuidlib

from flask import Blueprint, Response, jsonify

from computed.api import locking, render, schemas
from computed.api.common import API_PREFIX, authorize, project_scope, runtime
from computed.api.microversion import SHELVED_VOLUMES, at_least
from computed.db import repository as repo
from computed.domain import states
from computed.flows import shelved_volumes, volumes
from shared.api import context, json_body
from shared.db import transaction
from shared.errors import BadRequest, NotFound
from shared.openapi import describe

bp = Blueprint("volume_attachments", __name__, url_prefix=API_PREFIX)


def load(session, server_id: str, rule: str):
    instance = repo.get_instance(session, server_id, project_scope())
    authorize(rule, context(), project_id=instance.project_id)
    return instance


def _shelved(vm_state: str) -> bool:
    """A shelved server's volumes change from 2.20 on (before: 409, as
    attach_volume's state rule says)."""
    return vm_state in (states.SHELVED, states.SHELVED_OFFLOADED) and \
        at_least(SHELVED_VOLUMES)


@bp.get("/servers/<server_id>/os-volume_attachments")
def list_attachments(server_id):
    with transaction(runtime().deps.sessions, write=False) as session:
        instance = load(session, server_id, "os-volumes-attachments:index")
        return jsonify({"volumeAttachments": [render.volume_attachment(instance, bdm)
                                              for bdm in instance.volumes]})


@bp.get("/servers/<server_id>/os-volume_attachments/<volume_id>")
def show_attachment(server_id, volume_id):
    with transaction(runtime().deps.sessions, write=False) as session:
        instance = load(session, server_id, "os-volumes-attachments:show")
        bdm = repo.find_volume_mapping(instance, volume_id)
        if bdm is None:
            raise NotFound(f"volume_id not found: {volume_id}")
        return jsonify({"volumeAttachment": render.volume_attachment(instance, bdm)})


@bp.post("/servers/<server_id>/os-volume_attachments")
@describe(request=schemas.VOLUME_ATTACHMENT)
def attach(server_id):
    ctx = context()
    deps = runtime().deps
    spec = json_body().get("volumeAttachment")
    if not isinstance(spec, dict):
        raise BadRequest("Invalid input: the body must be {\"volumeAttachment\": {...}}.")
    volume_id = spec.get("volumeId")
    try:
        uuidlib.UUID(str(volume_id))
    except ValueError:
        raise BadRequest(f"Invalid input for field/attribute volumeId. Value: "
                         f"{volume_id}. It is not a UUID.") from None
    schemas.checked_nova({"volumeAttachment": spec}, schemas.VOLUME_ATTACHMENT)
    with transaction(deps.sessions, write=False) as session:
        instance = load(session, server_id, "os-volumes-attachments:create")
        locking.require_unlocked(session, instance)
        vm_state = instance.vm_state
    # The device the client asks for is ignored, as by Nova's libvirt
    # driver: the guest names its disks in the order they appear.
    if _shelved(vm_state) and vm_state == states.SHELVED_OFFLOADED:
        bdm = shelved_volumes.attach_offloaded(deps, ctx, server_id, project_scope(),
                                               volume_id)
    else:
        bdm = volumes.begin_attach(deps, ctx, server_id, project_scope(), volume_id,
                                   shelved_volumes.ATTACH if _shelved(vm_state)
                                   else "attach_volume")
        deps.background(deps.actions, f"attach-{volume_id}",
                        lambda: volumes.attach(deps, ctx, server_id, bdm.id))
    with transaction(deps.sessions, write=False) as session:
        instance = repo.get_instance(session, server_id, None)
        return jsonify({"volumeAttachment": render.volume_attachment(instance, bdm)})


@bp.delete("/servers/<server_id>/os-volume_attachments/<volume_id>")
def detach(server_id, volume_id):
    ctx = context()
    deps = runtime().deps
    with transaction(deps.sessions, write=False) as session:
        instance = load(session, server_id, "os-volumes-attachments:delete")
        locking.require_unlocked(session, instance)
        vm_state = instance.vm_state
    if _shelved(vm_state) and vm_state == states.SHELVED_OFFLOADED:
        shelved_volumes.detach_offloaded(deps, ctx, server_id, project_scope(), volume_id)
        return Response(status=202)
    volumes.begin_detach(deps, ctx, server_id, project_scope(), volume_id,
                         shelved_volumes.DETACH if _shelved(vm_state) else "detach_volume")
    deps.background(deps.actions, f"detach-{volume_id}",
                    lambda: volumes.detach(deps, ctx, server_id, volume_id))
    return Response(status=202)
