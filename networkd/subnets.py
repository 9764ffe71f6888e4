"""Subnets: create, show, list, update, delete (IPv4), with their
allocation pools, DNS servers and host routes.

The checks are Neutron's, in its order, with its messages: a CIDR that
overlaps any other subnet of the stack (networkd runs Neutron's
allow_overlapping_ips = False: every subnet is routed in the one table of
the stack's namespace), a gateway that is not a host of the subnet, pools
outside the subnet or overlapping or holding the gateway, too many DNS
servers or routes.

DHCP, as Neutron's DHCP agent: each network with a DHCP subnet has one
port with device_owner network:dhcp and device_id dhcp<host id>-<network>,
holding one address of each DHCP subnet (taken from its pool); dnsmasq
listens there. Turning DHCP off, or deleting the subnet, gives the address
back; the port goes with its last address.
"""
from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import object_session

from networkd import ipam, owners
from networkd import networks as network_ops
from networkd import ports as port_ops
from networkd.attributes import (
    Attr,
    boolean,
    dict_with,
    ip_address,
    ip_version,
    list_of,
    nullable_ip_address,
    owner_of,
    parse_create,
    parse_update,
    standard_attrs,
    subnet_cidr,
    uuid_string,
)
from networkd.call import Call
from networkd.db import common
from networkd.db.models import (
    AllocationPool,
    DnsNameServer,
    IPAllocation,
    Network,
    Port,
    Subnet,
    SubnetRoute,
)
from networkd.errors import (
    DNSNameServersExhausted,
    GatewayIpInUse,
    HostRoutesExhausted,
    InvalidInput,
    SubnetInUse,
    SubnetNotFound,
)
from networkd.quotas import check as check_quota

RESOURCE = "subnet"
NOT_GIVEN = object()


def _null_only(name: str):
    def convert(value):
        if value is not None:
            raise ValueError(f"networkd does not implement {name}; only null is accepted")
        return None
    return convert


def _empty_only(value):
    if value not in (None, []):
        raise ValueError("networkd does not implement service types; only [] is accepted")
    return []


def _attrs() -> dict[str, Attr]:
    pool = dict_with({"start": ip_address, "end": ip_address}, required=("start", "end"))
    route = dict_with({"destination": subnet_cidr, "nexthop": ip_address},
                      required=("destination", "nexthop"))
    return {
        **standard_attrs(),
        "network_id": Attr(uuid_string, put=False, required=True),
        "ip_version": Attr(ip_version, put=False, required=True),
        "cidr": Attr(subnet_cidr, put=False, required=True),
        "gateway_ip": Attr(nullable_ip_address, default=NOT_GIVEN),
        "allocation_pools": Attr(list_of(pool, unique=False)),
        "dns_nameservers": Attr(list_of(ip_address), default=list),
        "host_routes": Attr(list_of(route), default=list),
        "enable_dhcp": Attr(boolean, default=True),
        "ipv6_ra_mode": Attr(_null_only("ipv6_ra_mode"), put=False),
        "ipv6_address_mode": Attr(_null_only("ipv6_address_mode"), put=False),
        "subnetpool_id": Attr(_null_only("subnet pools"), put=False),
        "segment_id": Attr(_null_only("segments")),
        "service_types": Attr(_empty_only),
    }


ATTRS = _attrs()


def target(subnet: Subnet | None, network: Network, project_id: str | None = None) -> dict:
    return {"project_id": subnet.project_id if subnet else project_id,
            "network:project_id": network.project_id, "shared": network.shared,
            "network_id": network.id}


# --- reading -----------------------------------------------------------------------------
def get(call: Call, subnet_id: str) -> Subnet:
    subnet = common.get(call.session, Subnet, subnet_id)
    if subnet is None or not _visible(call, subnet):
        raise SubnetNotFound(subnet_id=subnet_id)
    return subnet


def _visible(call: Call, subnet: Subnet) -> bool:
    """Its project's, and everyone's on a network they may see because it
    is shared or external (Neutron's RBAC of such networks)."""
    network = subnet.network
    return call.access.allows("get_subnet", target(subnet, network)) or \
        (network.external and network_ops.visible(call, network))


def list_visible(call: Call) -> list[Subnet]:
    query = select(Subnet).order_by(Subnet.created_at, Subnet.id)
    if not call.is_admin:
        open_networks = select(Network.id).where(or_(Network.shared.is_(True),
                                                     Network.external.is_(True)))
        query = query.where(or_(Subnet.project_id == call.project_id,
                                Subnet.network_id.in_(open_networks)))
    return [s for s in call.session.scalars(query) if _visible(call, s)]


def to_dicts(call: Call, subnets: list[Subnet]) -> list[dict]:
    tags = common.tags_of(call.session, RESOURCE, [s.id for s in subnets])
    return [render(subnet, tags[subnet.id]) for subnet in subnets]


def to_dict(call: Call, subnet: Subnet) -> dict:
    return to_dicts(call, [subnet])[0]


