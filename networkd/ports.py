"""Ports: create, show, list, update, delete, and the port-making every
other resource uses (DHCP ports, router interfaces and gateways, floating
IPs: `make_port` and `allocate_ips`).

A port gets a MAC fa:16:3e:xx:xx:xx (Neutron's base_mac), unique in the
stack, and its fixed IPs from networkd's IPAM (networkd.ipam): with no
fixed_ips, one address from the first subnet of its network that has one
free; with fixed_ips, exactly the addresses or subnets named. An address
already held is IpAddressAlreadyAllocated (409), a full network
IpAddressGenerationFailure (409), an address outside the subnet
InvalidIpForSubnet (400). A port on another project's network that is not
shared is refused as Neutron refuses it: the network is not found (404).

binding:* fields are for admins and services (computed sets
binding:host_id when it plugs a guest's NIC); others do not see them.
Status: DOWN until the agent finds the port's tap plugged, then ACTIVE.
"""
from __future__ import annotations

import random
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import lazyload

from networkd import ipam, owners, security_groups
from networkd import networks as network_ops
from networkd.attributes import (
    Attr,
    any_dict,
    boolean,
    dict_with,
    ip_address,
    list_of,
    mac_address,
    nullable_string,
    owner_of,
    parse_create,
    parse_update,
    standard_attrs,
    uuid_string,
)
from networkd.call import Call
from networkd.db import common
from networkd.db.models import (
    FloatingIP,
    IPAllocation,
    Network,
    Port,
    PortSecurityGroup,
    Router,
    Subnet,
)
from networkd.errors import (
    BadRequest,
    HTTPNotFound,
    InvalidInput,
    InvalidIpForNetwork,
    InvalidIpForSubnet,
    IpAddressAlreadyAllocated,
    IpAddressGenerationFailure,
    MacAddressInUse,
    NetworkMacAddressGenerationFailure,
    PortNotFound,
    PortSecurityAndIPRequiredForSecurityGroups,
    PortSecurityPortHasSecurityGroup,
    ServicePortInUse,
    SubnetNotFound,
)
from networkd.listing import Query, narrowed
from networkd.quotas import check as check_quota

RESOURCE = "port"
VIF_TYPE_UNBOUND = "unbound"
# A guest NIC is a tap libvirt creates (<interface type='ethernet'>) that the
# agent plugs into the network's bridge: Nova's VIF_TYPE_TAP.
VIF_TYPE_TAP = "tap"
BINDING_FIELDS = ("binding:host_id", "binding:profile", "binding:vif_type",
                  "binding:vif_details")
# Ports of routers and floating IPs go with what owns them, never alone.
SERVICE_OWNERS = (owners.ROUTER_INTERFACE, owners.ROUTER_GATEWAY, owners.FLOATINGIP)

FixedIpRequest = dict[str, str]   # {"subnet_id": ..., "ip_address": ...}, either or both


def _attrs() -> dict[str, Attr]:
    fixed_ip = dict_with({"subnet_id": uuid_string, "ip_address": ip_address})
    return {
        **standard_attrs(),
        "network_id": Attr(uuid_string, put=False, required=True),
        "admin_state_up": Attr(boolean, default=True),
        "mac_address": Attr(mac_address),
        "fixed_ips": Attr(list_of(fixed_ip, unique=False)),
        "device_id": Attr(nullable_string(255), default=""),
        "device_owner": Attr(nullable_string(255), default=""),
        "security_groups": Attr(list_of(uuid_string)),
        "port_security_enabled": Attr(boolean),
        "binding:host_id": Attr(nullable_string(255)),
        "binding:profile": Attr(any_dict),
        "binding:vnic_type": Attr(_vnic_type),
        "allowed_address_pairs": Attr(_empty_list("allowed_address_pairs")),
        "extra_dhcp_opts": Attr(_empty_list("extra_dhcp_opts")),
    }


def _vnic_type(value: Any) -> str:
    if value != "normal":
        raise ValueError(f"'{value}' is not in ['normal']")
    return value


def _empty_list(name: str):
    def convert(value: Any) -> list:
        if value not in (None, []):
            raise ValueError(f"networkd does not implement {name}; only [] is accepted")
        return []
    return convert


ATTRS = _attrs()


def target(port: Port | None, network: Network, project_id: str | None = None,
           device_owner: str | None = None) -> dict:
    """What policy rules see of a port: its project and device_owner, and
    its network's owner and sharing (rule:network_owner, rule:shared)."""
    return {"project_id": port.project_id if port else project_id,
            "device_owner": port.device_owner if port else (device_owner or ""),
            "network:project_id": network.project_id, "shared": network.shared,
            "network_id": network.id}


