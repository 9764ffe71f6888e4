"""The database as the data plane needs it: one DesiredState
(networkd.dataplane.model), read in one transaction.

Networks with their subnets (and each subnet's DHCP address), the guest
ports (every port networkd does not own itself: guests' NICs and ports made
for them), routers, associated floating IPs and the security groups the
ports use (`_routers`, `_floating_ips`, `_security_groups`).
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from networkd import ipam, owners
from networkd.dataplane import model
from networkd.db.models import FloatingIP, Network, Port, Router, SecurityGroup, Subnet
from shared.netnames import bridge_name, tap_name

# The ports networkd owns whose address the data plane puts on a bridge:
# ACTIVE once applied.
SERVED_OWNERS = (owners.DHCP, owners.ROUTER_INTERFACE, owners.ROUTER_GATEWAY)


def build(session: Session) -> model.DesiredState:
    networks = list(session.scalars(select(Network).order_by(Network.created_at, Network.id)))
    ports = list(session.scalars(select(Port).order_by(Port.created_at, Port.id)))
    dhcp_ips = _dhcp_ips(ports)
    return model.DesiredState(
        networks=tuple(_network(network, dhcp_ips) for network in networks),
        ports=tuple(_port(port) for port in ports
                    if not owners.is_network_owned(port.device_owner)),
        routers=_routers(session),
        floating_ips=_floating_ips(session),
        security_groups=_security_groups(session),
    )


def _dhcp_ips(ports: list[Port]) -> dict[str, str]:
    """subnet id -> the address of its DHCP port."""
    return {ip.subnet_id: ip.ip_address for port in ports if port.device_owner == owners.DHCP
            for ip in port.fixed_ips}


def _network(network: Network, dhcp_ips: dict[str, str]) -> model.Network:
    return model.Network(
        id=network.id, bridge=bridge_name(network.id), external=network.external,
        mtu=network.mtu,
        subnets=tuple(model.Subnet(
            id=subnet.id, cidr=subnet.cidr, gateway_ip=subnet.gateway_ip,
            enable_dhcp=subnet.enable_dhcp,
            dhcp_ip=dhcp_ips.get(subnet.id) if subnet.enable_dhcp else None,
            dns_nameservers=tuple(d.address for d in subnet.dns_nameservers),
            host_routes=tuple((r.destination, r.nexthop) for r in subnet.host_routes))
            for subnet in network.subnets))


def _port(port: Port) -> model.Port:
    return model.Port(
        id=port.id, network_id=port.network_id, mac_address=port.mac_address,
        fixed_ips=tuple((ip.subnet_id, ip.ip_address) for ip in port.fixed_ips),
        tap=tap_name(port.id), port_security_enabled=port.port_security_enabled,
        security_group_ids=tuple(sorted(b.security_group_id for b in port.security_groups)),
        admin_state_up=port.admin_state_up,
        hostname=f"host-{port.fixed_ips[0].ip_address.replace('.', '-')}"
        if port.fixed_ips else "")


# --- routers, floating IPs and security groups ------------------------------------------
def _routers(session: Session) -> tuple[model.Router, ...]:
    """Each router with the addresses of its interfaces and gateway (a
    port without an address gives nothing to build)."""
    subnets = {s.id: s for s in session.scalars(select(Subnet))}
    result = []
    for router in session.scalars(select(Router).order_by(Router.created_at, Router.id)):
        interfaces: list[model.RouterInterface] = []
        gateway = None
        for link in sorted(router.ports, key=lambda rp: rp.port_id):
            port = session.get(Port, link.port_id)
            if port is None:
                continue
            for ip in port.fixed_ips:
                subnet = subnets[ip.subnet_id]
                if link.port_type == owners.ROUTER_INTERFACE:
                    interfaces.append(model.RouterInterface(
                        network_id=port.network_id, subnet_id=subnet.id,
                        ip_address=ip.ip_address, prefixlen=ipam.prefixlen(subnet.cidr)))
                elif port.id == router.gw_port_id and gateway is None:
                    gateway = model.RouterGateway(
                        network_id=port.network_id, subnet_id=subnet.id,
                        ip_address=ip.ip_address, prefixlen=ipam.prefixlen(subnet.cidr),
                        enable_snat=router.enable_snat)
        result.append(model.Router(id=router.id, interfaces=tuple(interfaces),
                                   gateway=gateway, admin_state_up=router.admin_state_up))
    return tuple(result)


def _floating_ips(session: Session) -> tuple[model.FloatingIP, ...]:
    """The associated floating IPs (the others need nothing built)."""
    return tuple(
        model.FloatingIP(id=fip.id, floating_ip_address=fip.floating_ip_address,
                         fixed_ip_address=fip.fixed_ip_address, port_id=fip.fixed_port_id,
                         router_id=fip.router_id, floating_network_id=fip.floating_network_id)
        for fip in session.scalars(select(FloatingIP).order_by(FloatingIP.created_at,
                                                               FloatingIP.id))
        if fip.fixed_port_id and fip.fixed_ip_address and fip.router_id)


def _security_groups(session: Session) -> tuple[model.SecurityGroup, ...]:
    """Every group with its rules (a rule's remote group may be one no
    port of the stack uses: its members are then nobody)."""
    return tuple(
        model.SecurityGroup(id=group.id, stateful=group.stateful, rules=tuple(
            model.SecurityGroupRule(
                id=rule.id, direction=rule.direction, ethertype=rule.ethertype,
                protocol=rule.protocol, port_range_min=rule.port_range_min,
                port_range_max=rule.port_range_max, remote_ip_prefix=rule.remote_ip_prefix,
                remote_group_id=rule.remote_group_id)
            for rule in group.rules))
        for group in session.scalars(select(SecurityGroup).order_by(SecurityGroup.created_at,
                                                                     SecurityGroup.id)))
