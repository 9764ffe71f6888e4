"""networkd.conf: the options of the network service."""
from __future__ import annotations

import ipaddress

from shared.config import ConfigError, Opt, Schema
from shared.service import common_sections

DEFAULT_PORT = 9696
DEFAULT_PUBLIC_CIDR = "172.24.4.0/24"
DEFAULT_PRIVATE_CIDR = "10.0.0.0/24"
LOOPBACK = "127.0.0.1"
# computed's metadata service (Nova's metadata_listen_port).
NOVA_METADATA_PORT = 8775
# Neutron's default quotas (neutron/conf/quota.py).
QUOTA_DEFAULTS = {"network": 100, "subnet": 100, "port": 500, "router": 10,
                  "floatingip": 50, "security_group": 10, "security_group_rule": 100}
QUOTA_WORDS = {"network": "Networks", "subnet": "Subnets", "port": "Ports",
               "router": "Routers", "floatingip": "Floating IPs",
               "security_group": "Security groups",
               "security_group_rule": "Security group rules"}


def schema() -> Schema:
    # One worker process: the agent thread that applies the data plane lives
    # in it and is woken directly by the API after each change.
    result = Schema("networkd.conf", common_sections(DEFAULT_PORT, "networkd", workers=1))
    result.add("network", [
        Opt("public_cidr", DEFAULT_PUBLIC_CIDR, "The external network `public` made at "
            "first start (gateway = first host, the host end of the stack's veth)."),
        Opt("private_cidr", DEFAULT_PRIVATE_CIDR, "The demo project's network `private` "
            "made at first start."),
        Opt("demo_project", "demo", "The project that gets `private` at first start "
            "(empty: none)."),
        Opt("dns_nameservers", "", "DNS servers of the subnets made at first start "
            "(comma-separated; empty: none).", kind="list"),
        Opt("global_physnet_mtu", 1500, "MTU of every network.", kind="int",
            minimum=68, maximum=9000),
        Opt("base_mac", "fa:16:3e:00:00:00", "Ports' MAC addresses: the first three "
            "bytes are kept, the rest random (Neutron's base_mac)."),
        Opt("max_fixed_ips_per_port", 5, "Fixed IPs a port may have.", kind="int",
            minimum=1, maximum=64),
        Opt("notify_nova_on_port_status_changes", True, "Tell computed when a server's "
            "port is plugged or unplugged (network-vif-plugged, network-vif-unplugged), as "
            "Neutron's option of this name in its [DEFAULT] does: a build goes on as soon as "
            "its ports are plugged instead of at its next look.", kind="bool"),
        Opt("dhcp_agent_notification", True, "Give each subnet with enable_dhcp a DHCP "
            "port (device_owner network:dhcp) whose address dnsmasq listens on.",
            kind="bool"),
    ])
    result.add("dataplane", [
        Opt("namespace", "", "The network namespace holding the stack's guest networking. "
            "Empty: pocketstack-<tag of the state directory>."),
        Opt("enabled", True, "Apply the database to the kernel (bridges, DHCP, rules). "
            "Off: the API only.", kind="bool"),
        Opt("sync_interval", 0.5, "Seconds between two passes of the agent (it also runs "
            "right after every change).", kind="float", minimum=0.1, maximum=3600),
    ])
    result.add("metadata", [
        Opt("enabled", True, "Run the metadata proxy: guests ask http://169.254.169.254/ "
            "(inside the stack's namespace) and get their own server's metadata from "
            "computed (Neutron's metadata agent). Off: guests have the config drive only.",
            kind="bool"),
        Opt("nova_metadata_url", f"http://{LOOPBACK}:{NOVA_METADATA_PORT}",
            "computed's metadata service, where the proxy forwards guests' requests "
            "(Neutron's nova_metadata_host and nova_metadata_port)."),
        Opt("metadata_proxy_shared_secret", "", "The secret the proxy signs instance ids "
            "with; computed's [metadata] metadata_proxy_shared_secret must be the same. "
            "Empty: the stack's generated secret (<state>/etc/metadata-proxy-secret).",
            secret=True),
    ])
    result.add("quota", [
        Opt(name, default, f"{QUOTA_WORDS[name]} a project may have (-1: no limit).",
            kind="int", minimum=-1)
        for name, default in QUOTA_DEFAULTS.items()
    ])
    result.check(_check_cidrs)
    return result


def _check_cidrs(conf) -> None:
    for option in ("public_cidr", "private_cidr"):
        value = getattr(conf.network, option)
        try:
            network = ipaddress.IPv4Network(value)
        except ValueError:
            raise ConfigError("networkd.conf", "network", option,
                              f"{value!r} is not allowed (allowed: an IPv4 network such "
                              "as 10.0.0.0/24)") from None
        if network.prefixlen > 29:
            raise ConfigError("networkd.conf", "network", option,
                              f"{value!r} is too small (allowed: a prefix of /29 or "
                              "larger)")


def offset_settings(port_offset: int) -> dict[str, dict]:
    """For a second stack beside the first (`pocketstack up --port-offset N`):
    its own external network, because the host end of each stack's veth sits
    in the machine's routing table (172.24.<4 + offset/100>.0/24), and its own
    computed's metadata service."""
    third = 4 + (port_offset // 100) % 250
    return {"network": {"public_cidr": f"172.24.{third}.0/24"},
            "metadata": {"nova_metadata_url":
                         f"http://{LOOPBACK}:{NOVA_METADATA_PORT + port_offset}"}}
