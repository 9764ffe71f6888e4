"""Interfaces: os-interface, a NIC hot-plugged into a server or unplugged.

Attach (Nova's attach_interface: the API waits for it, 200 with the port):
    API     the server may take it (active, paused or stopped, no task);
            the network or port is checked in networkd (network_api.py)
    flow    under the server's lock: a port made on the network (with the
            server's security groups) or the user's port, bound to this
            host (ports.py); the NIC added to the domain, live when it runs
            (libvirt makes its tap, networkd plugs it); the wait until the
            port is ACTIVE; the port recorded attached
            a failure undoes it all (NIC unplugged, port given back): 500
Detach (202, the rest in the background):
    API     the port must be one of the server's attached ports; detaching
    flow    the NIC unplugged (waiting for the guest to let it go) and
            removed from the definition; the port deleted if computed made
            it, else unbound (Nova's deallocate_port_for_instance)
"""
from __future__ import annotations

import logging

from computed.db import repository as repo
from computed.db.models import Instance, VirtualInterface
from computed.domain import states
from computed.domain.networks import RequestedNetwork
from computed.flows import Deps, Undo, fault, ports
from shared.context import RequestContext
from shared.db import transaction
from shared.errors import ApiError, Conflict, NotFound

LOG = logging.getLogger(__name__)
RUNNING = (states.RUNNING, states.PAUSED_POWER)


def check_state(deps: Deps, instance_uuid: str, project_scope: str | None,
                action: str) -> Instance:
    """409 unless the server may take the action now (404 if not there)."""
    with transaction(deps.sessions, write=False) as session:
        instance = repo.get_instance(session, instance_uuid, project_scope)
        try:
            states.check(action, instance.uuid, instance.vm_state, instance.task_state,
                         instance.host)
        except (states.InvalidState, states.NotReady) as exc:
            raise Conflict(str(exc)) from None
        return instance


def attach(deps: Deps, ctx: RequestContext, instance_uuid: str, project_scope: str | None,
           wanted: RequestedNetwork) -> str:
    """Hot-plug a NIC for `wanted` (a network or the user's port); returns
    the port's id once it is plugged."""
    caller = deps.caller(ctx)
    with deps.locks.hold(instance_uuid):
        instance = check_state(deps, instance_uuid, project_scope, "attach_interface")
        groups = instance.network_request.security_groups if instance.network_request \
            else []
        _event(deps, ctx, instance_uuid, "compute.instance.interface.attach.start",
               network_id=wanted.network_id, port_id=wanted.port_id)
        undo = Undo()
        try:
            vif = ports.allocate(deps, caller, instance_uuid, wanted, groups, undo)
            live = deps.driver.power_state(instance.domain_name) in RUNNING
            with deps.instance_events.expect(instance_uuid) as heard:  # before the tap
                deps.driver.attach_interface(instance.domain_name, ports.nic(vif), live)
                undo.push(f"unplug the NIC of port {vif.port_id}",
                          lambda: deps.driver.detach_interface(
                              instance.domain_name, vif.mac_address, live,
                              deps.settings.detach_timeout))
                if live:  # a stopped server's tap appears when it starts
                    ports.wait_plugged(deps, heard, [vif.port_id])
            ports.mark_attached(deps, [vif.id])
        except Exception as exc:
            LOG.exception("attaching an interface to %s failed", instance_uuid)
            problems = undo.run()
            reason = str(exc) + (f" (and undoing it: {'; '.join(problems)})" if problems
                                 else "")
            with transaction(deps.sessions) as session:
                row = repo.get_instance(session, instance_uuid, None, include_deleted=True)
                row.fault = fault(f"Attaching an interface failed: {reason}", exc)
                deps.event(ctx, "compute.instance.interface.attach.error", row,
                           session=session, reason=reason)
            raise ApiError(f"Failed to attach network adapter device to {instance_uuid}",
                           500) from exc
        _event(deps, ctx, instance_uuid, "compute.instance.interface.attach.end",
               port_id=vif.port_id, network_id=vif.network_id, mac=vif.mac_address,
               created=vif.created)
        return vif.port_id


def begin_detach(deps: Deps, ctx: RequestContext, instance_uuid: str,
                 project_scope: str | None, port_id: str) -> None:
    """In the request: the port must be attached to the server; it is
    marked detaching (a second detach gets 409)."""
    with transaction(deps.sessions) as session:
        instance = repo.get_instance(session, instance_uuid, project_scope)
        try:
            states.check("detach_interface", instance.uuid, instance.vm_state,
                         instance.task_state, instance.host)
        except (states.InvalidState, states.NotReady) as exc:
            raise Conflict(str(exc)) from None
        vif = next((v for v in instance.vifs if v.port_id == port_id), None)
        if vif is None:
            raise NotFound(f"Port {port_id} is not attached")
        if vif.status != "attached":
            raise Conflict(f"Port {port_id} is {vif.status}: it can be detached once it is "
                           f"attached.")
        vif.status = "detaching"
        deps.event(ctx, "compute.instance.interface.detach.start", instance,
                   session=session, port_id=port_id)


def detach(deps: Deps, ctx: RequestContext, instance_uuid: str, port_id: str) -> None:
    """In the background: unplug the NIC, then give the port back."""
    caller = deps.caller(ctx)
    with deps.locks.hold(instance_uuid):
        with transaction(deps.sessions, write=False) as session:
            instance = repo.get_instance(session, instance_uuid, None, include_deleted=True)
            vif = next((v for v in instance.vifs if v.port_id == port_id), None)
            if vif is None or vif.status != "detaching":
                return  # the server was deleted meanwhile: terminate did it
            session.expunge(vif)
        try:
            live = deps.driver.power_state(instance.domain_name) in RUNNING
            deps.driver.detach_interface(instance.domain_name, vif.mac_address, live,
                                         deps.settings.detach_timeout)
            ports.give_back(deps, caller, vif)
        except Exception as exc:
            LOG.exception("detaching port %s from %s failed", port_id, instance_uuid)
            with transaction(deps.sessions) as session:
                row = session.get(VirtualInterface, vif.id)
                if row is not None:
                    row.status = "attached"  # the detach can be asked again
                server = repo.get_instance(session, instance_uuid, None,
                                           include_deleted=True)
                server.fault = fault(f"Detaching port {port_id} failed: {exc}", exc)
                deps.event(ctx, "compute.instance.interface.detach.error", server,
                           session=session, port_id=port_id, reason=str(exc))
            return
        _event(deps, ctx, instance_uuid, "compute.instance.interface.detach.end",
               port_id=port_id, created=vif.created)


def _event(deps: Deps, ctx, uuid: str, event_type: str, **payload) -> None:
    with transaction(deps.sessions) as session:
        instance = repo.get_instance(session, uuid, None, include_deleted=True)
        deps.event(ctx, event_type, instance, session=session, **payload)
