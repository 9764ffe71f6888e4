"""What a server's metadata is made of, as plain values.

Everything the documents say comes from here; documents.py and
network_data.py only arrange it. gather.py fills these from computed's
database and networkd; the unit tests write them by hand.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Subnet:
    """A subnet one of the server's ports has an address on (Neutron's
    fields), with the address of its DHCP port if networkd runs one."""
    id: str
    cidr: str
    ip_version: int = 4
    gateway_ip: str | None = None
    enable_dhcp: bool = True
    dhcp_server: str | None = None
    dns_nameservers: tuple[str, ...] = ()
    host_routes: tuple[tuple[str, str], ...] = ()   # (destination, nexthop)
    ipv6_address_mode: str | None = None


@dataclass(frozen=True)
class FixedIp:
    address: str
    subnet: Subnet


@dataclass(frozen=True)
class Nic:
    """One port of the server, in the guest's order (eth0 first)."""
    port_id: str
    mac_address: str
    network_id: str
    fixed_ips: tuple[FixedIp, ...] = ()
    floating_ips: tuple[str, ...] = ()
    mtu: int | None = None          # the network's
    vif_type: str = "tap"           # the port's binding:vif_type
    devname: str | None = None      # the tap's name on the host


@dataclass(frozen=True)
class Devices:
    """The guest's device names (with /dev/, as Nova stores them)."""
    root: str = "/dev/vda"
    ephemeral: str | None = None
    swap: str | None = None
    volumes: tuple[str, ...] = ()


@dataclass(frozen=True)
class InstanceFacts:
    uuid: str
    name: str                       # display_name
    hostname: str                   # with [metadata] dhcp_domain, if any
    project_id: str
    availability_zone: str
    launch_index: int
    reservation_id: str
    flavor_name: str
    ec2_instance_id: int            # instance_id_mappings.id
    ec2_image_id: int | None        # s3_images.id of the image booted
    key_name: str | None = None
    public_key: str | None = None
    key_type: str = "ssh"
    user_data: bytes | None = None
    meta: dict[str, str] = field(default_factory=dict)
    security_groups: tuple[str, ...] = ()
    devices: Devices = field(default_factory=Devices)
    nics: tuple[Nic, ...] = ()
