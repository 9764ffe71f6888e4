"""Routers: create, show, list, update, delete; the external gateway
(external_gateway_info, set by create or PUT) and the interfaces
(add_router_interface / remove_router_interface), as Neutron's L3 plugin.

A router's gateway is a port on an external network (device_owner
network:router_gateway, no project: the project never sees it) holding
an address of the external subnet: the source of the router's SNAT. An
interface is a port on an internal network (network:router_interface,
the router's project) holding, when added by subnet, the subnet's
gateway_ip. The data plane puts those addresses on the bridges of the
stack's namespace and routes between them (networkd.desired).

Neutron's answers for the mistakes: a gateway on a network that is not
external (400), an interface on a subnet without gateway (400) or one the
router already has (400), a port that is someone's device (PortInUse 409),
an interface that is not there (404), a router deleted while it still has
interfaces (RouterInUse 409), a gateway or an interface that a floating IP
still needs (409).
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from networkd import ipam, owners, ports
from networkd import networks as network_ops
from networkd import subnets as subnet_ops
from networkd.attributes import (
    Attr,
    boolean,
    dict_with,
    ip_address,
    list_of,
    owner_of,
    parse_create,
    parse_update,
    standard_attrs,
    uuid_string,
)
from networkd.call import Call
from networkd.db import common
from networkd.db.models import FloatingIP, IPAllocation, Network, Port, Router, RouterPort, Subnet
from networkd.errors import BadRequest, InUse, NotFound, PortInUse
from networkd.quotas import check as check_quota

RESOURCE = "router"
GATEWAY = "external_gateway_info"


# --- Neutron's errors (neutron_lib.exceptions.l3) ---------------------------------------
class RouterNotFound(NotFound):
    template = "Router %(router_id)s could not be found"


class RouterInUse(InUse):
    template = "Router %(router_id)s %(reason)s"

    def __init__(self, **fields):
        fields.setdefault("reason", "still has ports")
        super().__init__(**fields)


class RouterInterfaceNotFound(NotFound):
    template = "Router %(router_id)s does not have an interface with id %(port_id)s"


class RouterInterfaceNotFoundForSubnet(NotFound):
    template = "Router %(router_id)s has no interface on subnet %(subnet_id)s"


class RouterInterfaceInUseByFloatingIP(InUse):
    template = ("Router interface for subnet %(subnet_id)s on router %(router_id)s cannot be "
                "deleted, as it is required by one or more floating IPs.")


class RouterExternalGatewayInUseByFloatingIp(InUse):
    template = ("Gateway cannot be updated for router %(router_id)s, since a gateway to "
                "external network %(net_id)s is required by one or more floating IPs.")


class SubnetMismatchForPort(BadRequest):
    template = "Subnet on port %(port_id)s does not match the requested subnet %(subnet_id)s."


def _bad(msg: str) -> BadRequest:
    return BadRequest(resource=RESOURCE, msg=msg)


# --- the request bodies ------------------------------------------------------------------
_FIXED_IP = dict_with({"subnet_id": uuid_string, "ip_address": ip_address})
_GATEWAY_INFO = dict_with({"network_id": uuid_string, "enable_snat": boolean,
                           "external_fixed_ips": list_of(_FIXED_IP, unique=False)},
                          required=("network_id",))


def _gateway_info(value: Any) -> dict | None:
    """external_gateway_info: null or {} (no gateway), or a dict with
    network_id (Neutron's type:dict_or_nodata)."""
    if value is None or value == {}:
        return None
    return _GATEWAY_INFO(value)


def _no_routes(value: Any) -> list:
    if value not in (None, []):
        raise ValueError("networkd does not implement extra routes; only [] is accepted")
    return []


def _attrs() -> dict[str, Attr]:
    return {
        **standard_attrs(),
        "admin_state_up": Attr(boolean, default=True),
        GATEWAY: Attr(_gateway_info, default=None),
        "routes": Attr(_no_routes, post=False),
    }


ATTRS = _attrs()


def target(router: Router) -> dict:
    """What policy rules see of a router."""
    return {"project_id": router.project_id, "id": router.id, "name": router.name}


# --- reading -----------------------------------------------------------------------------
def get(call: Call, router_id: str) -> Router:
    """A router the caller may see, or RouterNotFound."""
    router = common.get(call.session, Router, router_id)
    if router is None or not call.access.allows("get_router", target(router)):
        raise RouterNotFound(router_id=router_id)
    return router


def list_visible(call: Call) -> list[Router]:
    query = select(Router).order_by(Router.created_at, Router.id)
    if not call.is_admin:
        query = query.where(Router.project_id == call.project_id)
    return [r for r in call.session.scalars(query)
            if call.access.allows("get_router", target(r))]


def to_dicts(call: Call, routers: list[Router]) -> list[dict]:
    tags = common.tags_of(call.session, RESOURCE, [r.id for r in routers])
    return [render(call, router, tags[router.id]) for router in routers]


def to_dict(call: Call, router: Router) -> dict:
    return to_dicts(call, [router])[0]


def render(call: Call, router: Router, tags: list[str]) -> dict:
    return {
        "id": router.id, "name": router.name, "status": router.status,
        "admin_state_up": router.admin_state_up,
        GATEWAY: _render_gateway(call, router), "routes": [],
        "availability_zone_hints": [], "availability_zones": ["nova"],
        "tags": tags, **common.standard_fields(router),
    }


def _render_gateway(call: Call, router: Router) -> dict | None:
    port = gateway_port(call, router)
    if port is None:
        return None
    return {"network_id": port.network_id, "enable_snat": router.enable_snat,
            "external_fixed_ips": [{"subnet_id": ip.subnet_id, "ip_address": ip.ip_address}
                                   for ip in port.fixed_ips]}


def gateway_port(call: Call, router: Router) -> Port | None:
    return call.session.get(Port, router.gw_port_id) if router.gw_port_id else None


def interface_ports(call: Call, router: Router) -> list[Port]:
    ids = [rp.port_id for rp in router.ports if rp.port_type == owners.ROUTER_INTERFACE]
    if not ids:
        return []
    return list(call.session.scalars(select(Port).where(Port.id.in_(ids))
                                     .order_by(Port.created_at, Port.id)))


# --- create, update, delete ----------------------------------------------------------------
def create(call: Call, body: dict) -> Router:
    fields = parse_create(RESOURCE, body, ATTRS)
    project_id = owner_of(fields, call.project_id)
    router = Router(id=common.new_id(), project_id=project_id, name=fields["name"],
                    description=fields["description"],
                    admin_state_up=fields["admin_state_up"], status="ACTIVE")
    call.access.check("create_router", target(router), _explicit(body))
    check_quota(call.session, call.settings.quota_defaults, project_id, RESOURCE)
    call.session.add(router)
    call.session.flush()
    if fields[GATEWAY] is not None:
        set_gateway(call, router, fields[GATEWAY])
    call.notify("router.create.end", RESOURCE, router.id, project_id,
                {"router": {"id": router.id, "name": router.name}})
    return router


def update(call: Call, router_id: str, body: dict) -> Router:
    router = get(call, router_id)
    fields = parse_update(RESOURCE, body, ATTRS)
    call.access.check("update_router", target(router), _explicit(body))
    for name in ("name", "description", "admin_state_up"):
        if name in fields:
            setattr(router, name, fields[name])
    if GATEWAY in fields:
        set_gateway(call, router, fields[GATEWAY])
    common.touch(router)
    call.session.flush()
    call.notify("router.update.end", RESOURCE, router.id, router.project_id,
                {"router": {"id": router.id, "changed": sorted(fields)}})
    return router


def delete(call: Call, router_id: str) -> None:
    router = get(call, router_id)
    call.access.check("delete_router", target(router))
    attached = [rp.port_id for rp in router.ports if rp.port_type == owners.ROUTER_INTERFACE]
    if attached:
        raise RouterInUse(router_id=router.id,
                          reason="has ports still attached: " + ", ".join(attached))
    _remove_gateway(call, router)
    common.delete_tags(call.session, RESOURCE, router.id)
    call.session.delete(router)
    call.session.flush()
    call.notify("router.delete.end", RESOURCE, router.id, router.project_id,
                {"router_id": router.id})


def _explicit(body: dict) -> list[str]:
    """The attributes whose own rules apply (create_router:external_gateway_info
    and one per key of it, such as ...:enable_snat, admin only)."""
    given = body.get(RESOURCE, {}) if isinstance(body, dict) else {}
    info = given.get(GATEWAY)
    if not isinstance(info, dict) or not info:
        return []
    return [GATEWAY] + [f"{GATEWAY}:{key}" for key in info]


# --- the gateway -------------------------------------------------------------------------
def set_gateway(call: Call, router: Router, info: dict | None) -> None:
    """Make the router's gateway what `info` says (None: no gateway), as
    Neutron's _update_router_gw_info: a new network replaces the gateway
    port, new external_fixed_ips on the same network replace its addresses,
    and enable_snat is set each time (default true)."""
    current = gateway_port(call, router)
    if info is None:
        _remove_gateway(call, router)
        return
    network = network_ops.get(call, info["network_id"])
    if not network.external:
        raise _bad(f"Network {network.id} is not an external network")
    wanted_ips = info.get("external_fixed_ips") or []
    for wanted in wanted_ips:
        if any(s.gateway_ip and wanted.get("ip_address") == s.gateway_ip
               for s in network.subnets):
            raise _bad(f"External IP {wanted['ip_address']} is the same as the gateway IP")
    router.enable_snat = info.get("enable_snat", True)
    if current is not None and current.network_id == network.id:
        if wanted_ips and _ips_change(current, wanted_ips):
            _readdress(call, current, network, wanted_ips)
        return
    _remove_gateway(call, router)
    _check_subnets_free(call, router, network.subnets)
    port = ports.make_port(call, network, project_id="", device_owner=owners.ROUTER_GATEWAY,
                           device_id=router.id, fixed_ips=wanted_ips or None)
    router.ports.append(RouterPort(port_id=port.id, port_type=owners.ROUTER_GATEWAY))
    router.gw_port_id = port.id
    call.session.flush()


def _readdress(call: Call, port: Port, network: Network, wanted: list[dict]) -> None:
    """New external_fixed_ips on the same network: the gateway port keeps
    its id and takes exactly the addresses asked for."""
    for allocation in list(port.fixed_ips):
        port.fixed_ips.remove(allocation)
    call.session.flush()
    for position, (subnet_id, address) in enumerate(ports.allocate_ips(call, network, wanted)):
        port.fixed_ips.append(IPAllocation(subnet_id=subnet_id, ip_address=address,
                                           network_id=network.id, position=position))
    common.touch(port)
    call.session.flush()


def _ips_change(port: Port, wanted: list[dict]) -> bool:
    """Neutron's _check_for_external_ip_change: other subnets or other
    addresses than the gateway port has."""
    have_subnets = {ip.subnet_id for ip in port.fixed_ips}
    want_subnets = {w["subnet_id"] for w in wanted if w.get("subnet_id")}
    if want_subnets != have_subnets:
        return True
    have_ips = {ip.ip_address for ip in port.fixed_ips}
    want_ips = {w["ip_address"] for w in wanted if w.get("ip_address")}
    return want_ips != have_ips


def _remove_gateway(call: Call, router: Router) -> None:
    """The gateway port goes, unless a floating IP still goes through it."""
    port = gateway_port(call, router)
    if port is None:
        return
    if call.session.scalar(select(FloatingIP.id).where(FloatingIP.router_id == router.id)
                           .limit(1)) is not None:
        raise RouterExternalGatewayInUseByFloatingIp(router_id=router.id, net_id=port.network_id)
    _detach(call, router, port)
    router.gw_port_id = None
    call.session.flush()
    ports.remove(call, port)


def _detach(call: Call, router: Router, port: Port) -> None:
    for link in [rp for rp in router.ports if rp.port_id == port.id]:
        router.ports.remove(link)
    call.session.flush()


def _check_subnets_free(call: Call, router: Router, subnets: list[Subnet]) -> None:
    """Neutron's _check_for_dup_router_subnets: at most one router port per
    subnet (the gateway's included)."""
    wanted = {s.id for s in subnets}
    port_ids = [rp.port_id for rp in router.ports]
    if not port_ids or not wanted:
        return
    clash = call.session.scalar(select(IPAllocation.subnet_id).where(
        IPAllocation.port_id.in_(port_ids), IPAllocation.subnet_id.in_(wanted))
        .order_by(IPAllocation.subnet_id).limit(1))
    if clash is not None:
        raise _bad(f"Router already has a port on subnet {clash}")


# --- interfaces ----------------------------------------------------------------------------
# The body of add/remove_router_interface as the OpenAPI document shows it
# (_interface_request checks it: one of the two, each a UUID).
INTERFACE_SCHEMA = {"type": "object", "properties": {
    "subnet_id": {"type": "string", "format": "uuid"},
    "port_id": {"type": "string", "format": "uuid"}}}


def _interface_request(body: Any, for_removal: bool) -> tuple[str | None, str | None]:
    """(port_id, subnet_id) of an add/remove_router_interface body, checked
    as Neutron's _validate_interface_info."""
    info = body if isinstance(body, dict) else {}
    if "port_id" not in info and "subnet_id" not in info:
        raise _bad("Either subnet_id or port_id must be specified")
    for key in ("port_id", "subnet_id"):
        if key in info:
            try:
                uuid_string(info[key])
            except ValueError as exc:
                raise _bad(str(exc)) from None
    if not for_removal and "port_id" in info and "subnet_id" in info:
        raise _bad("Cannot specify both subnet-id and port-id")
    return info.get("port_id"), info.get("subnet_id")


def add_interface(call: Call, router_id: str, body: Any) -> dict:
    """PUT /routers/{id}/add_router_interface {"subnet_id"} or {"port_id"}:
    the router gets an interface; Neutron's answer {id, subnet_id,
    subnet_ids, port_id, network_id, project_id, tenant_id}."""
    router = get(call, router_id)
    call.access.check("add_router_interface", target(router))
    port_id, subnet_id = _interface_request(body, for_removal=False)
    if port_id is not None:
        port, subnets = _add_by_port(call, router, port_id)
    else:
        assert subnet_id is not None
        port, subnets = _add_by_subnet(call, router, subnet_id)
    router.ports.append(RouterPort(port_id=port.id, port_type=owners.ROUTER_INTERFACE))
    common.touch(router)
    call.session.flush()
    info = _interface_info(router, port, subnets)
    call.notify("router.interface.create", RESOURCE, router.id, router.project_id,
                {"router_interface": info})
    return info


def _add_by_subnet(call: Call, router: Router, subnet_id: str) -> tuple[Port, list[Subnet]]:
    subnet = subnet_ops.get(call, subnet_id)
    if not subnet.gateway_ip:
        raise _bad("Subnet for router interface must have a gateway IP")
    if subnet.project_id != call.project_id and not call.is_admin:
        raise _bad(f"Cannot add interface to router because subnet {subnet.id} is not owned "
                   "by project making the request")
    _check_subnets_free(call, router, [subnet])
    port = ports.make_port(call, subnet.network, project_id=router.project_id,
                           device_owner=owners.ROUTER_INTERFACE, device_id=router.id,
                           fixed_ips=[{"subnet_id": subnet.id,
                                       "ip_address": subnet.gateway_ip}])
    return port, [subnet]


def _add_by_port(call: Call, router: Router, port_id: str) -> tuple[Port, list[Subnet]]:
    port = ports.get(call, port_id)
    if port.device_id:
        raise PortInUse(net_id=port.network_id, port_id=port.id, device_id=port.device_id)
    if not port.fixed_ips:
        raise _bad("Router port must have at least one fixed IP")
    subnets = [call.session.get_one(Subnet, ip.subnet_id) for ip in port.fixed_ips]
    _check_subnets_free(call, router, subnets)
    if len(subnets) > 1:
        raise _bad("Cannot have multiple IPv4 subnets on router port")
    if not call.is_admin:
        for ip, subnet in zip(port.fixed_ips, subnets, strict=True):
            pools = [(p.first_ip, p.last_ip) for p in subnet.allocation_pools]
            if not ipam.in_pools(pools, ip.ip_address) and subnet.project_id != call.project_id:
                raise _bad(f"Cannot add interface to router because specified port {port.id} "
                           f"has an IP address out of the allocation pool of subnet "
                           f"{subnet.id}, which is not owned by the project making the "
                           "request")
    port.device_id = router.id
    port.device_owner = owners.ROUTER_INTERFACE
    port.security_groups = []
    common.touch(port)
    return port, subnets


def remove_interface(call: Call, router_id: str, body: Any) -> dict:
    """PUT /routers/{id}/remove_router_interface {"subnet_id"} and/or
    {"port_id"}: the interface's port goes (unless a floating IP needs
    it); the same answer as add."""
    router = get(call, router_id)
    call.access.check("remove_router_interface", target(router))
    port_id, subnet_id = _interface_request(body, for_removal=True)
    if port_id is not None:
        port, subnets = _remove_by_port(call, router, port_id, subnet_id)
    else:
        assert subnet_id is not None
        port, subnets = _remove_by_subnet(call, router, subnet_id)
    info = _interface_info(router, port, subnets)
    common.touch(router)
    call.session.flush()
    call.notify("router.interface.delete", RESOURCE, router.id, router.project_id,
                {"router_interface": info})
    return info


def _remove_by_port(call: Call, router: Router, port_id: str,
                    subnet_id: str | None) -> tuple[Port, list[Subnet]]:
    link = next((rp for rp in router.ports if rp.port_id == port_id
                 and rp.port_type == owners.ROUTER_INTERFACE), None)
    port = call.session.get(Port, port_id) if link is not None else None
    if port is None:
        raise RouterInterfaceNotFound(router_id=router.id, port_id=port_id)
    subnet_ids = [ip.subnet_id for ip in port.fixed_ips]
    if subnet_id and subnet_id not in subnet_ids:
        raise SubnetMismatchForPort(port_id=port.id, subnet_id=subnet_id)
    subnets = [call.session.get_one(Subnet, s) for s in subnet_ids]
    for subnet in subnets:
        _check_no_floating_ip_needs(call, router, subnet)
    _detach(call, router, port)
    ports.remove(call, port)
    return port, subnets


def _remove_by_subnet(call: Call, router: Router, subnet_id: str) -> tuple[Port, list[Subnet]]:
    subnet = subnet_ops.get(call, subnet_id)
    for port in interface_ports(call, router):
        held = [ip for ip in port.fixed_ips if ip.subnet_id == subnet.id]
        if not held:
            continue
        _check_no_floating_ip_needs(call, router, subnet)
        if len(port.fixed_ips) > 1:
            for allocation in held:
                port.fixed_ips.remove(allocation)
            common.touch(port)
        else:
            _detach(call, router, port)
            ports.remove(call, port)
        return port, [subnet]
    raise RouterInterfaceNotFoundForSubnet(router_id=router.id, subnet_id=subnet.id)


def _check_no_floating_ip_needs(call: Call, router: Router, subnet: Subnet) -> None:
    """Neutron's _check_router_interface_not_in_use: a floating IP routed
    by this router to an address of the subnet keeps the interface."""
    on_subnet = select(IPAllocation.port_id).where(IPAllocation.subnet_id == subnet.id)
    for fixed_ip in call.session.scalars(select(FloatingIP.fixed_ip_address).where(
            FloatingIP.router_id == router.id, FloatingIP.fixed_port_id.in_(on_subnet))):
        if fixed_ip and ipam.in_subnet(subnet.cidr, fixed_ip):
            raise RouterInterfaceInUseByFloatingIP(router_id=router.id, subnet_id=subnet.id)


def _interface_info(router: Router, port: Port, subnets: list[Subnet]) -> dict:
    return {"id": router.id, "tenant_id": port.project_id, "project_id": port.project_id,
            "port_id": port.id, "network_id": port.network_id,
            "subnet_id": subnets[-1].id if subnets else None,
            "subnet_ids": [s.id for s in subnets]}


# --- for floating IPs ---------------------------------------------------------------------
def router_for_floating_ip(call: Call, port: Port, subnet: Subnet,
                           external_network_id: str) -> str | None:
    """The router that connects the port's subnet to the external network
    (an interface on the subnet, a gateway on the network); the one whose
    interface is the subnet's gateway_ip first, as Neutron's
    get_router_for_floatingip. None when there is none."""
    rows = call.session.execute(
        select(RouterPort.router_id, IPAllocation.ip_address)
        .join(Port, Port.id == RouterPort.port_id)
        .join(IPAllocation, IPAllocation.port_id == Port.id)
        .where(RouterPort.port_type == owners.ROUTER_INTERFACE,
               Port.network_id == port.network_id, IPAllocation.subnet_id == subnet.id)
        .order_by(RouterPort.router_id)).all()
    first = None
    for router_id, interface_ip in rows:
        router = call.session.get(Router, router_id)
        gateway = gateway_port(call, router) if router is not None else None
        if gateway is None or gateway.network_id != external_network_id:
            continue
        if interface_ip == subnet.gateway_ip:
            return router_id
        first = first or router_id
    return first
