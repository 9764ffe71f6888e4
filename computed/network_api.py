"""The compute API layer's networking, without HTTP: what a request to
computed means for networkd, as nova/network/neutron.py is for Nova's API.

    plan_networks      POST /servers: the networks, ports, fixed IPs and
                       security groups asked for, checked against networkd
                       (Nova's validate_networks and _check_requested_secgroups)
                       and resolved (the network chosen when none is named)
    network_info       server show, list --long, /ips: each server's ports,
                       floating IPs and security groups, in few calls
    interface_request  os-interface POST: the network or port to attach

The slow work (making, binding and plugging ports) is in flows/ports.py.
Errors are shared.errors' with Nova's messages and statuses.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import select

from computed.db.models import VirtualInterface
from computed.domain import networks as rules
from computed.domain.networks import (
    AUTO,
    DEFAULT_SECURITY_GROUP,
    NONE,
    InvalidNetworks,
    NetworkConflict,
    NetworkRequest,
    RequestedNetwork,
)
from computed.flows import Deps
from shared.clients import Caller, RemoteError
from shared.context import RequestContext
from shared.db import transaction
from shared.errors import ApiError, BadRequest, Conflict, Forbidden, NotFound

LOG = logging.getLogger(__name__)


class NetworkNotFound(InvalidNetworks):
    """A 400 at server create, a 404 at os-interface (as in Nova)."""


class FixedIpInUse(InvalidNetworks):
    """A 400 at server create, a 409 at os-interface (as in Nova)."""


@dataclass(frozen=True)
class NetworkPlan:
    """What a server's build will ask of networkd: one item per NIC (a
    network, maybe with a fixed IP, or the user's port), and the ids of
    the security groups of the ports it makes (empty: networkd's default)."""
    networks: list[RequestedNetwork]
    security_groups: list[str] = field(default_factory=list)
    security_group_names: list[str] = field(default_factory=list)


def unavailable(exc: RemoteError) -> ApiError:
    return ApiError(f"The network service failed: {exc.message}", 503)


# --- POST /servers ------------------------------------------------------------------------
def plan_networks(deps: Deps, ctx: RequestContext, request: NetworkRequest,
                  security_groups: list[str], instance_uuid: str) -> NetworkPlan:
    """Check `networks` and `security_groups` with networkd, as Nova's API
    does before it records anything: 400 for what does not exist or cannot
    be used, 409 for a port in use or an ambiguous choice, 403 for an
    external network (admins aside)."""
    caller = deps.caller(ctx)
    try:
        group_ids = _security_group_ids(deps, caller, ctx.project_id or "", security_groups)
        if request.mode == NONE:
            items: list[RequestedNetwork] = []
        elif request.needs_choice:
            chosen = rules.choose_network(available_networks(deps, caller, ctx.project_id),
                                          request.mode == AUTO, ctx.project_id or "")
            items = [RequestedNetwork(network_id=chosen)] if chosen else []
        else:
            items = list(request.items)
            _check_ports(deps, caller, ctx, items, instance_uuid)
            _check_networks(deps, caller, ctx, items)
    except InvalidNetworks as exc:
        raise BadRequest(str(exc)) from None
    except NetworkConflict as exc:
        raise Conflict(str(exc)) from None
    except RemoteError as exc:
        raise unavailable(exc) from None
    return NetworkPlan(items, group_ids, list(security_groups))


def available_networks(deps: Deps, caller: Caller, project_id: str | None) -> list[dict]:
    """The project's own networks and the shared ones (Nova's
    _get_available_networks)."""
    own = deps.network.list_networks(caller, tenant_id=project_id or "", shared="False")
    shared = deps.network.list_networks(caller, shared="True")
    seen = {net["id"] for net in own}
    return own + [net for net in shared if net["id"] not in seen]


def _security_group_ids(deps: Deps, caller: Caller, project_id: str,
                        names: list[str]) -> list[str]:
    """Each group asked for, by name or id among the project's; none (or
    just "default") means networkd's default for the project, as Nova's
    _clean_security_groups."""
    if not names or names == [DEFAULT_SECURITY_GROUP]:
        return []
    groups = deps.network.list_security_groups(caller, tenant_id=project_id)
    return [rules.security_group_id(groups, name) for name in names]


def _check_ports(deps: Deps, caller: Caller, ctx: RequestContext,
                 items: list[RequestedNetwork], instance_uuid: str) -> None:
    """Each port exists for the caller, is the project's, is free and has
    an address (Nova's _ports_needed_per_instance and
    _validate_requested_port_ids)."""
    for index, item in enumerate(items):
        if not item.port_id:
            continue
        port = deps.network.show_port(caller, item.port_id)
        if port is None:
            raise InvalidNetworks(f"Port id {item.port_id} could not be found.")
        if port.get("device_id"):
            raise NetworkConflict(f"Port {item.port_id} is still in use.")
        if port.get("project_id", port.get("tenant_id")) != ctx.project_id:
            raise InvalidNetworks(f"Port {item.port_id} not usable for instance "
                                  f"{instance_uuid}.")
        if not port.get("fixed_ips"):
            raise InvalidNetworks(f"Port {item.port_id} requires a FixedIP in order to be "
                                  f"used.")
        items[index] = RequestedNetwork(network_id=port["network_id"], port_id=item.port_id,
                                        tag=item.tag)


def _check_networks(deps: Deps, caller: Caller, ctx: RequestContext,
                    items: list[RequestedNetwork]) -> None:
    """Each network exists for the caller, has a subnet, is not external
    (admins aside); each fixed IP is free."""
    wanted = [item.network_id for item in items if item.network_id and not item.port_id]
    if not wanted:
        return
    found = {net["id"]: net for net in deps.network.list_networks(caller, id=wanted)}
    for network_id in wanted:
        if network_id not in found:
            raise NetworkNotFound(f"Network {network_id} could not be found.")
        network = found[network_id]
        if not network.get("subnets"):
            raise InvalidNetworks(f"Network {network_id} requires a subnet in order to "
                                  f"boot instances on.")
        if network.get("router:external") and not network.get("shared") \
                and not ctx.is_admin:
            # Nova's ExternalNetworkAttachForbidden
            raise Forbidden(f"It is not allowed to create an interface on external "
                            f"network {network_id}")
    for item in items:
        if item.network_id and item.fixed_ip and not item.port_id:
            taken = deps.network.list_ports(deps.service_caller(),
                                            network_id=item.network_id,
                                            fixed_ips=f"ip_address={item.fixed_ip}")
            if taken:
                raise FixedIpInUse(f"Fixed IP address {item.fixed_ip} is already in use "
                                   f"on instance {taken[0].get('device_id')}.")


# --- show, list, /ips ----------------------------------------------------------------------
@dataclass
class ServerNetworks:
    """What networkd says of one server: its ports (in the order they were
    attached), their floating IPs, and names of networks and groups."""
    ports: list[dict] = field(default_factory=list)
    floating_ips: list[dict] = field(default_factory=list)
    network_names: dict[str, str] = field(default_factory=dict)
    group_names: dict[str, str] = field(default_factory=dict)

    def addresses(self, extended: bool = True) -> dict:
        return rules.addresses(self.ports, self.network_names, self.floating_ips, extended)

    def security_groups(self) -> list[dict]:
        return rules.security_group_names(self.ports, self.group_names)


def network_info(deps: Deps, servers: Iterable[tuple[str, str]],
                 with_groups: bool = True,
                 with_addresses: bool = True) -> dict[str, ServerNetworks]:
    """{server uuid: ServerNetworks} for (uuid, project id) pairs, in four
    calls whatever their number, as computed's service user: the ports,
    then their networks, floating IPs and security groups. A port counts
    when its device is the server and it is the server's project's (Nova's
    _gather_port_ids_and_networks).
    Without addresses (a server being built, whose addresses Nova hides)
    neither networks nor floating IPs are asked for. networkd out of reach:
    empty networks, and a warning in the log (a listing should not fail
    for it)."""
    projects = dict(servers)
    result = {uuid: ServerNetworks() for uuid in projects}
    if not projects:
        return result
    service = deps.service_caller()
    try:
        ports = [port for port in deps.network.list_ports(service, device_id=list(projects))
                 if projects.get(port.get("device_id", "")) ==
                 port.get("project_id", port.get("tenant_id"))]
        if not ports:
            return result
        group_ids = sorted({g for p in ports for g in p.get("security_groups") or []})
        networks = deps.network.list_networks(
            service, id=sorted({p["network_id"] for p in ports})) if with_addresses else []
        floating_ips = _unless_missing(lambda: deps.network.list_floating_ips(
            service, port_id=[p["id"] for p in ports])) if with_addresses else []
        groups = _unless_missing(lambda: deps.network.list_security_groups(
            service, id=group_ids)) if with_groups and group_ids else []
    except RemoteError as exc:
        LOG.warning("the servers' ports could not be read from networkd: %s", exc)
        return result
    names = {net["id"]: net.get("name") or net["id"] for net in networks}
    group_names = {group["id"]: group.get("name") or group["id"] for group in groups}
    order = _attach_order(deps, [p["id"] for p in ports])
    for port in sorted(ports, key=lambda p: order.get(p["id"], (1 << 62, p["id"]))):
        info = result[port["device_id"]]
        info.ports.append(port)
        info.network_names = names
        info.group_names = group_names
    server_of_port = {port["id"]: port["device_id"] for port in ports}
    for floating in floating_ips:
        server = server_of_port.get(floating.get("port_id") or "")
        if server is not None:
            result[server].floating_ips.append(floating)
    return result


def _unless_missing(listing: Callable[[], list[dict]]) -> list[dict]:
    """A listing of an optional extension: none when networkd does not
    serve it (404)."""
    try:
        return listing()
    except RemoteError as exc:
        if exc.status == 404:
            return []
        raise


def _attach_order(deps: Deps, port_ids: list[str]) -> dict[str, tuple[int, str]]:
    """The order computed attached the ports in (its virtual_interfaces),
    which is the guest's eth0, eth1 ... order."""
    with transaction(deps.sessions, write=False) as session:
        rows = session.execute(select(VirtualInterface.port_id, VirtualInterface.id)
                               .where(VirtualInterface.port_id.in_(port_ids))).all()
    return {port_id: (row_id, port_id) for port_id, row_id in rows}


# --- os-interface -----------------------------------------------------------------------
def interface_request(deps: Deps, ctx: RequestContext, project_id: str, instance_uuid: str,
                      body: dict) -> RequestedNetwork:
    """The network (maybe with a fixed IP) or the port of an os-interface
    POST, checked as Nova's attach_interface checks it: 400 for a bad body,
    404 for a network or port that is not there, 409 for a port in use."""
    attachment = body.get("interfaceAttachment") if isinstance(body, dict) else None
    if attachment is None:
        attachment = {}
    if not isinstance(attachment, dict) or set(attachment) - {"net_id", "port_id",
                                                              "fixed_ips"}:
        raise BadRequest("Invalid input for field/attribute interfaceAttachment. Only "
                         "net_id, port_id and fixed_ips are allowed.")
    network_id, port_id = attachment.get("net_id"), attachment.get("port_id")
    for name, value in (("net_id", network_id), ("port_id", port_id)):
        if value is not None and not rules.is_uuid(value):
            raise BadRequest(f"Invalid input for field/attribute {name}. Value: {value}. "
                             f"'{value}' is not a 'uuid'")
    fixed_ip = _requested_ip(attachment.get("fixed_ips"))
    if network_id and port_id:
        raise BadRequest("Must not input both network_id and port_id")
    if fixed_ip and not network_id:
        raise BadRequest("Must input network_id when request IP address")
    caller = deps.caller(ctx)
    try:
        if port_id:
            port = deps.network.show_port(caller, port_id)
            if port is None:
                raise NotFound(f"Port id {port_id} could not be found.")
            if port.get("device_id"):
                raise Conflict(f"Port {port_id} is still in use.")
            if port.get("project_id", port.get("tenant_id")) != project_id:
                raise BadRequest(f"Port {port_id} not usable for instance "
                                 f"{instance_uuid}.")
            return RequestedNetwork(network_id=port["network_id"], port_id=port_id)
        if not network_id:
            try:
                network_id = rules.choose_network(
                    available_networks(deps, caller, project_id), True, project_id)
            except NetworkConflict as exc:
                raise BadRequest(str(exc)) from None
            except InvalidNetworks:
                raise BadRequest(f"No specific network was requested and none are "
                                 f"available for project '{project_id}'.") from None
        request = RequestedNetwork(network_id=network_id, fixed_ip=fixed_ip)
        try:
            _check_networks(deps, caller, ctx, [request])
        except NetworkNotFound as exc:
            raise NotFound(str(exc)) from None
        except FixedIpInUse as exc:
            raise Conflict(str(exc)) from None
        except InvalidNetworks as exc:
            raise BadRequest(str(exc)) from None
        return request
    except RemoteError as exc:
        raise unavailable(exc) from None


def _requested_ip(fixed_ips) -> str | None:
    if fixed_ips is None:
        return None
    if not isinstance(fixed_ips, list) or len(fixed_ips) != 1 or \
            not isinstance(fixed_ips[0], dict) or set(fixed_ips[0]) != {"ip_address"}:
        raise BadRequest("Invalid input for field/attribute fixed_ips. One item, "
                         "{\"ip_address\": ...}, is allowed.")
    address = fixed_ips[0]["ip_address"]
    if not rules.is_ip(address):
        raise BadRequest(f"Invalid input for field/attribute ip_address. Value: {address}. "
                         f"'{address}' is not a valid IP address")
    return address