# --- reading -----------------------------------------------------------------------------
def get(call: Call, port_id: str) -> Port:
    port = common.get(call.session, Port, port_id)
    if port is None or not _visible(call, [port]):
        raise PortNotFound(port_id=port_id)
    return port


def _visible(call: Call, ports: list[Port]) -> list[Port]:
    """Those of `ports` the policy lets the caller see."""
    networks = _networks_of(call, ports)
    return [port for port in ports if port.network_id in networks and
            call.access.allows("get_port", target(port, networks[port.network_id]))]


def _networks_of(call: Call, ports: list[Port]) -> dict[str, Network]:
    """The ports' networks by id, in one query, without their subnets: what
    policy and a port's rendering read of its network is on the network's
    own row (loading a network with its subnets, their pools, DNS servers
    and routes was most of the cost of listing a server's ports)."""
    ids = {port.network_id for port in ports}
    return {network.id: network for network in call.session.scalars(
        select(Network).where(Network.id.in_(ids)).options(lazyload(Network.subnets)))}


def list_visible(call: Call, wanted: Query | None = None) -> list[Port]:
    """The ports the caller may see; only those `wanted` names by id,
    device or network, if it does (listing.narrowed)."""
    query = narrowed(select(Port).order_by(Port.created_at, Port.id), wanted,
                     {"id": Port.id, "device_id": Port.device_id,
                      "network_id": Port.network_id})
    if not call.is_admin:
        own_networks = select(Network.id).where(Network.project_id == call.project_id)
        query = query.where(or_(Port.project_id == call.project_id,
                                Port.network_id.in_(own_networks)))
    return _visible(call, list(call.session.scalars(query)))


def to_dicts(call: Call, ports: list[Port]) -> list[dict]:
    tags = common.tags_of(call.session, RESOURCE, [p.id for p in ports])
    networks = _networks_of(call, ports)
    result = []
    for port in ports:
        shown = render(port, tags[port.id])
        for name in call.access.hidden_fields("get_port", target(port, networks[port.network_id]),
                                              BINDING_FIELDS):
            shown.pop(name, None)
        result.append(shown)
    return result


def to_dict(call: Call, port: Port) -> dict:
    return to_dicts(call, [port])[0]


def render(port: Port, tags: list[str]) -> dict:
    return {
        "id": port.id, "name": port.name, "network_id": port.network_id,
        "mac_address": port.mac_address, "admin_state_up": port.admin_state_up,
        "status": port.status, "device_id": port.device_id,
        "device_owner": port.device_owner,
        "fixed_ips": [{"subnet_id": ip.subnet_id, "ip_address": ip.ip_address}
                      for ip in port.fixed_ips],
        "security_groups": sorted(b.security_group_id for b in port.security_groups),
        "port_security_enabled": port.port_security_enabled,
        "allowed_address_pairs": [], "extra_dhcp_opts": [],
        "binding:host_id": port.binding_host_id, "binding:profile": port.binding_profile or {},
        "binding:vif_type": port.binding_vif_type,
        "binding:vif_details": port.binding_vif_details or {},
        "binding:vnic_type": port.binding_vnic_type, "ip_allocation": "immediate",
        "tags": tags, **common.standard_fields(port),
    }


# --- the API's create, update, delete ----------------------------------------------------
def create(call: Call, body: dict) -> Port:
    fields = parse_create(RESOURCE, body, ATTRS)
    project_id = owner_of(fields, call.project_id)
    network = network_ops.get(call, fields["network_id"])
    check_network_ownership(call, network, project_id)
    given = set(body[RESOURCE])
    attributes = [name for name in ("device_owner", "mac_address", "port_security_enabled",
                                    "binding:host_id", "binding:profile", "binding:vnic_type")
                  if name in given and fields.get(name) not in (None, "", {})]
    requests = fields.get("fixed_ips")
    if requests:
        attributes += [f"fixed_ips:{key}" for key in ("ip_address", "subnet_id")
                       if any(key in request for request in requests)]
    call.access.check("create_port", target(None, network, project_id, fields["device_owner"]),
                      attributes)
    check_quota(call.session, call.settings.quota_defaults, project_id, RESOURCE)
    port = make_port(
        call, network, project_id=project_id, name=fields["name"],
        description=fields["description"], device_id=fields["device_id"],
        device_owner=fields["device_owner"], admin_state_up=fields["admin_state_up"],
        mac=fields.get("mac_address"), fixed_ips=requests,
        port_security=fields.get("port_security_enabled"),
        security_group_ids=fields.get("security_groups"))
    _bind(port, fields)
    call.session.flush()
    call.notify("port.create.end", RESOURCE, port.id, project_id,
                {"port": {"id": port.id, "network_id": network.id,
                          "device_id": port.device_id, "device_owner": port.device_owner}})
    return port


