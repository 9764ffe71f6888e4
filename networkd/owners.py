"""Neutron's device_owner values (neutron_lib.constants): who a port is for."""
from __future__ import annotations

DHCP = "network:dhcp"
ROUTER_INTERFACE = "network:router_interface"
ROUTER_GATEWAY = "network:router_gateway"
FLOATINGIP = "network:floatingip"
COMPUTE_PREFIX = "compute:"
NETWORK_PREFIX = "network:"
ROUTER_OWNERS = (ROUTER_INTERFACE, ROUTER_GATEWAY)


def is_network_owned(device_owner: str) -> bool:
    """A port of networkd itself (DHCP, routers, floating IPs), not a guest's."""
    return device_owner.startswith(NETWORK_PREFIX)
