"""The firewall and NAT policy a DesiredState calls for, as plain values.

Two consumers read the same policy: nftables.py writes it as a ruleset and
conntrack.py checks the kernel's tracked connections against it (to end
the flows a removed rule or floating IP no longer allows). Compiling it
once keeps the two in agreement. Pure: no kernel, no I/O.

Every address and MAC is parsed here (ipaddress, a MAC pattern), so what
reaches the ruleset text is always well formed; a malformed value raises
DataPlaneError.
"""
from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

from networkd.dataplane.contract import DataPlaneError
from networkd.dataplane.model import DesiredState, Network, Port, SecurityGroupRule
from shared.metadata_proxy import METADATA_ADDRESS

# Neutron's protocol names (neutron_lib.constants.IP_PROTOCOL_MAP) for IPv4.
PROTOCOLS = {
    "ah": 51, "dccp": 33, "egp": 8, "esp": 50, "gre": 47, "icmp": 1, "igmp": 2,
    "ipip": 4, "ospf": 89, "pgm": 113, "rsvp": 46, "sctp": 132, "tcp": 6,
    "udp": 17, "udplite": 136, "vrrp": 112,
}
ICMP = 1
UDP = 17
# Protocols whose rules may carry a destination port range (Neutron's list).
PORTED = frozenset({6, 17, 33, 132, 136})
DHCP_SERVER_PORT = 67
DHCP_CLIENT_PORT = 68

MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
IFNAME = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")
ANY = ipaddress.IPv4Network("0.0.0.0/0")


@dataclass(frozen=True)
class Match:
    """One allowed kind of traffic of a port, in one direction. `remotes`
    are the other end's addresses (None: anywhere); `protocol` None: any."""
    protocol: int | None = None
    port_min: int | None = None
    port_max: int | None = None
    icmp_type: int | None = None
    icmp_code: int | None = None
    remotes: tuple[ipaddress.IPv4Network, ...] | None = None

    def allows(self, protocol: int, port: int | None, icmp: tuple[int, int] | None,
               remote: ipaddress.IPv4Address) -> bool:
        """Whether a flow (protocol, destination port or ICMP type and code,
        the other end's address) matches."""
        if self.protocol is not None and self.protocol != protocol:
            return False
        if self.port_min is not None and not (
                port is not None and self.port_min <= port <= (self.port_max or self.port_min)):
            return False
        if self.icmp_type is not None and (icmp is None or icmp[0] != self.icmp_type):
            return False
        if self.icmp_code is not None and (icmp is None or icmp[1] != self.icmp_code):
            return False
        return self.remotes is None or any(remote in net for net in self.remotes)


@dataclass(frozen=True)
class PortPolicy:
    """A guest port: its tap, MAC and addresses (anti-spoofing) and, when
    port security is on, what its security groups allow each way."""
    id: str
    tap: str
    mac: str
    ips: tuple[str, ...]
    admin_up: bool
    secured: bool
    ingress: tuple[Match, ...] = ()
    egress: tuple[Match, ...] = ()

    @property
    def chain_suffix(self) -> str:
        """The port id as an nft identifier."""
        return re.sub(r"[^A-Za-z0-9]", "_", self.id)


@dataclass(frozen=True)
class FloatingNat:
    floating_ip: str
    fixed_ip: str
    bridge: str                        # the external network's bridge


@dataclass(frozen=True)
class RouterSnat:
    cidr: str                          # an internal subnet of the router
    gateway_ip: str                    # the router's address on the external network
    bridge: str                        # the external network's bridge


@dataclass(frozen=True)
class Policy:
    ports: tuple[PortPolicy, ...] = ()
    bridges: tuple[str, ...] = ()
    # New traffic allowed to be forwarded (in bridge, out bridge); bridged
    # traffic within one bridge is always allowed and not listed here.
    routed: tuple[tuple[str, str], ...] = ()
    # ... and the pairs allowed only to a floating IP's destination (ct status dnat).
    dnat: tuple[tuple[str, str], ...] = ()
    floating: tuple[FloatingNat, ...] = ()
    snat: tuple[RouterSnat, ...] = ()
    # Every address the namespace itself holds (the metadata address too).
    local_ips: tuple[str, ...] = ()
    internal_cidrs: tuple[str, ...] = ()  # the subnets of non-external networks

    def port_of(self, ip: str) -> PortPolicy | None:
        for port in self.ports:
            if ip in port.ips:
                return port
        return None


