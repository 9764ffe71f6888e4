"""Everything one networkd process works with, built once from its config:
the service (database, policy, notifier), the settings the resource
modules read, and the agent that applies the database to the data plane.

The API layer reaches it through networkd.api.common.runtime(); after a
request changed something it calls `changed()`, which wakes the agent.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from networkd.access import Access
from networkd.agent import Agent
from networkd.dataplane.contract import DataPlane
from shared.context import RequestContext
from shared.netnames import stack_namespace
from shared.paths import StateLayout
from shared.service import Service

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settings:
    """The options the resource modules read (networkd.conf)."""
    quota_defaults: dict[str, int]
    mtu: int = 1500
    base_mac: str = "fa:16:3e:00:00:00"
    max_fixed_ips_per_port: int = 5
    dhcp_ports: bool = True
    max_dns_nameservers: int = 5
    max_subnet_host_routes: int = 20


def settings_from(conf) -> Settings:
    quota = {name: getattr(conf.quota, name) for name in (
        "network", "subnet", "port", "router", "floatingip", "security_group",
        "security_group_rule")}
    return Settings(quota_defaults=quota, mtu=conf.network.global_physnet_mtu,
                    base_mac=conf.network.base_mac,
                    max_fixed_ips_per_port=conf.network.max_fixed_ips_per_port,
                    dhcp_ports=conf.network.dhcp_agent_notification)


@dataclass
class Networkd:
    service: Service
    settings: Settings
    agent: Agent | None = None
    extras: dict = field(default_factory=dict)

    @property
    def sessions(self):
        return self.service.sessions

    @property
    def notifier(self):
        return self.service.notifier

    def access(self, ctx: RequestContext) -> Access:
        return Access(self.service.policy, ctx)

    def changed(self) -> None:
        """The database changed: let the agent apply it now."""
        if self.agent is not None:
            self.agent.wake()


def namespace(conf, state: StateLayout) -> str:
    return conf.dataplane.namespace or stack_namespace(state.root)


def dataplane_dir(state: StateLayout) -> Path:
    """Where the data plane keeps its files (dnsmasq hosts, pid files)."""
    return state.lib / "networkd"


def make_dataplane(conf, state: StateLayout) -> DataPlane | None:
    """The kernel data plane of this stack, or None when [dataplane]
    enabled is off."""
    if not conf.dataplane.enabled:
        return None
    try:
        from networkd.dataplane import linux  # type: ignore[attr-defined]
    except ImportError:
        LOG.warning("no data plane implementation (networkd.dataplane.linux): "
                    "the API runs alone")
        return None
    return linux.LinuxDataPlane(namespace(conf, state), dataplane_dir(state))


def build(service: Service) -> Networkd:
    conf, state = service.conf, service.state
    networkd = Networkd(service=service, settings=settings_from(conf))
    dataplane = make_dataplane(conf, state)
    if dataplane is not None:
        networkd.agent = Agent(service.sessions, dataplane, conf.dataplane.sync_interval)
    return networkd