def render(subnet: Subnet, tags: list[str]) -> dict:
    return {
        "id": subnet.id, "name": subnet.name, "network_id": subnet.network_id,
        "ip_version": subnet.ip_version, "cidr": subnet.cidr,
        "gateway_ip": subnet.gateway_ip, "enable_dhcp": subnet.enable_dhcp,
        "allocation_pools": [{"start": p.first_ip, "end": p.last_ip}
                             for p in subnet.allocation_pools],
        "dns_nameservers": [d.address for d in subnet.dns_nameservers],
        "host_routes": [{"destination": r.destination, "nexthop": r.nexthop}
                        for r in subnet.host_routes],
        "service_types": [], "ipv6_ra_mode": None, "ipv6_address_mode": None,
        "subnetpool_id": None, "segment_id": None, "dns_publish_fixed_ip": False,
        "tags": tags, **common.standard_fields(subnet),
    }


# --- changing ----------------------------------------------------------------------------
def create(call: Call, body: dict) -> Subnet:
    fields = parse_create(RESOURCE, body, ATTRS)
    project_id = owner_of(fields, call.project_id)
    network = network_ops.get(call, fields["network_id"])
    port_ops.check_network_ownership(call, network, project_id)
    call.access.check("create_subnet", target(None, network, project_id))
    if fields["ip_version"] != 4:
        raise InvalidInput(error_message="networkd implements IPv4 subnets only")
    cidr = fields["cidr"]
    gateway = ipam.first_host(cidr) if fields["gateway_ip"] is NOT_GIVEN \
        else fields["gateway_ip"]
    _validate(call, cidr, gateway, fields, "new subnet")
    _check_no_overlap(call, cidr, network.id)
    pools = _pools(fields.get("allocation_pools"), cidr, gateway)
    check_quota(call.session, call.settings.quota_defaults, project_id, RESOURCE)
    subnet = Subnet(id=common.new_id(), project_id=project_id, network_id=network.id,
                    name=fields["name"], description=fields["description"], ip_version=4,
                    cidr=cidr, gateway_ip=gateway, enable_dhcp=fields["enable_dhcp"])
    call.session.add(subnet)
    _set_pools(subnet, pools)
    _set_dns(subnet, fields["dns_nameservers"])
    _set_routes(subnet, fields["host_routes"])
    call.session.flush()
    call.session.refresh(network)
    if subnet.enable_dhcp:
        give_dhcp_address(call, network, subnet)
    call.notify("subnet.create.end", RESOURCE, subnet.id, project_id,
                {"subnet": {"id": subnet.id, "network_id": network.id, "cidr": cidr}})
    return subnet


def update(call: Call, subnet_id: str, body: dict) -> Subnet:
    subnet = get(call, subnet_id)
    network = subnet.network
    fields = parse_update(RESOURCE, body, ATTRS)
    call.access.check("update_subnet", target(subnet, network))
    gateway = fields.get("gateway_ip", subnet.gateway_ip)
    _validate(call, subnet.cidr, gateway, fields, subnet.id)
    if "gateway_ip" in fields and gateway != subnet.gateway_ip:
        _check_gateway_unused(call, subnet)
    if "allocation_pools" in fields or "gateway_ip" in fields:
        current = [(p.first_ip, p.last_ip) for p in subnet.allocation_pools]
        if "allocation_pools" in fields:
            pools = _pools(fields["allocation_pools"], subnet.cidr, gateway)
        else:
            ipam.validate_pools(current, subnet.cidr, gateway)
            pools = current
        _set_pools(subnet, pools)
    for name in ("name", "description"):
        if name in fields:
            setattr(subnet, name, fields[name])
    subnet.gateway_ip = gateway
    if "dns_nameservers" in fields:
        _set_dns(subnet, fields["dns_nameservers"])
    if "host_routes" in fields:
        _set_routes(subnet, fields["host_routes"])
    if "enable_dhcp" in fields and fields["enable_dhcp"] != subnet.enable_dhcp:
        subnet.enable_dhcp = fields["enable_dhcp"]
        call.session.flush()
        if subnet.enable_dhcp:
            give_dhcp_address(call, network, subnet)
        else:
            take_dhcp_address(call, subnet)
    common.touch(subnet)
    call.session.flush()
    call.notify("subnet.update.end", RESOURCE, subnet.id, subnet.project_id,
                {"subnet": {"id": subnet.id, "changed": sorted(fields)}})
    return subnet


def delete(call: Call, subnet_id: str) -> None:
    subnet = get(call, subnet_id)
    network = subnet.network
    call.access.check("delete_subnet", target(subnet, network))
    users = call.session.execute(select(Port.device_owner).join(
        IPAllocation, IPAllocation.port_id == Port.id).where(IPAllocation.subnet_id == subnet.id))
    if any(owner != owners.DHCP for (owner,) in users):
        raise SubnetInUse(subnet_id=subnet.id)
    take_dhcp_address(call, subnet)
    common.delete_tags(call.session, RESOURCE, subnet.id)
    call.session.delete(subnet)
    call.session.flush()
    call.notify("subnet.delete.end", RESOURCE, subnet.id, subnet.project_id,
                {"subnet_id": subnet.id})


