"""Networks: create, show, list, update, delete, as Neutron's core plugin.

Who sees a network: its project, everyone when it is shared or external
(router:external), admins always; for anyone else it does not exist (404).
Only admins make a network shared or external (policy). A network is
deleted with its subnets and its DHCP port; any other port keeps it
(NetworkInUse, 409).
"""
from __future__ import annotations

from sqlalchemy import or_, select

from networkd import owners
from networkd.attributes import (
    Attr,
    boolean,
    list_of,
    owner_of,
    parse_create,
    parse_update,
    standard_attrs,
    string,
)
from networkd.call import Call
from networkd.db import common
from networkd.db.models import Network, Port
from networkd.errors import (
    ExternalNetworkInUse,
    InvalidSharedSetting,
    NetworkInUse,
    NetworkNotFound,
)
from networkd.listing import Query, narrowed
from networkd.quotas import check as check_quota

RESOURCE = "network"
EXTERNAL = "router:external"


def _attrs() -> dict[str, Attr]:
    return {
        **standard_attrs(),
        "admin_state_up": Attr(boolean, default=True),
        "shared": Attr(boolean, default=False),
        EXTERNAL: Attr(boolean, default=False),
        "port_security_enabled": Attr(boolean, default=True),
        "availability_zone_hints": Attr(list_of(string()), put=False, default=list),
    }


ATTRS = _attrs()


def target(network: Network) -> dict:
    """What policy rules see of a network."""
    return {"project_id": network.project_id, "shared": network.shared,
            EXTERNAL: network.external, "id": network.id}


# --- reading -----------------------------------------------------------------------------
def visible(call: Call, network: Network) -> bool:
    return call.access.allows("get_network", target(network))


def get(call: Call, network_id: str) -> Network:
    """A network the caller may see, or NetworkNotFound."""
    network = common.get(call.session, Network, network_id)
    if network is None or not visible(call, network):
        raise NetworkNotFound(net_id=network_id)
    return network


def list_visible(call: Call, wanted: Query | None = None) -> list[Network]:
    """The networks the caller may see; only those `wanted` names by id,
    if it does (listing.narrowed)."""
    query = narrowed(select(Network).order_by(Network.created_at, Network.id), wanted,
                     {"id": Network.id})
    if not call.is_admin:
        query = query.where(or_(Network.project_id == call.project_id,
                                Network.shared.is_(True), Network.external.is_(True)))
    return [n for n in call.session.scalars(query) if visible(call, n)]


def to_dicts(call: Call, networks: list[Network]) -> list[dict]:
    tags = common.tags_of(call.session, RESOURCE, [n.id for n in networks])
    return [render(network, tags[network.id]) for network in networks]


def to_dict(call: Call, network: Network) -> dict:
    return to_dicts(call, [network])[0]


def render(network: Network, tags: list[str]) -> dict:
    return {
        "id": network.id, "name": network.name, "status": network.status,
        "admin_state_up": network.admin_state_up, "shared": network.shared,
        EXTERNAL: network.external, "subnets": [s.id for s in network.subnets],
        "mtu": network.mtu, "port_security_enabled": network.port_security_enabled,
        "availability_zone_hints": [], "availability_zones": ["nova"],
        "ipv4_address_scope": None, "ipv6_address_scope": None,
        "l2_adjacency": True, "tags": tags, **common.standard_fields(network),
    }


# --- changing ----------------------------------------------------------------------------
def create(call: Call, body: dict) -> Network:
    fields = parse_create(RESOURCE, body, ATTRS)
    project_id = owner_of(fields, call.project_id)
    fields.pop("availability_zone_hints")
    network = Network(id=common.new_id(), project_id=project_id, name=fields["name"],
                      description=fields["description"],
                      admin_state_up=fields["admin_state_up"], shared=fields["shared"],
                      external=fields[EXTERNAL], mtu=call.settings.mtu,
                      port_security_enabled=fields["port_security_enabled"])
    call.access.check("create_network", target(network), _explicit(body, fields))
    check_quota(call.session, call.settings.quota_defaults, project_id, RESOURCE)
    call.session.add(network)
    call.session.flush()
    call.notify("network.create.end", RESOURCE, network.id, project_id,
                {"network": {"id": network.id, "name": network.name}})
    return network


def update(call: Call, network_id: str, body: dict) -> Network:
    network = get(call, network_id)
    fields = parse_update(RESOURCE, body, ATTRS)
    call.access.check("update_network", target(network), _explicit(body, fields, network))
    if "shared" in fields and network.shared and not fields["shared"]:
        _check_unsharing(call, network)
    if fields.get(EXTERNAL) is False and network.external:
        _check_no_gateways(call, network)
    for name, value in fields.items():
        setattr(network, "external" if name == EXTERNAL else name, value)
    common.touch(network)
    call.session.flush()
    call.notify("network.update.end", RESOURCE, network.id, network.project_id,
                {"network": {"id": network.id, "changed": sorted(fields)}})
    return network


def delete(call: Call, network_id: str) -> None:
    network = get(call, network_id)
    call.access.check("delete_network", target(network))
    ports = list(call.session.scalars(select(Port).where(Port.network_id == network.id)))
    if any(port.device_owner != owners.DHCP for port in ports):
        raise NetworkInUse(net_id=network.id)
    for port in ports:  # only the DHCP port: networkd's own, it goes with the network
        common.delete_tags(call.session, "port", port.id)
        call.session.delete(port)
    for subnet in network.subnets:
        common.delete_tags(call.session, "subnet", subnet.id)
    common.delete_tags(call.session, RESOURCE, network.id)
    call.session.delete(network)
    call.session.flush()
    call.notify("network.delete.end", RESOURCE, network.id, network.project_id,
                {"network_id": network.id})


def _check_unsharing(call: Call, network: Network) -> None:
    """A shared network other projects have ports on stays shared."""
    others = call.session.scalar(select(Port.id).where(
        Port.network_id == network.id, Port.project_id != network.project_id,
        ~Port.device_owner.startswith(owners.NETWORK_PREFIX)).limit(1))
    if others is not None:
        raise InvalidSharedSetting(network=network.name or network.id)


def _check_no_gateways(call: Call, network: Network) -> None:
    """An external network routers have gateways on stays external
    (Neutron's _process_l3_update)."""
    gateway = call.session.scalar(select(Port.id).where(
        Port.network_id == network.id, Port.device_owner == owners.ROUTER_GATEWAY).limit(1))
    if gateway is not None:
        raise ExternalNetworkInUse(net_id=network.id)


def _explicit(body: dict, fields: dict, current: Network | None = None) -> list[str]:
    """The attributes whose own policy rule applies: those the body sets to
    something else than the default (create) or the current value (update),
    as Neutron's _is_attribute_explicitly_set."""
    given = body.get(RESOURCE, {})
    names = []
    for name in given:
        if name not in fields:
            continue
        if current is None:
            default = ATTRS[name].default
            if fields[name] != (default() if callable(default) else default):
                names.append(name)
        elif fields[name] != getattr(current, "external" if name == EXTERNAL else name,
                                     None):
            names.append(name)
    return names
