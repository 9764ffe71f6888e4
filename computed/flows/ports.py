"""Ports: a server's NICs, made or bound in networkd, plugged, given back.

What launch.py, terminate.py, interfaces.py and reconcile.py share, as
Nova's nova/network/neutron.py (allocate_for_instance, deallocate_for_instance,
_unbind_ports) and the libvirt driver's wait for network-vif-plugged:

    allocate    for a network: a new port (the user's token: it is theirs),
                device_id = the server; for a port the user passed: that port.
                Then, with computed's own service credentials (binding fields
                are for admins), device_owner compute:nova and binding:host_id
                = this host. Each is recorded in virtual_interfaces, with
                whether computed made it.
    wait        networkd plugs each port's tap into its network, sets the
                port ACTIVE and tells computed (network-vif-plugged, as
                Neutron tells Nova); computed waits for that word about every
                port, looking at the ports itself now and then, until
                vif_plugging_timeout passes (then the build fails).
    give back   a port computed made is deleted; a port the user passed is
                unbound (device_id, device_owner, binding:host_id cleared),
                as Nova does, so it can be used again.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import partial

from computed.db import repository as repo
from computed.db.models import VirtualInterface
from computed.domain.networks import DEVICE_OWNER, RequestedNetwork
from computed.flows import Deps, Undo
from computed.instance_events import Heard
from computed.virt.guest import Nic
from shared.clients import Caller, RemoteError
from shared.db import transaction
from shared.together import at_once

LOG = logging.getLogger(__name__)
# networkd says when it has plugged a port (network-vif-plugged, which
# wakes the wait at once: computed/instance_events.py); computed also looks
# at the ports itself this often, for the word that does not come (networkd
# restarted meanwhile, its notify_nova_on_port_status_changes off, another
# API worker of computed took it, or the port was plugged before).
LOOK_INTERVAL = 0.5
UNBOUND = {"device_id": "", "device_owner": "", "binding:host_id": None}


class PortError(Exception):
    """A port could not be made, bound, plugged or given back."""


def binding(deps: Deps, instance_uuid: str) -> dict:
    return {"device_id": instance_uuid, "device_owner": DEVICE_OWNER,
            "binding:host_id": deps.settings.host}


def allocate(deps: Deps, caller: Caller, instance_uuid: str, wanted: RequestedNetwork,
             security_groups: list[str], undo: Undo) -> VirtualInterface:
    """One port for the server: made (on wanted.network_id) or the user's
    (wanted.port_id), bound to this host, recorded (status attaching). Its
    give-back is pushed on `undo` as soon as there is something to give back."""
    service = deps.service_caller()
    if wanted.port_id:
        port = deps.network.show_port(caller, wanted.port_id)
        if port is None:
            raise PortError(f"Port id {wanted.port_id} could not be found.")
        if port.get("device_id") and port["device_id"] != instance_uuid:
            raise PortError(f"Port {wanted.port_id} is still in use.")
        created = False
    else:
        # device_owner too (members may set a compute:* owner): a port made
        # here is recognisable as computed's even if binding it fails.
        fields: dict = {"network_id": wanted.network_id, "device_id": instance_uuid,
                        "device_owner": DEVICE_OWNER, "admin_state_up": True}
        if wanted.fixed_ip:
            fields["fixed_ips"] = [{"ip_address": wanted.fixed_ip}]
        if security_groups:
            fields["security_groups"] = list(security_groups)
        try:
            port = deps.network.create_port(caller, fields)
        except RemoteError as exc:
            raise PortError(f"Creating a port on network {wanted.network_id} failed: "
                            f"{exc.message}") from exc
        created = True
    vif = _record(deps, instance_uuid, port, created, wanted.tag)
    undo.push(f"give back port {port['id']}", lambda: give_back(deps, caller, vif))
    try:
        deps.network.update_port(service, port["id"], binding(deps, instance_uuid))
    except RemoteError as exc:
        raise PortError(f"Binding port {port['id']} to {deps.settings.host} failed: "
                        f"{exc.message}") from exc
    return vif


def nic(vif: VirtualInterface, model: str = "virtio") -> Nic:
    """The guest's NIC of a port (`model`: the image's hw_vif_model). No
    MTU: networkd gives the tap its network's MTU as it plugs it, and takes
    the tap from libvirt once libvirt's last step with it is done; with an
    <mtu>, libvirt would set it by name one step later."""
    return Nic(port_id=vif.port_id, mac_address=vif.mac_address, model=model)


def wait_plugged(deps: Deps, heard: Heard, port_ids: list[str],
                 timeout: float | None = None,
                 check: Callable[[], None] | None = None) -> list[str]:
    """Return once every port is plugged into its network: networkd said so
    (network-vif-plugged, in `heard`: registered before the taps were
    made), or the port is ACTIVE when computed looks (every LOOK_INTERVAL);
    PortError after vif_plugging_timeout (0: do not wait). `check` is
    called at each event and look (it raises to stop the wait). Returns
    the ports networkd announced (the others were seen at a look)."""
    timeout = deps.settings.vif_plugging_timeout if timeout is None else timeout
    if not port_ids or timeout <= 0:
        return []
    started = time.monotonic()
    deadline, next_look = started + timeout, started + LOOK_INTERVAL
    waiting = [port_id for port_id in port_ids if port_id not in heard.ports]
    while waiting:
        now = time.monotonic()
        if now >= deadline:
            raise PortError(f"Port {waiting[0]} was not plugged (ACTIVE) within "
                            f"{timeout:.0f} s")
        if check is not None:
            check()
        if now >= next_look:
            waiting = _not_active(deps, waiting)
            next_look = now + LOOK_INTERVAL
        elif heard.wait(min(next_look, deadline) - now):
            waiting = [port_id for port_id in waiting if port_id not in heard.ports]
    return [port_id for port_id in port_ids if port_id in heard.ports]


def _not_active(deps: Deps, port_ids: list[str]) -> list[str]:
    """The ports networkd does not show ACTIVE now (all of them while it
    cannot be reached); PortError if one was deleted or networkd refuses."""
    try:
        shown = {p["id"]: p for p in deps.network.list_ports(deps.service_caller(),
                                                             id=port_ids)}
    except RemoteError as exc:
        if exc.reached and exc.status < 500:
            raise PortError(f"networkd refused to show the ports: {exc.message}") from exc
        # Not reachable, or unavailable for a moment (a 503 while identity
        # restarts): keep waiting until the deadline, as Nova's wait for
        # network-vif-plugged does not end when Neutron is briefly away.
        return port_ids
    gone = [port_id for port_id in port_ids if shown and port_id not in shown]
    if gone:
        raise PortError(f"Port {gone[0]} was deleted while it was being plugged.")
    return [port_id for port_id in port_ids
            if shown.get(port_id, {}).get("status") != "ACTIVE"]


def give_back(deps: Deps, caller: Caller, vif: VirtualInterface) -> None:
    """Delete the port if computed made it, else unbind it; then forget it."""
    if vif.created:
        deps.network.delete_port(caller, vif.port_id)
    else:
        unbind(deps, vif.port_id)
    with transaction(deps.sessions) as session:
        row = session.get(VirtualInterface, vif.id)
        if row is not None:
            session.delete(row)


def unbind(deps: Deps, port_id: str) -> None:
    """The user's port is theirs again (a port already gone is fine)."""
    try:
        deps.network.update_port(deps.service_caller(), port_id, UNBOUND)
    except RemoteError as exc:
        if exc.status != 404:
            raise


