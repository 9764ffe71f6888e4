"""Floating IPs: allocate an address of an external network, associate it
with a port (at creation or by PUT port_id), disassociate (port_id null),
release, as Neutron's L3 plugin.

A floating IP holds its address through a port on the external network
(device_owner network:floatingip, device_id = the floating IP, no
project). Associating needs a router that connects the port's subnet to
that external network (an interface on the subnet, a gateway on the
network); that router is the floating IP's router_id, and the data plane
DNATs the address to the port's fixed IP there. Status: ACTIVE while
associated, DOWN otherwise.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from networkd import networks as network_ops
from networkd import owners, ports, routers
from networkd.attributes import (
    Attr,
    nullable_ip_address,
    nullable_string,
    owner_of,
    parse_create,
    parse_update,
    string,
    uuid_string,
)
from networkd.call import Call
from networkd.db import common
from networkd.db.models import FloatingIP, Port, Subnet
from networkd.errors import BadRequest, ExternalIpAddressExhausted, InUse, NotFound
from networkd.listing import Query, narrowed
from networkd.quotas import check as check_quota

RESOURCE = "floatingip"
ACTIVE, DOWN = "ACTIVE", "DOWN"


# --- Neutron's errors (neutron_lib.exceptions.l3) ---------------------------------------
class FloatingIPNotFound(NotFound):
    template = "Floating IP %(floatingip_id)s could not be found"


class ExternalGatewayForFloatingIPNotFound(NotFound):
    template = ("External network %(external_network_id)s is not reachable from subnet "
                "%(subnet_id)s.  Therefore, cannot associate Port %(port_id)s with a "
                "Floating IP.")


class FloatingIPPortAlreadyAssociated(InUse):
    template = ("Cannot associate floating IP %(floating_ip_address)s (%(fip_id)s) with port "
                "%(port_id)s using fixed IP %(fixed_ip)s, as that fixed IP already has a "
                "floating IP on external network %(net_id)s.")


def _bad(msg: str) -> BadRequest:
    return BadRequest(resource=RESOURCE, msg=msg)


def _nullable_uuid(value: Any) -> str | None:
    return None if value is None else uuid_string(value)


def _attrs() -> dict[str, Attr]:
    return {
        "floating_network_id": Attr(uuid_string, put=False, required=True),
        "floating_ip_address": Attr(nullable_ip_address, put=False),
        "subnet_id": Attr(_nullable_uuid, put=False),
        "port_id": Attr(_nullable_uuid),
        "fixed_ip_address": Attr(nullable_ip_address),
        "description": Attr(nullable_string(255), default=""),
        "project_id": Attr(string(64), put=False),
        "tenant_id": Attr(string(64), put=False),
    }


ATTRS = _attrs()


def target(fip: FloatingIP) -> dict:
    return {"project_id": fip.project_id, "id": fip.id,
            "floating_network_id": fip.floating_network_id}


# --- reading -----------------------------------------------------------------------------
def get(call: Call, floatingip_id: str) -> FloatingIP:
    fip = common.get(call.session, FloatingIP, floatingip_id)
    if fip is None or not call.access.allows("get_floatingip", target(fip)):
        raise FloatingIPNotFound(floatingip_id=floatingip_id)
    return fip


def list_visible(call: Call, wanted: Query | None = None) -> list[FloatingIP]:
    """The floating IPs the caller may see; only those `wanted` names by
    id or port, if it does (listing.narrowed)."""
    query = narrowed(select(FloatingIP).order_by(FloatingIP.created_at, FloatingIP.id),
                     wanted, {"id": FloatingIP.id, "port_id": FloatingIP.fixed_port_id})
    if not call.is_admin:
        query = query.where(FloatingIP.project_id == call.project_id)
    return [f for f in call.session.scalars(query)
            if call.access.allows("get_floatingip", target(f))]


def to_dicts(call: Call, fips: list[FloatingIP]) -> list[dict]:
    tags = common.tags_of(call.session, RESOURCE, [f.id for f in fips])
    return [render(fip, tags[fip.id]) for fip in fips]


def to_dict(call: Call, fip: FloatingIP) -> dict:
    return to_dicts(call, [fip])[0]


def render(fip: FloatingIP, tags: list[str]) -> dict:
    return {
        "id": fip.id, "floating_ip_address": fip.floating_ip_address,
        "floating_network_id": fip.floating_network_id,
        "fixed_ip_address": fip.fixed_ip_address, "port_id": fip.fixed_port_id,
        "router_id": fip.router_id, "status": fip.status, "port_forwardings": [],
        "tags": tags, **common.standard_fields(fip),
    }


# --- create, update, delete ----------------------------------------------------------------
def create(call: Call, body: dict) -> FloatingIP:
    fields = parse_create(RESOURCE, body, ATTRS)
    project_id = owner_of(fields, call.project_id)
    network = network_ops.get(call, fields["floating_network_id"])
    fip = FloatingIP(id=common.new_id(), project_id=project_id,
                     floating_network_id=network.id, description=fields["description"],
                     status=DOWN)
    explicit = ["floating_ip_address"] if fields.get("floating_ip_address") else []
    call.access.check("create_floatingip", target(fip), explicit)
    if not network.external:
        raise _bad(f"Network {network.id} is not a valid external network")
    if not network.subnets:
        raise _bad(f"Network {network.id} does not contain any IPv4 subnet")
    check_quota(call.session, call.settings.quota_defaults, project_id, RESOURCE)
    wanted = {key: fields[key] for key in ("subnet_id", "floating_ip_address")
              if fields.get(key)}
    if "floating_ip_address" in wanted:
        wanted["ip_address"] = wanted.pop("floating_ip_address")
    port = ports.make_port(call, network, project_id="", device_owner=owners.FLOATINGIP,
                           device_id=fip.id, fixed_ips=[wanted] if wanted else None)
    if not port.fixed_ips:
        raise ExternalIpAddressExhausted(net_id=network.id)
    fip.floating_ip_address = port.fixed_ips[0].ip_address
    fip.floating_port_id = port.id
    _associate(call, fip, fields)
    call.session.add(fip)
    call.session.flush()
    call.notify("floatingip.create.end", RESOURCE, fip.id, project_id,
                {"floatingip": {"id": fip.id, "floating_ip_address": fip.floating_ip_address,
                                "port_id": fip.fixed_port_id}})
    return fip


def update(call: Call, floatingip_id: str, body: dict) -> FloatingIP:
    fip = get(call, floatingip_id)
    fields = parse_update(RESOURCE, body, ATTRS)
    call.access.check("update_floatingip", target(fip))
    if "description" in fields:
        fip.description = fields["description"]
    if "port_id" not in fields and fip.fixed_port_id:
        # Neutron re-checks the current association when the body leaves
        # port_id out (a fixed_ip_address alone moves it on the same port).
        fields["port_id"] = fip.fixed_port_id
    if "port_id" in fields or "fixed_ip_address" in fields:
        _associate(call, fip, fields)
    common.touch(fip)
    call.session.flush()
    call.notify("floatingip.update.end", RESOURCE, fip.id, fip.project_id,
                {"floatingip": {"id": fip.id, "port_id": fip.fixed_port_id,
                                "router_id": fip.router_id}})
    return fip


def delete(call: Call, floatingip_id: str) -> None:
    fip = get(call, floatingip_id)
    call.access.check("delete_floatingip", target(fip))
    port = call.session.get(Port, fip.floating_port_id)
    common.delete_tags(call.session, RESOURCE, fip.id)
    call.session.delete(fip)
    call.session.flush()
    if port is not None:
        ports.remove(call, port)
    call.notify("floatingip.delete.end", RESOURCE, fip.id, fip.project_id,
                {"floatingip_id": fip.id})


# --- association ---------------------------------------------------------------------------
def _associate(call: Call, fip: FloatingIP, fields: dict) -> None:
    """Point the floating IP at fields' port_id / fixed_ip_address (None:
    nowhere), with Neutron's checks (_check_and_get_fip_assoc)."""
    port_id, fixed_ip = fields.get("port_id"), fields.get("fixed_ip_address")
    if fixed_ip and not port_id:
        raise _bad("fixed_ip_address cannot be specified without a port_id")
    if not port_id:
        fip.fixed_port_id = fip.fixed_ip_address = fip.router_id = None
        fip.status = DOWN
        return
    port, subnet, address = _internal_address(call, fip, port_id, fixed_ip)
    router_id = routers.router_for_floating_ip(call, port, subnet, fip.floating_network_id)
    if router_id is None:
        raise ExternalGatewayForFloatingIPNotFound(
            external_network_id=fip.floating_network_id, subnet_id=subnet.id,
            port_id=port.id)
    if port.id != fip.fixed_port_id:
        other = call.session.scalar(select(FloatingIP.id).where(
            FloatingIP.fixed_port_id == port.id, FloatingIP.id != fip.id,
            FloatingIP.floating_network_id == fip.floating_network_id,
            FloatingIP.fixed_ip_address == address).limit(1))
        if other is not None:
            raise FloatingIPPortAlreadyAssociated(
                port_id=port.id, fip_id=fip.id, floating_ip_address=fip.floating_ip_address,
                fixed_ip=address, net_id=fip.floating_network_id)
    fip.fixed_port_id, fip.fixed_ip_address, fip.router_id = port.id, address, router_id
    fip.status = ACTIVE


