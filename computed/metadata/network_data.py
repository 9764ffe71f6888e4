"""network_data.json and the EC2 addresses, from the server's ports.

The shape is Nova's (nova/virt/netutils.py, get_network_metadata and
get_ec2_ip_info), so cloud-init's OpenStack data source reads it as it
reads a real cloud's:

    links      one per port that has an address: id (the tap's name), vif_id
               (the port), type (the port's binding:vif_type, "tap" here),
               mtu (null when the subnet has a DHCP port: DHCP tells it),
               ethernet_mac_address
    networks   per port, its first IPv4 subnet: "ipv4_dhcp" (id, type, link,
               network_id) when the subnet has DHCP, else a static address
               with netmask, routes (default route first) and DNS services
    services   every DNS server of those subnets, once

No port at all: network_data.json is {} (Nova's answer without network info).
"""
from __future__ import annotations

import ipaddress

from computed.metadata.facts import Nic, Subnet

# binding:vif_type values Nova passes through to guests (LEGACY_EXPOSED_VIF_TYPES);
# any other type is shown as "phy".
EXPOSED_VIF_TYPES = ("bridge", "dvs", "hw_veb", "hyperv", "ovs", "tap", "vhostuser", "vif")


def network_data(nics: tuple[Nic, ...] | list[Nic]) -> dict:
    if not nics:
        return {}
    links: list[dict] = []
    networks: list[dict] = []
    services: list[dict] = []
    interface_number = -1
    for nic in nics:
        subnets = _subnets_of(nic)
        if not subnets:
            continue
        interface_number += 1
        link = _link(nic, subnets, interface_number)
        links.append(link)
        for version in (4, 6):
            subnet = next((s for s in subnets if s.ip_version == version), None)
            if subnet is None:
                continue
            addresses = [ip.address for ip in nic.fixed_ips if ip.subnet.id == subnet.id]
            networks.append(_network(nic, subnet, addresses[0], len(networks), link["id"]))
            services += [dns for dns in _dns_services(subnet) if dns not in services]
    return {"links": links, "networks": networks, "services": services}


def fixed_ipv4_addresses(nics: tuple[Nic, ...] | list[Nic]) -> list[str]:
    """Every IPv4 address of the server's ports, eth0's first (EC2 local-ipv4
    is the first one)."""
    return [ip.address for nic in nics for ip in nic.fixed_ips if ip.subnet.ip_version == 4]


def floating_addresses(nics: tuple[Nic, ...] | list[Nic]) -> list[str]:
    """The floating IPs of the server's ports (EC2 public-ipv4 is the first)."""
    return [address for nic in nics for address in nic.floating_ips]


def _subnets_of(nic: Nic) -> list[Subnet]:
    """The subnets the port has addresses on, in the order of its addresses."""
    seen: dict[str, Subnet] = {}
    for fixed in nic.fixed_ips:
        seen.setdefault(fixed.subnet.id, fixed.subnet)
    return list(seen.values())


def _link(nic: Nic, subnets: list[Subnet], number: int) -> dict:
    has_dhcp_port = any(subnet.dhcp_server for subnet in subnets)
    return {
        "id": nic.devname or f"interface{number}",
        "vif_id": nic.port_id,
        "type": nic.vif_type if nic.vif_type in EXPOSED_VIF_TYPES else "phy",
        "mtu": None if has_dhcp_port else nic.mtu,
        "ethernet_mac_address": nic.mac_address,
    }


def _network(nic: Nic, subnet: Subnet, address: str, number: int, link_id: str) -> dict:
    version = subnet.ip_version
    network_id = f"network{number}"
    if subnet.ipv6_address_mode is None and (subnet.dhcp_server is not None
                                             or subnet.enable_dhcp):
        return {"id": network_id, "type": f"ipv{version}_dhcp", "link": link_id,
                "network_id": nic.network_id}
    kind = f"ipv{version}" + (f"_{subnet.ipv6_address_mode}"
                              if subnet.ipv6_address_mode else "")
    cidr = ipaddress.ip_network(subnet.cidr, strict=False)
    return {"id": network_id, "type": kind, "link": link_id, "ip_address": address,
            "netmask": str(cidr.netmask), "routes": _routes(subnet),
            "network_id": nic.network_id, "services": _dns_services(subnet)}


def _routes(subnet: Subnet) -> list[dict]:
    """The default route through the gateway, then the subnet's host routes."""
    routes = []
    if subnet.gateway_ip:
        anywhere = "0.0.0.0" if subnet.ip_version == 4 else "::"
        routes.append({"network": anywhere, "netmask": anywhere,
                       "gateway": subnet.gateway_ip})
    for destination, nexthop in subnet.host_routes:
        network = ipaddress.ip_network(destination, strict=False)
        routes.append({"network": str(network.network_address),
                       "netmask": str(network.netmask), "gateway": nexthop})
    return routes


def _dns_services(subnet: Subnet) -> list[dict]:
    return [{"type": "dns", "address": address} for address in subnet.dns_nameservers]