def release_all(deps: Deps, caller: Caller, instance_uuid: str) -> None:
    """At terminate (and after an interrupted build): every port of the
    server goes back. A port networkd still shows on the server that was
    never recorded (a build that died between making and recording it) is
    deleted if it is computed's (device_owner compute:nova), else unbound,
    like Nova's deallocate_for_instance."""
    with transaction(deps.sessions, write=False) as session:
        vifs = list(repo.get_instance(session, instance_uuid, None,
                                      include_deleted=True).vifs)
    known = {vif.port_id for vif in vifs}
    service = deps.service_caller()
    # the recorded ports given back and networkd's list read at once (the
    # recorded ones are skipped in it, gone or not)
    listed, *_given_back = at_once(
        partial(deps.network.list_ports, service, device_id=instance_uuid),
        *(partial(give_back, deps, caller, vif) for vif in vifs))
    for port in listed:
        if port["id"] in known:
            continue
        LOG.info("port %s shows server %s as its device, which never recorded it",
                 port["id"], instance_uuid)
        if port.get("device_owner") == DEVICE_OWNER:
            deps.network.delete_port(service, port["id"])
        else:
            unbind(deps, port["id"])


def mark_attached(deps: Deps, vif_ids: list[int]) -> None:
    with transaction(deps.sessions) as session:
        for vif_id in vif_ids:
            row = session.get(VirtualInterface, vif_id)
            if row is not None:
                row.status = "attached"


def _record(deps: Deps, instance_uuid: str, port: dict, created: bool,
            tag: str | None) -> VirtualInterface:
    with transaction(deps.sessions) as session:
        vif = VirtualInterface(instance_uuid=instance_uuid, port_id=port["id"],
                               network_id=port["network_id"],
                               mac_address=port["mac_address"], created=created, tag=tag,
                               status="attaching", created_at=repo.now())
        session.add(vif)
        session.flush()
        session.expunge(vif)
        return vif
