"""The database as the data plane needs it: one DesiredState
(networkd.dataplane.model), read in one transaction.

Networks with their subnets (and each subnet's DHCP address), the guest
ports (every port networkd does not own itself: guests' NICs and ports made
for them), routers, associated floating IPs and the security groups the
ports use. The routers, floating IPs and security groups are filled in by
`_routers`, `_floating_ips` and `_security_groups`.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from networkd import owners
from networkd.dataplane import model
from networkd.db.models import Network, Port
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


# --- filled in with the routers, floating IPs and security groups -----------------------
def _routers(session: Session) -> tuple[model.Router, ...]:
    return ()


def _floating_ips(session: Session) -> tuple[model.FloatingIP, ...]:
    return ()


def _security_groups(session: Session) -> tuple[model.SecurityGroup, ...]:
    return ()