def check_network_ownership(call: Call, network: Network, project_id: str) -> None:
    """A port or subnet goes on the caller's network or a shared one
    (admins and services anywhere): Neutron answers the others with a 404
    that hides the network ("The resource could not be found.")."""
    if call.is_admin or call.access.ctx.is_service or network.shared:
        return
    if network.project_id != project_id:
        raise HTTPNotFound()


def update(call: Call, port_id: str, body: dict) -> Port:
    port = get(call, port_id)
    network = call.session.get(Network, port.network_id)
    assert network is not None  # a port's network goes only after its ports
    fields = parse_update(RESOURCE, body, ATTRS)
    attributes = [name for name in fields if name not in ("fixed_ips",)
                  and fields[name] != _current(port, name)]
    if "fixed_ips" in fields:
        attributes += [f"fixed_ips:{key}" for key in ("ip_address", "subnet_id")
                       if any(key in request for request in fields["fixed_ips"])]
    call.access.check("update_port", target(port, network), attributes)
    if "device_owner" in fields and fields["device_owner"] != port.device_owner:
        call.access.check("update_port", target(None, network, port.project_id,
                                                  fields["device_owner"]), ["device_owner"])
    for name in ("name", "description", "admin_state_up", "device_id", "device_owner"):
        if name in fields:
            setattr(port, name, fields[name])
    if "mac_address" in fields and fields["mac_address"] != port.mac_address:
        _check_mac_free(call, network, fields["mac_address"])
        port.mac_address = fields["mac_address"]
    if "fixed_ips" in fields:
        _check_floating_ip_address_kept(call, port, fields["fixed_ips"])
        _replace_fixed_ips(call, port, network, fields["fixed_ips"])
    _update_security(call, port, fields)
    _bind(port, fields)
    common.touch(port)
    call.session.flush()
    call.notify("port.update.end", RESOURCE, port.id, port.project_id,
                {"port": {"id": port.id, "changed": sorted(fields)}})
    return port


def delete(call: Call, port_id: str) -> None:
    port = get(call, port_id)
    network = call.session.get(Network, port.network_id)
    assert network is not None
    call.access.check("delete_port", target(port, network))
    _prevent_service_port_deletion(call, port)
    remove(call, port)
    call.notify("port.delete.end", RESOURCE, port.id, port.project_id, {"port_id": port.id})


def _prevent_service_port_deletion(call: Call, port: Port) -> None:
    """A router's or floating IP's port goes with its router or floating
    IP, not through DELETE /ports (Neutron's prevent_l3_port_deletion);
    one whose router or floating IP no longer exists may go."""
    if port.device_owner not in SERVICE_OWNERS:
        return
    model = FloatingIP if port.device_owner == owners.FLOATINGIP else Router
    if common.get(call.session, model, port.device_id) is not None:
        raise ServicePortInUse(port_id=port.id, reason=f"has device owner {port.device_owner}")


def remove(call: Call, port: Port) -> None:
    """The port goes, with its addresses, groups and tags; floating IPs
    that pointed at it are disassociated (as Neutron's
    disassociate_floatingips)."""
    call.session.execute(sql_update(FloatingIP).where(FloatingIP.fixed_port_id == port.id).values(
        fixed_port_id=None, fixed_ip_address=None, router_id=None, status="DOWN"))
    common.delete_tags(call.session, RESOURCE, port.id)
    call.session.delete(port)
    call.session.flush()


# --- making ports: for the API and for the other resources -------------------------------
def make_port(call: Call, network: Network, *, project_id: str, device_owner: str = "",
              device_id: str = "", name: str = "", description: str = "",
              admin_state_up: bool = True, mac: str | None = None,
              fixed_ips: list[FixedIpRequest] | None = None,
              port_security: bool | None = None,
              security_group_ids: list[str] | None = None) -> Port:
    """A new port on `network` (no policy or quota check: the caller did
    them). fixed_ips None: one address chosen by IPAM; []: none.
    Security groups: those named, else the project's default for a port
    with port security and an address (not for networkd's own ports)."""
    if mac is not None:
        _check_mac_free(call, network, mac)
    port = Port(id=common.new_id(), project_id=project_id, network_id=network.id, name=name,
                description=description, mac_address=mac or new_mac(call, network),
                admin_state_up=admin_state_up, status="DOWN", device_id=device_id,
                device_owner=device_owner,
                port_security_enabled=network.port_security_enabled
                if port_security is None else port_security,
                binding_host_id="", binding_vif_type=VIF_TYPE_UNBOUND,
                binding_vnic_type="normal", binding_profile={}, binding_vif_details={})
    call.session.add(port)
    call.session.flush()
    for position, (subnet_id, address) in enumerate(
            allocate_ips(call, network, fixed_ips, device_owner)):
        port.fixed_ips.append(IPAllocation(subnet_id=subnet_id, ip_address=address,
                                           network_id=network.id, position=position))
    groups = _groups_for_new_port(call, port, security_group_ids)
    port.security_groups = [PortSecurityGroup(security_group_id=g) for g in groups]
    call.session.flush()
    return port