def _internal_address(call: Call, fip: FloatingIP, port_id: str,
                      fixed_ip: str | None) -> tuple[Port, Subnet, str]:
    """The port, subnet and address a floating IP is to reach (Neutron's
    _internal_fip_assoc_data)."""
    port = ports.get(call, port_id)
    if port.project_id != fip.project_id and not call.is_admin:
        raise _bad(f"Cannot process floating IP association with Port {port.id}, since that "
                   "port is owned by a different project")
    if port.device_owner == owners.DHCP:
        raise _bad(f"Port {port.id} is unable to be assigned a floating IP")
    if fixed_ip:
        held = next((ip for ip in port.fixed_ips if ip.ip_address == fixed_ip), None)
        if held is None:
            raise _bad(f"Port {port.id} does not have fixed ip {fixed_ip}")
    else:
        if not port.fixed_ips:
            raise _bad(f"Cannot add floating IP to port {port.id} that has no fixed IPv4 "
                       "addresses")
        if len(port.fixed_ips) > 1:
            raise _bad(f"Port {port.id} has multiple fixed IPv4 addresses.  Must provide a "
                       "specific IPv4 address when assigning a floating IP")
        held = port.fixed_ips[0]
    return port, call.session.get_one(Subnet, held.subnet_id), held.ip_address

