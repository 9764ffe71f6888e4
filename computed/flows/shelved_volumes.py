"""Volumes of a shelved server (microversion 2.20, Nova's
_attach_volume_shelved_offloaded and _detach_volume_shelved_offloaded).

A shelved server that is still on its host (not offloaded) has its domain,
powered off: a volume is attached and detached as for a stopped server
(volumes.py). An offloaded one has no host, so nothing is connected:

    attach   the volume is reserved in volumed (an attachment without a
             connector) and recorded, "attaching": unshelve connects it
             with the server's other volumes (shelve.py, step 4)
    detach   its attachment is deleted (the volume is available again) and
             the record goes, at once
"""
from __future__ import annotations

from computed.db import repository as repo
from computed.db.models import BlockDeviceMapping
from computed.domain import states
from computed.flows import Deps
from computed.flows.volumes import begin_attach, release_volume
from shared.context import RequestContext
from shared.db import transaction
from shared.errors import BadRequest, Conflict, NotFound

ATTACH, DETACH = "attach_volume_shelved", "detach_volume_shelved"


def attach_offloaded(deps: Deps, ctx: RequestContext, instance_uuid: str, project_scope,
                     volume_id: str) -> BlockDeviceMapping:
    bdm = begin_attach(deps, ctx, instance_uuid, project_scope, volume_id, action=ATTACH)
    with transaction(deps.sessions) as session:
        instance = repo.get_instance(session, instance_uuid, None)
        deps.event(ctx, "compute.instance.volume.attach.end", instance, session=session,
                   volume_id=volume_id, device=f"/dev/{bdm.device_name}")
    return bdm


def detach_offloaded(deps: Deps, ctx: RequestContext, instance_uuid: str, project_scope,
                     volume_id: str) -> None:
    with transaction(deps.sessions) as session:
        instance = repo.get_instance(session, instance_uuid, project_scope)
        try:
            states.check(DETACH, instance.uuid, instance.vm_state, instance.task_state,
                         instance.host)
        except (states.InvalidState, states.NotReady) as exc:
            raise Conflict(str(exc)) from None
        bdm = repo.find_volume_mapping(instance, volume_id)
        if bdm is None:
            raise NotFound(f"Volume {volume_id} is not attached to server {instance_uuid}.")
        if bdm.boot_index == 0:
            raise BadRequest("Cannot detach a root device volume")
        session.expunge(bdm)
    release_volume(deps, deps.caller(ctx), bdm)
    with transaction(deps.sessions) as session:
        row = session.get(BlockDeviceMapping, bdm.id)
        if row is not None:
            session.delete(row)
        instance = repo.get_instance(session, instance_uuid, None)
        deps.event(ctx, "compute.instance.volume.detach.end", instance, session=session,
                   volume_id=volume_id, device=f"/dev/{bdm.device_name}")