# --- the DHCP port -----------------------------------------------------------------------
def dhcp_port(call: Call, network: Network) -> Port | None:
    return call.session.scalars(select(Port).where(
        Port.network_id == network.id, Port.device_owner == owners.DHCP)).first()


def give_dhcp_address(call: Call, network: Network, subnet: Subnet) -> None:
    """An address of the subnet for the network's DHCP port (made now if
    the network has none). A subnet with no free address gets DHCP without
    a server, as Neutron's agent would fail to: nothing is refused."""
    if not call.settings.dhcp_ports:
        return
    address = port_ops.next_free(call, subnet)
    if address is None:
        return
    port = dhcp_port(call, network)
    if port is None:
        port_ops.make_port(call, network, project_id=network.project_id,
                           device_owner=owners.DHCP,
                           device_id=f"dhcp{call.settings.dhcp_host_id}-{network.id}",
                           fixed_ips=[{"subnet_id": subnet.id, "ip_address": address}],
                           port_security=False)
        return
    port.fixed_ips.append(IPAllocation(subnet_id=subnet.id, ip_address=address,
                                       network_id=network.id, position=len(port.fixed_ips)))
    common.touch(port)


def take_dhcp_address(call: Call, subnet: Subnet) -> None:
    port = dhcp_port(call, subnet.network)
    if port is None:
        return
    for allocation in [ip for ip in port.fixed_ips if ip.subnet_id == subnet.id]:
        port.fixed_ips.remove(allocation)
    call.session.flush()
    if not port.fixed_ips:
        port_ops.remove(call, port)
    else:
        common.touch(port)


# --- checks ------------------------------------------------------------------------------
def _validate(call: Call, cidr: str, gateway: str | None, fields: dict, label: str) -> None:
    """Neutron's _validate_subnet, for IPv4."""
    if ipam.prefixlen(cidr) == 0:
        raise InvalidInput(error_message="0 is not allowed as CIDR prefix length")
    if fields.get("enable_dhcp") and ipam.prefixlen(cidr) > 30:
        raise InvalidInput(error_message="Subnet has a prefix length that is incompatible "
                                         "with DHCP service enabled")
    if gateway is not None and ipam.gateway_invalid(cidr, gateway):
        raise InvalidInput(error_message="Gateway is not valid on subnet")
    dns = fields.get("dns_nameservers") or []
    if len(dns) > call.settings.max_dns_nameservers:
        raise DNSNameServersExhausted(subnet_id=label, quota=call.settings.max_dns_nameservers)
    routes = fields.get("host_routes") or []
    if len(routes) > call.settings.max_subnet_host_routes:
        raise HostRoutesExhausted(subnet_id=label, quota=call.settings.max_subnet_host_routes)


def _check_no_overlap(call: Call, cidr: str, network_id: str) -> None:
    """allow_overlapping_ips = False: no two subnets of the stack overlap.
    The message does not say which subnet it overlaps (Neutron's care not
    to tell one project about another's)."""
    for other in call.session.scalars(select(Subnet.cidr)):
        if ipam.overlaps(cidr, other):
            raise InvalidInput(error_message=f"Requested subnet with cidr: {cidr} for "
                                             f"network: {network_id} overlaps with another "
                                             "subnet")


def _check_gateway_unused(call: Call, subnet: Subnet) -> None:
    """The gateway a router interface holds cannot move (GatewayIpInUse)."""
    if subnet.gateway_ip is None:
        return
    holder = call.session.scalar(select(Port.id).join(
        IPAllocation, IPAllocation.port_id == Port.id).where(
        IPAllocation.subnet_id == subnet.id, IPAllocation.ip_address == subnet.gateway_ip,
        Port.device_owner.in_(owners.ROUTER_OWNERS)))
    if holder is not None:
        raise GatewayIpInUse(ip_address=subnet.gateway_ip, port_id=holder)


def _pools(given: list[dict] | None, cidr: str, gateway: str | None) -> list[ipam.Pool]:
    if not given:
        return ipam.default_pools(cidr, gateway)
    pools = [(pool["start"], pool["end"]) for pool in given]
    ipam.validate_pools(pools, cidr, gateway)
    return pools


def _set_pools(subnet: Subnet, pools: list[ipam.Pool]) -> None:
    subnet.allocation_pools = [AllocationPool(first_ip=first, last_ip=last)
                               for first, last in pools]


def _set_dns(subnet: Subnet, servers: list[str]) -> None:
    session = object_session(subnet)
    if session is not None and subnet.dns_nameservers:
        subnet.dns_nameservers = []
        session.flush()  # the same address again: the old row must go first
    subnet.dns_nameservers = [DnsNameServer(address=address, order=index)
                              for index, address in enumerate(servers)]


def _set_routes(subnet: Subnet, routes: list[dict]) -> None:
    subnet.host_routes = [SubnetRoute(destination=r["destination"], nexthop=r["nexthop"])
                          for r in routes]