def _groups_for_new_port(call: Call, port: Port, wanted: list[str] | None) -> list[str]:
    if owners.is_network_owned(port.device_owner):
        return []
    if wanted:
        if not port.port_security_enabled or not port.fixed_ips:
            raise PortSecurityAndIPRequiredForSecurityGroups()
        return security_groups.resolve_for_port(call, wanted, port.project_id)
    if wanted is None and port.port_security_enabled and port.fixed_ips:
        return [security_groups.ensure_default(call.session, port.project_id).id]
    return []


def allocate_ips(call: Call, network: Network, requests: list[FixedIpRequest] | None,
                 device_owner: str = "") -> list[tuple[str, str]]:
    """(subnet id, address) for each request; the explicit addresses first,
    so that an automatic one never takes an address asked for."""
    subnets = list(network.subnets)
    if requests is None:
        if not subnets:
            return []
        for subnet in subnets:
            address = next_free(call, subnet)
            if address is not None:
                return [(subnet.id, address)]
        raise IpAddressGenerationFailure(net_id=network.id)
    if len(requests) > call.settings.max_fixed_ips_per_port:
        raise InvalidInput(error_message="Exceeded maximum amount of fixed ips per port.")
    chosen: list[tuple[str, str]] = []
    explicit = [r for r in requests if "ip_address" in r]
    automatic = [r for r in requests if "ip_address" not in r]
    for request in explicit + automatic:
        subnet = _subnet_for(call, network, subnets, request)
        if "ip_address" in request:
            address = request["ip_address"]
            if not ipam.in_subnet(subnet.cidr, address):
                raise InvalidIpForSubnet(ip_address=address)
            if (subnet.id, address) in chosen or address in taken(call, subnet.id):
                raise IpAddressAlreadyAllocated(ip=address, subnet_id=subnet.id)
        else:
            free = next_free(call, subnet, {ip for s, ip in chosen if s == subnet.id})
            if free is None:
                raise IpAddressGenerationFailure(net_id=network.id)
            address = free
        chosen.append((subnet.id, address))
    return chosen


def _subnet_for(call: Call, network: Network, subnets: list[Subnet],
                request: FixedIpRequest) -> Subnet:
    """The subnet a fixed_ips entry means (Neutron's _get_subnet_for_fixed_ip)."""
    if not subnets:
        raise InvalidInput(error_message="IP allocation requires subnets for network")
    if "subnet_id" in request:
        found = next((s for s in subnets if s.id == request["subnet_id"]), None)
        if found is None:
            if common.get(call.session, Subnet, request["subnet_id"]) is None:
                raise SubnetNotFound(subnet_id=request["subnet_id"])
            raise InvalidInput(error_message=f"Failed to create port on network {network.id}"
                               f", because fixed_ips included invalid subnet "
                               f"{request['subnet_id']}")
        return found
    if "ip_address" not in request:
        raise InvalidInput(error_message="IP allocation requires subnet_id or ip_address")
    for subnet in subnets:
        if ipam.in_subnet(subnet.cidr, request["ip_address"]):
            return subnet
    raise InvalidIpForNetwork(ip_address=request["ip_address"])


def taken(call: Call, subnet_id: str) -> set[str]:
    return set(call.session.scalars(select(IPAllocation.ip_address)
                                    .where(IPAllocation.subnet_id == subnet_id)))


def next_free(call: Call, subnet: Subnet, also_taken: set[str] | None = None) -> str | None:
    """The lowest free address of the subnet's pools, or None."""
    pools = [(p.first_ip, p.last_ip) for p in subnet.allocation_pools]
    return ipam.lowest_free(pools, taken(call, subnet.id) | (also_taken or set()))