def compile_policy(state: DesiredState) -> Policy:
    """The policy of `state`: the ports' anti-spoofing and security-group
    matches, the routing topology, NAT, and the namespace's addresses."""
    networks = {network.id: network for network in state.networks}
    ports = _port_policies(state, networks)
    routed: set[tuple[str, str]] = set()
    dnat: set[tuple[str, str]] = set()
    snat: list[RouterSnat] = []
    behind: dict[str, set[str]] = {}           # external bridge -> internal bridges
    for router in state.routers:
        if not router.admin_state_up:
            continue
        inside = {networks[i.network_id].bridge for i in router.interfaces
                  if i.network_id in networks}
        routed.update((a, b) for a in inside for b in inside if a != b)
        gateway = router.gateway
        if gateway is None or gateway.network_id not in networks:
            continue
        outside = networks[gateway.network_id].bridge
        routed.update((a, outside) for a in inside)
        behind.setdefault(outside, set()).update(inside)
        if gateway.enable_snat:
            for interface in router.interfaces:
                cidr = _subnet_cidr(networks, interface.network_id, interface.subnet_id)
                if cidr is not None:
                    snat.append(RouterSnat(cidr, _ip(gateway.ip_address), outside))
    for outside, inside in behind.items():
        dnat.update((a, b) for a in inside | {outside} for b in inside if a != b)
    floating = tuple(sorted(
        (FloatingNat(_ip(f.floating_ip_address), _ip(f.fixed_ip_address),
                     networks[f.floating_network_id].bridge)
         for f in state.floating_ips if f.floating_network_id in networks),
        key=lambda f: (f.bridge, ipaddress.IPv4Address(f.floating_ip))))
    return Policy(
        ports=ports,
        bridges=tuple(sorted(ifname(n.bridge) for n in state.networks)),
        routed=tuple(sorted(routed)),
        dnat=tuple(sorted(dnat)),
        floating=floating,
        snat=tuple(sorted(set(snat), key=lambda s: (s.bridge, s.cidr, s.gateway_ip))),
        local_ips=tuple(sorted({METADATA_ADDRESS} | {
            ip for addresses in local_addresses(state).values() for ip, _ in addresses},
            key=ipaddress.IPv4Address)),
        internal_cidrs=tuple(sorted(_cidr(s.cidr) for n in state.networks if not n.external
                                    for s in n.subnets)),
    )


def local_addresses(state: DesiredState) -> dict[str, set[tuple[str, int]]]:
    """The addresses the namespace holds, by bridge: each DHCP port's and
    router interface's (with its subnet's prefix), each router gateway's
    (the external subnet's prefix) and each floating IP (/32, so the
    namespace answers ARP for it on the external network)."""
    networks = {network.id: network for network in state.networks}
    wanted: dict[str, set[tuple[str, int]]] = {n.bridge: set() for n in state.networks}
    for network in state.networks:
        for subnet in network.subnets:
            if subnet.enable_dhcp and subnet.dhcp_ip:
                prefix = ipaddress.IPv4Network(_cidr(subnet.cidr)).prefixlen
                wanted[network.bridge].add((_ip(subnet.dhcp_ip), prefix))
    for router in state.routers:
        attached = list(router.interfaces) + ([router.gateway] if router.gateway else [])
        for link in attached:
            if link.network_id in networks:
                wanted[networks[link.network_id].bridge].add(
                    (_ip(link.ip_address), link.prefixlen))
    for floating in state.floating_ips:
        if floating.floating_network_id in networks:
            bridge = networks[floating.floating_network_id].bridge
            wanted[bridge].add((_ip(floating.floating_ip_address), 32))
    return wanted


def _port_policies(state: DesiredState, networks: dict[str, Network]) -> tuple[PortPolicy, ...]:
    members: dict[str, list[str]] = {}
    for port in state.ports:
        for group_id in port.security_group_ids:
            members.setdefault(group_id, []).extend(_ip(ip) for _, ip in port.fixed_ips)
    groups = {group.id: group for group in state.security_groups}
    seen_ips: set[str] = set()
    result = []
    for port in sorted(state.ports, key=lambda p: p.id):
        if port.network_id not in networks:
            continue
        ips = tuple(ip for ip in (_ip(ip) for _, ip in port.fixed_ips) if ip not in seen_ips)
        seen_ips.update(ips)
        ingress: list[Match] = []
        egress: list[Match] = []
        if port.port_security_enabled:
            for group_id in port.security_group_ids:
                group = groups.get(group_id)
                for rule in group.rules if group else ():
                    match = _match(rule, members)
                    if match is None:
                        continue
                    chosen = ingress if rule.direction == "ingress" else egress
                    if match not in chosen:
                        chosen.append(match)
        result.append(PortPolicy(id=port.id, tap=ifname(port.tap), mac=_mac(port), ips=ips,
                                 admin_up=port.admin_state_up,
                                 secured=port.port_security_enabled,
                                 ingress=tuple(sorted(ingress, key=_order)),
                                 egress=tuple(sorted(egress, key=_order))))
    return tuple(result)


