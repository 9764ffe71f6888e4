"""IP address management inside networkd, as Neutron's built-in IPAM does
it: pure functions over addresses, no database.

A subnet's gateway is its first host unless given; the allocation pools
are the rest of its hosts (network and broadcast addresses excluded for
prefixes up to /30). A port's address comes from the pools: the lowest
free one (Neutron picks at random among the first free ones; the lowest
makes addresses predictable for students and tests). An address asked for
explicitly may be anywhere in the subnet but its network and broadcast
addresses, as in Neutron.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from networkd.errors import (
    GatewayConflictWithAllocationPools,
    InvalidAllocationPool,
    OutOfBoundsAllocationPool,
    OverlappingAllocationPools,
)

Pool = tuple[str, str]        # (first, last), inclusive
IPv4 = ipaddress.IPv4Address


def hosts_range(cidr: str) -> tuple[IPv4, IPv4]:
    """The first and last address a pool may use in this subnet."""
    net = ipaddress.IPv4Network(cidr)
    if net.prefixlen <= 30:
        return net.network_address + 1, net.broadcast_address - 1
    return net.network_address, net.broadcast_address


def first_host(cidr: str) -> str:
    return str(hosts_range(cidr)[0])


def default_pools(cidr: str, gateway_ip: str | None) -> list[Pool]:
    """Every host address but the gateway, as few ranges as possible."""
    first, last = hosts_range(cidr)
    if gateway_ip is None or not first <= IPv4(gateway_ip) <= last:
        return [(str(first), str(last))]
    gateway = IPv4(gateway_ip)
    pools = []
    if gateway > first:
        pools.append((str(first), str(gateway - 1)))
    if gateway < last:
        pools.append((str(gateway + 1), str(last)))
    return pools


def pool_text(pool: Pool) -> str:
    """A pool as Neutron names it in messages (netaddr's IPRange): a-b."""
    return f"{pool[0]}-{pool[1]}"


def validate_pools(pools: list[Pool], cidr: str, gateway_ip: str | None) -> None:
    """Neutron's checks of explicit pools: ordered, inside the subnet's
    hosts, not overlapping each other, not holding the gateway."""
    low, high = hosts_range(cidr)
    for first, last in pools:
        if IPv4(first) > IPv4(last):
            raise InvalidAllocationPool(pool=pool_text((first, last)))
        if IPv4(first) < low or IPv4(last) > high:
            raise OutOfBoundsAllocationPool(pool=pool_text((first, last)), subnet_cidr=cidr)
    for index, one in enumerate(pools):
        for other in pools[index + 1:]:
            if IPv4(one[0]) <= IPv4(other[1]) and IPv4(other[0]) <= IPv4(one[1]):
                raise OverlappingAllocationPools(pool_1=pool_text(one),
                                                 pool_2=pool_text(other), subnet_cidr=cidr)
    if gateway_ip is not None:
        for pool in pools:
            if IPv4(pool[0]) <= IPv4(gateway_ip) <= IPv4(pool[1]):
                raise GatewayConflictWithAllocationPools(pool=pool_text(pool),
                                                         ip_address=gateway_ip)


def in_subnet(cidr: str, ip: str) -> bool:
    """May a port hold this address? In the subnet, and for prefixes up to
    /30 neither its network nor its broadcast address (Neutron's
    check_subnet_ip)."""
    net, address = ipaddress.IPv4Network(cidr), IPv4(ip)
    if address not in net:
        return False
    return net.prefixlen > 30 or address not in (net.network_address, net.broadcast_address)


def gateway_invalid(cidr: str, gateway_ip: str) -> bool:
    """networkd refuses a gateway outside its subnet (the router's address
    on the bridge must be on the subnet), and its network or broadcast
    address (Neutron's check_gateway_invalid_in_subnet)."""
    net, gateway = ipaddress.IPv4Network(cidr), IPv4(gateway_ip)
    return gateway not in net or (net.prefixlen <= 30 and gateway in (
        net.network_address, net.broadcast_address))


def in_pools(pools: Iterable[Pool], ip: str) -> bool:
    address = IPv4(ip)
    return any(IPv4(first) <= address <= IPv4(last) for first, last in pools)


def lowest_free(pools: Iterable[Pool], taken: set[str]) -> str | None:
    """The lowest address of the pools (in pool order) that is not taken."""
    used = {int(IPv4(ip)) for ip in taken}
    for first, last in pools:
        candidate = int(IPv4(first))
        end = int(IPv4(last))
        while candidate <= end:
            if candidate not in used:
                return str(IPv4(candidate))
            candidate += 1
    return None


def overlaps(cidr: str, other: str) -> bool:
    return ipaddress.IPv4Network(cidr).overlaps(ipaddress.IPv4Network(other))


def prefixlen(cidr: str) -> int:
    return ipaddress.IPv4Network(cidr).prefixlen
