"""The options the resource modules read, from networkd.conf."""
from __future__ import annotations

from dataclasses import dataclass

from networkd.config import QUOTA_DEFAULTS


@dataclass(frozen=True)
class Settings:
    quota_defaults: dict[str, int]
    mtu: int = 1500
    base_mac: str = "fa:16:3e:00:00:00"
    max_fixed_ips_per_port: int = 5
    dhcp_ports: bool = True
    # The DHCP ports' device_id is "dhcp<dhcp_host_id>-<network id>" (Neutron's
    # agent: dhcp<uuid of its host>-<network id>).
    dhcp_host_id: str = "00000000-0000-0000-0000-000000000000"
    max_dns_nameservers: int = 5
    max_subnet_host_routes: int = 20


def settings_from(conf, dhcp_host_id: str) -> Settings:
    return Settings(quota_defaults={name: getattr(conf.quota, name) for name in QUOTA_DEFAULTS},
                    mtu=conf.network.global_physnet_mtu, base_mac=conf.network.base_mac,
                    max_fixed_ips_per_port=conf.network.max_fixed_ips_per_port,
                    dhcp_ports=conf.network.dhcp_agent_notification,
                    dhcp_host_id=dhcp_host_id)
