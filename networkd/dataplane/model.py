"""What the data plane must build: plain, immutable values.

networkd's API layer derives one `DesiredState` from its database after
every change (and at start); the data plane compares it with what the
kernel has and adds or removes the difference. Nothing here knows about
HTTP, SQL or policies, and nothing here touches the kernel: both sides can
be tested alone.

Addresses are strings as Neutron writes them ("10.0.0.5", "10.0.0.0/24").
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Subnet:
    id: str
    cidr: str                          # "10.0.0.0/24"
    gateway_ip: str | None             # None: a subnet without a gateway
    enable_dhcp: bool
    # The address of the subnet's DHCP port (device_owner network:dhcp), on
    # which dnsmasq listens; None when DHCP is off.
    dhcp_ip: str | None = None
    dns_nameservers: tuple[str, ...] = ()
    host_routes: tuple[tuple[str, str], ...] = ()  # (destination cidr, nexthop)


@dataclass(frozen=True)
class Network:
    id: str
    bridge: str                        # shared.netnames.bridge_name(id)
    external: bool                     # router:external
    mtu: int = 1500
    subnets: tuple[Subnet, ...] = ()


@dataclass(frozen=True)
class Port:
    """A port the data plane serves: a guest NIC (device_owner compute:*)
    gets DHCP leases, anti-spoofing and security-group rules. The ports
    networkd itself owns (network:dhcp, network:router_*) need none of it
    and are not listed here."""
    id: str
    network_id: str
    mac_address: str
    fixed_ips: tuple[tuple[str, str], ...]   # (subnet_id, ip_address)
    tap: str                                 # shared.netnames.tap_name(id)
    port_security_enabled: bool = True
    security_group_ids: tuple[str, ...] = ()
    admin_state_up: bool = True
    # The DHCP host name dnsmasq hands out ("host-10-0-0-5", as Neutron).
    hostname: str = ""


@dataclass(frozen=True)
class RouterInterface:
    network_id: str
    subnet_id: str
    ip_address: str                    # the router's address on that subnet
    prefixlen: int


@dataclass(frozen=True)
class RouterGateway:
    network_id: str                    # an external network
    subnet_id: str
    ip_address: str                    # the router's address on it (SNAT source)
    prefixlen: int
    enable_snat: bool = True


@dataclass(frozen=True)
class Router:
    id: str
    interfaces: tuple[RouterInterface, ...] = ()
    gateway: RouterGateway | None = None
    admin_state_up: bool = True


@dataclass(frozen=True)
class FloatingIP:
    """An associated floating IP (unassociated ones need nothing built)."""
    id: str
    floating_ip_address: str
    fixed_ip_address: str
    port_id: str
    router_id: str
    floating_network_id: str


@dataclass(frozen=True)
class SecurityGroupRule:
    id: str
    direction: str                     # "ingress" | "egress"
    ethertype: str = "IPv4"            # IPv6 rules are kept but not built
    protocol: str | None = None        # None = any; "tcp", "udp", "icmp" or a number
    port_range_min: int | None = None  # for icmp: the type
    port_range_max: int | None = None  # for icmp: the code
    remote_ip_prefix: str | None = None
    remote_group_id: str | None = None


@dataclass(frozen=True)
class SecurityGroup:
    id: str
    rules: tuple[SecurityGroupRule, ...] = ()
    stateful: bool = True


@dataclass(frozen=True)
class DesiredState:
    networks: tuple[Network, ...] = ()
    ports: tuple[Port, ...] = ()
    routers: tuple[Router, ...] = ()
    floating_ips: tuple[FloatingIP, ...] = ()
    security_groups: tuple[SecurityGroup, ...] = ()