def _replace_fixed_ips(call: Call, port: Port, network: Network,
                       requests: list[FixedIpRequest]) -> None:
    """PUT fixed_ips: the port ends with exactly these. An entry naming an
    address it has keeps it; an entry naming only a subnet keeps the
    port's address there if it has one."""
    current = {(ip.subnet_id, ip.ip_address) for ip in port.fixed_ips}
    kept: list[tuple[str, str]] = []
    new: list[FixedIpRequest] = []
    for request in requests:
        subnet_id = request.get("subnet_id")
        address = request.get("ip_address")
        match = next(((s, a) for s, a in current - set(kept)
                      if (address is None or a == address)
                      and (subnet_id is None or s == subnet_id)), None)
        if match is not None and (address is not None or subnet_id is not None):
            kept.append(match)
        else:
            new.append(request)
    for allocation in list(port.fixed_ips):
        if (allocation.subnet_id, allocation.ip_address) not in kept:
            port.fixed_ips.remove(allocation)
    call.session.flush()
    if len(kept) + len(new) > call.settings.max_fixed_ips_per_port:
        raise InvalidInput(error_message="Exceeded maximum amount of fixed ips per port.")
    added = allocate_ips(call, network, new, port.device_owner) if new else []
    for position, (subnet_id, address) in enumerate(kept + added):
        existing = next((ip for ip in port.fixed_ips
                         if (ip.subnet_id, ip.ip_address) == (subnet_id, address)), None)
        if existing is not None:
            existing.position = position
        else:
            port.fixed_ips.append(IPAllocation(subnet_id=subnet_id, ip_address=address,
                                               network_id=network.id, position=position))


def _check_floating_ip_address_kept(call: Call, port: Port,
                                    requests: list[FixedIpRequest]) -> None:
    """The address a floating IP points at stays on the port (Neutron's
    prevent_internal_ip_change_for_fip)."""
    fixed = call.session.scalar(select(FloatingIP.fixed_ip_address).where(
        FloatingIP.fixed_port_id == port.id, FloatingIP.fixed_ip_address.is_not(None)).limit(1))
    if fixed and all(request.get("ip_address") != fixed for request in requests):
        raise BadRequest(resource="port", msg=f"Cannot update the fixed_ips of the port "
                         f"{port.id}, because its original fixed_ip has been associated to a "
                         "floating ip")


def _update_security(call: Call, port: Port, fields: dict) -> None:
    """port_security_enabled and security_groups, checked together as
    Neutron does: no groups on a port without port security or address."""
    if "port_security_enabled" in fields:
        port.port_security_enabled = fields["port_security_enabled"]
    if "security_groups" in fields:
        wanted = fields["security_groups"]
        if wanted and (not port.port_security_enabled or not port.fixed_ips):
            raise PortSecurityAndIPRequiredForSecurityGroups()
        groups = security_groups.resolve_for_port(call, wanted, port.project_id)
        port.security_groups = [PortSecurityGroup(security_group_id=g) for g in groups]
    elif not port.port_security_enabled and port.security_groups:
        raise PortSecurityPortHasSecurityGroup()


def _bind(port: Port, fields: dict) -> None:
    """The binding: a host makes the port bound (vif_type tap, the NIC
    libvirt makes and the agent plugs); an empty host unbinds it."""
    if "binding:profile" in fields:
        port.binding_profile = fields["binding:profile"]
    if "binding:vnic_type" in fields:
        port.binding_vnic_type = fields["binding:vnic_type"]
    if "binding:host_id" in fields:
        host = fields["binding:host_id"]
        port.binding_host_id = host
        port.binding_vif_type = VIF_TYPE_TAP if host else VIF_TYPE_UNBOUND
        port.binding_vif_details = {"port_filter": True} if host else {}


def _current(port: Port, name: str) -> Any:
    column = {"binding:host_id": "binding_host_id", "binding:profile": "binding_profile",
              "binding:vnic_type": "binding_vnic_type"}.get(name, name)
    if name == "security_groups":
        return sorted(b.security_group_id for b in port.security_groups)
    return getattr(port, column, None)


# --- MAC addresses -----------------------------------------------------------------------
def new_mac(call: Call, network: Network) -> str:
    """fa:16:3e (the base_mac's first three bytes) and three random bytes,
    not used by any port of the stack."""
    prefix = call.settings.base_mac.lower().split(":")[:3]
    for _ in range(16):
        mac = ":".join(prefix + [f"{random.randint(0, 255):02x}" for _ in range(3)])
        if call.session.scalar(select(Port.id).where(Port.mac_address == mac)) is None:
            return mac
    raise NetworkMacAddressGenerationFailure(net_id=network.id)


def _check_mac_free(call: Call, network: Network, mac: str) -> None:
    if call.session.scalar(select(Port.id).where(Port.mac_address == mac)) is not None:
        raise MacAddressInUse(net_id=network.id, mac=mac)