def _order(match: Match) -> tuple:
    """A fixed order for a port's matches (all of them allow, so any order
    means the same): the ruleset text then does not depend on the order in
    which the database listed groups and rules."""
    def number(value: int | None) -> int:
        return -1 if value is None else value
    return (number(match.protocol), number(match.port_min), number(match.port_max),
            number(match.icmp_type), number(match.icmp_code),
            [] if match.remotes is None else [(int(n.network_address), n.prefixlen)
                                              for n in match.remotes])


def _match(rule: SecurityGroupRule, members: dict[str, list[str]]) -> Match | None:
    """A rule as a Match; None for what is not built (IPv6 rules, a remote
    group with no addresses yet)."""
    if rule.ethertype != "IPv4":
        return None
    remotes: tuple[ipaddress.IPv4Network, ...] | None = None
    if rule.remote_group_id is not None:
        addresses = sorted(set(members.get(rule.remote_group_id, ())),
                           key=ipaddress.IPv4Address)
        if not addresses:
            return None
        remotes = tuple(ipaddress.IPv4Network(ip) for ip in addresses)
    elif rule.remote_ip_prefix is not None:
        network = _network(rule.remote_ip_prefix, rule.id)
        if network.version != 4:
            return None
        remotes = None if network == ANY else (network,)
    protocol = _protocol(rule.protocol, rule.id)
    if protocol in PORTED and rule.port_range_min is not None:
        low = rule.port_range_min
        high = rule.port_range_max if rule.port_range_max is not None else low
        if (low, high) == (1, 65535):
            return Match(protocol=protocol, remotes=remotes)
        return Match(protocol=protocol, port_min=low, port_max=high, remotes=remotes)
    if protocol == ICMP:
        return Match(protocol=protocol, icmp_type=rule.port_range_min,
                     icmp_code=rule.port_range_max if rule.port_range_min is not None else None,
                     remotes=remotes)
    return Match(protocol=protocol, remotes=remotes)


def flow_allowed(policy: Policy, protocol: int, source: str, destination: str,
                 port: int | None, icmp: tuple[int, int] | None) -> bool:
    """Whether the security groups let a new flow through: the source port's
    egress and the destination port's ingress (addresses that are no
    secured port's pass). DHCP requests always pass."""
    if protocol == UDP and port == DHCP_SERVER_PORT:
        return True
    sender = policy.port_of(source)
    receiver = policy.port_of(destination)
    if sender is not None and sender.secured and not (sender.admin_up and any(
            m.allows(protocol, port, icmp, ipaddress.IPv4Address(destination))
            for m in sender.egress)):
        return False
    return receiver is None or not receiver.secured or (receiver.admin_up and any(
        m.allows(protocol, port, icmp, ipaddress.IPv4Address(source))
        for m in receiver.ingress))


def _subnet_cidr(networks: dict[str, Network], network_id: str, subnet_id: str) -> str | None:
    for subnet in networks[network_id].subnets if network_id in networks else ():
        if subnet.id == subnet_id:
            return _cidr(subnet.cidr)
    return None


def _protocol(value: str | None, rule_id: str) -> int | None:
    if value is None or value.lower() == "any":
        return None
    if value.isdigit() and 0 <= int(value) <= 255:
        return int(value)
    if value.lower() in PROTOCOLS:
        return PROTOCOLS[value.lower()]
    raise DataPlaneError(f"security group rule {rule_id}: unknown protocol {value!r}")


def ifname(value: str) -> str:
    """`value`, checked to be a possible Linux interface name."""
    if not IFNAME.match(value):
        raise DataPlaneError(f"not an interface name: {value!r}")
    return value


def _ip(value: str) -> str:
    try:
        return str(ipaddress.IPv4Address(value))
    except ValueError as error:
        raise DataPlaneError(f"not an IPv4 address: {value!r}") from error


def _cidr(value: str) -> str:
    try:
        return str(ipaddress.IPv4Network(value, strict=False))
    except ValueError as error:
        raise DataPlaneError(f"not an IPv4 CIDR: {value!r}") from error


def _network(value: str, rule_id: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError as error:
        raise DataPlaneError(f"security group rule {rule_id}: bad remote_ip_prefix "
                             f"{value!r}") from error


def _mac(port: Port) -> str:
    mac = port.mac_address.lower()
    if not MAC.match(mac):
        raise DataPlaneError(f"port {port.id}: not a MAC address: {port.mac_address!r}")
    return mac


def sorted_ips(ips: Iterable[str]) -> list[str]:
    return sorted(set(ips), key=ipaddress.IPv4Address)
