"""Everything one networkd process works with, built once from its config:
the service (database, policy, notifier), the settings the resource
modules read, the agent that applies the database to the data plane, the
metadata proxy (networkd.metadata) that the agent's passes keep listening
in the stack's namespace, and what tells computed of the agent's port
status changes (networkd.compute_events).

The API layer reaches it through networkd.api.common.runtime(); after a
request changed something it calls `changed()`, which wakes the agent.
`start()` and `stop()` start and stop the agent, the proxy and the
compute notifier together.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from networkd.access import Access
from networkd.agent import Agent
from networkd.call import Call
from networkd.compute_events import ComputeNotifier
from networkd.dataplane.contract import DataPlane
from networkd.dataplane.linux import LinuxDataPlane
from networkd.metadata.instances import instance_at
from networkd.metadata.listener import MetadataListener
from networkd.metadata.proxy import MetadataProxy
from networkd.settings import Settings, settings_from
from shared.clients import ServiceSession
from shared.context import RequestContext
from shared.netnames import stack_namespace
from shared.paths import StateLayout
from shared.secrets import shared_secret
from shared.service import Service

LOG = logging.getLogger(__name__)


@dataclass
class Networkd:
    service: Service
    settings: Settings
    agent: Agent | None = None
    metadata_proxy: MetadataListener | None = None
    compute_notifier: ComputeNotifier | None = None
    extras: dict = field(default_factory=dict)

    @property
    def sessions(self):
        return self.service.sessions

    @property
    def notifier(self):
        return self.service.notifier

    def access(self, ctx: RequestContext) -> Access:
        return Access(self.service.policy, ctx)

    def call(self, session: Session, ctx: RequestContext) -> Call:
        """What a resource function needs for this caller, in this transaction."""
        return Call(session, self.access(ctx), self.settings, self.service.notifier)

    def changed(self) -> None:
        """The database changed: let the agent apply it now."""
        if self.agent is not None:
            self.agent.wake()

    def start(self) -> None:
        """Start the notifier, then the agent; its first pass makes the
        proxy listen."""
        if self.compute_notifier is not None:
            self.compute_notifier.start()
        if self.agent is not None:
            self.agent.start()

    def stop(self) -> None:
        if self.agent is not None:
            self.agent.stop()
        if self.metadata_proxy is not None:
            self.metadata_proxy.stop()
        if self.compute_notifier is not None:
            self.compute_notifier.stop()


def namespace(conf, state: StateLayout) -> str:
    return conf.dataplane.namespace or stack_namespace(state.root)


def dataplane_dir(state: StateLayout) -> Path:
    """Where the data plane keeps its files (dnsmasq hosts, pid files)."""
    return state.lib / "networkd"


def make_dataplane(conf, state: StateLayout) -> DataPlane | None:
    """The kernel data plane of this stack, or None when [dataplane]
    enabled is off."""
    if not conf.dataplane.enabled:
        LOG.warning("[dataplane] enabled = false: the API runs alone, guests get no network")
        return None
    return LinuxDataPlane(namespace(conf, state), dataplane_dir(state))


def dhcp_host_id(state: StateLayout) -> str:
    """A stable id for this stack's DHCP "agent" (in its ports' device_id)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"pocketstack:{state.root}"))


def metadata_secret(conf, state: StateLayout) -> str:
    """[metadata] metadata_proxy_shared_secret, or the stack's generated one
    (computed reads the same file)."""
    return conf.metadata.metadata_proxy_shared_secret or shared_secret(state.metadata_secret)


def make_metadata_proxy(conf, state: StateLayout, sessions) -> MetadataListener | None:
    """The metadata proxy of this stack, or None when [metadata] enabled is
    off (it needs the data plane: its address is in the stack's namespace)."""
    if not conf.metadata.enabled:
        LOG.warning("[metadata] enabled = false: guests get no metadata service")
        return None
    proxy = MetadataProxy(lambda address: instance_at(sessions, address),
                          conf.metadata.nova_metadata_url, metadata_secret(conf, state))
    return MetadataListener(namespace(conf, state), proxy)


def build(service: Service) -> Networkd:
    conf, state = service.conf, service.state
    networkd = Networkd(service=service, settings=settings_from(conf, dhcp_host_id(state)))
    dataplane = make_dataplane(conf, state)
    if dataplane is not None:
        networkd.metadata_proxy = make_metadata_proxy(conf, state, service.sessions)
        follow = [networkd.metadata_proxy.follow] if networkd.metadata_proxy else []
        if conf.network.notify_nova_on_port_status_changes:
            networkd.compute_notifier = ComputeNotifier(
                ServiceSession.from_config(conf, state.service_tokens))
        networkd.agent = Agent(
            service.sessions, dataplane, conf.dataplane.sync_interval, after_pass=follow,
            on_status_changes=networkd.compute_notifier.port_statuses_changed
            if networkd.compute_notifier else None)
    return networkd
