"""The host daemons a service needs running beside it (tgtd for volumed;
virtlogd and libvirtd for computed), as the `pocketstack` command sees them.

Each kind is one small class behind one contract, so that `up`, `down` and
`status` treat them alike and a new one (dnsmasq, Swift, Ceph) is one class.

What only one kind needs and takes long to import (pyroute2 for the
namespace, identity's store for the credentials) is imported where it is
used: every `pocketstack` command reads this module.
"""
from __future__ import annotations

import ipaddress
from abc import ABC, abstractmethod
from typing import Any

from identity.config import schema as identity_schema
from networkd.dataplane.contract import DataPlaneError
from pocketstack import stackconfig
from shared import netnames
from shared.config import ConfigError, load_config, set_option
from shared.host import ceph_host, libvirt_host, swift_host, tgt_host
from shared.paths import StateLayout
from volumed import host as volumed_host


class HostDaemonError(Exception):
    """A host daemon could not be started; the message says why."""


# (name, up, port, pid) as `pocketstack status` prints it
StatusRow = tuple[str, bool, str, "int | None"]


class HostDaemons(ABC):
    """The host daemons of one service."""

    @abstractmethod
    def ensure(self, conf: Any, state: StateLayout) -> list[str]:
        """Start what is not running, before the service starts. Returns one
        line per daemon ("tgtd  started (pid 12, ...)"); raises
        HostDaemonError, having started nothing it leaves behind unrecorded."""

    @abstractmethod
    def stop(self, state: StateLayout) -> list[str]:
        """After the service stopped: stop what this stack started and must
        not outlive it. Returns one line per daemon stopped."""

    @abstractmethod
    def status(self, state: StateLayout) -> list[StatusRow]:
        """One row per daemon for `pocketstack status`."""

    def prepare(self, state: StateLayout) -> None:
        """Before any config file is read: settings the services need from
        these daemons (a catalog entry). Nothing by default."""
        return None


class VolumedTgtd(HostDaemons):
    """The tgtd volumed owns, bound to [volume] target_ip_address:target_port,
    with a control port of its own; stopped with the stack."""

    def ensure(self, conf: Any, state: StateLayout) -> list[str]:
        try:
            tgtd = volumed_host.ensure_tgtd(conf, state)
        except tgt_host.TgtError as exc:
            raise HostDaemonError(f"tgtd: {exc}") from None
        word = "started" if tgtd["started"] else "already running"
        return [f"{'tgtd':<16} {word} (pid {tgtd['pid']}, iscsi://{tgtd['portal']})"]

    def stop(self, state: StateLayout) -> list[str]:
        return [f"{'tgtd':<16} stopped"] if volumed_host.stop_tgtd(state) else []

    def status(self, state: StateLayout) -> list[StatusRow]:
        tgtd = tgt_host.status(state.root)
        portal = tgtd.get("portal") or ""
        return [("tgtd", tgtd["up"], portal.rsplit(":", 1)[-1] or "-", tgtd["pid"])]


class ComputedLibvirt(HostDaemons):
    """virtlogd and libvirtd, shared by every stack on the machine: started
    when missing, left running by `down` (as the host's QEMU processes are)."""

    def ensure(self, conf: Any, state: StateLayout) -> list[str]:
        try:
            result = libvirt_host.ensure_running(state.root)
        except libvirt_host.HostServiceError as exc:
            raise HostDaemonError(f"libvirt: {exc}") from None
        lines = []
        for daemon in ("virtlogd", "libvirtd"):
            word = "started" if daemon in result["started"] else "already running"
            lines.append(f"{daemon:<16} {word} (pid {result[daemon]})")
        return lines

    def stop(self, state: StateLayout) -> list[str]:
        return []

    def status(self, state: StateLayout) -> list[StatusRow]:
        return [(name, daemon["up"], "-", daemon["pid"])
                for name, daemon in libvirt_host.status(state.root).items()]


class NetworkdNamespace(HostDaemons):
    """Not a daemon but the place networkd's data plane lives in: the
    stack's network namespace (named after its state directory, so two
    stacks never share one) and the veth pair whose machine end is the
    external network's gateway (like DevStack's br-ex). Made before networkd
    starts; removed by `down` once the guests are off, with the dnsmasq
    processes still in it."""

    def ensure(self, conf: Any, state: StateLayout) -> list[str]:
        namespace = self.namespace(conf, state)
        gateway = self.gateway_cidr(conf)
        host_end = netnames.external_veth_host_end(state.root)
        from networkd.dataplane import namespace as stack_netns
        try:
            stack_netns.ensure(namespace, host_end, netnames.EXTERNAL_VETH_NS_END, gateway)
        except DataPlaneError as exc:
            raise HostDaemonError(f"network namespace {namespace}: {exc}") from None
        self._remember(state, namespace)
        return [f"{'netns':<16} {namespace} (external gateway {gateway} on {host_end})"]

    def stop(self, state: StateLayout) -> list[str]:
        from networkd.dataplane import namespace as stack_netns
        namespace = self._remembered(state)
        if namespace is None or not stack_netns.exists(namespace):
            return []
        stack_netns.remove(namespace, netnames.external_veth_host_end(state.root))
        self._record(state).unlink(missing_ok=True)
        return [f"{'netns':<16} {namespace} removed"]

    def status(self, state: StateLayout) -> list[StatusRow]:
        from networkd.dataplane import namespace as stack_netns
        namespace = self._remembered(state) or netnames.stack_namespace(state.root)
        return [("netns", stack_netns.exists(namespace), "-", None)]

    @staticmethod
    def namespace(conf: Any, state: StateLayout) -> str:
        return conf.dataplane.namespace or netnames.stack_namespace(state.root)

    @staticmethod
    def gateway_cidr(conf: Any) -> str:
        """The first host of [network] public_cidr, with its prefix."""
        public = ipaddress.IPv4Network(conf.network.public_cidr)
        return f"{next(public.hosts())}/{public.prefixlen}"

    # `down` reads no config file: the namespace `up` made is recorded.
    @staticmethod
    def _record(state: StateLayout):
        return state.run / "netns"

    def _remember(self, state: StateLayout, namespace: str) -> None:
        self._record(state).write_text(namespace + "\n")

    def _remembered(self, state: StateLayout) -> str | None:
        try:
            return self._record(state).read_text().strip() or None
        except FileNotFoundError:
            return None


class StackCluster(HostDaemons):
    """What the stack's own clusters (Ceph, Swift) share: their settings are
    a section of pocketstack.conf, read at every call, and `up` reports each
    of their daemons as started or already running."""

    section = ""   # the section of pocketstack.conf: "ceph", "swift"

    def _settings(self, state: StateLayout):
        try:
            return getattr(load_config(stackconfig.schema(),
                                       state.config_file(stackconfig.STACK_CONF)),
                           self.section)
        except ConfigError as exc:
            raise HostDaemonError(str(exc)) from None

    def _enabled_settings(self, state: StateLayout):
        """The section when the cluster is on, else None (status shows
        nothing for a cluster that is off, or whose file cannot be read)."""
        try:
            settings = self._settings(state)
        except HostDaemonError:
            return None
        return settings if settings.enabled else None

    @staticmethod
    def _started_lines(result: dict, prefix: str = "") -> list[str]:
        return [f"{prefix + name:<16} "
                f"{'started' if name in result['started'] else 'already running'} (pid {pid})"
                for name, pid in result["pids"].items()]


class StackCeph(StackCluster):
    """The stack's own single-node Ceph (shared/host/ceph_host.py), run when
    [ceph] enabled is true in pocketstack.conf: it belongs to no single
    service (imaged, volumed and computed all use it), so it reads the
    stack's file, not the service's `conf`. Started before the first service
    that uses it, stopped by `down` once they have stopped."""

    section = "ceph"

    def ensure(self, conf: Any, state: StateLayout) -> list[str]:
        ceph = self._settings(state)
        if not ceph.enabled:
            return []
        ports = ceph_host.CephPorts(ceph.mon_port, ceph.mon_v1_port, ceph.bind_port_min,
                                    ceph.bind_port_max)
        try:
            result = ceph_host.ensure_running(state.root, ports, ceph.osd_size)
        except ceph_host.CephError as exc:
            raise HostDaemonError(f"ceph: {exc}") from None
        lines = self._started_lines(result)
        lines.append(f"{'ceph':<16} cluster {result['fsid']} (mon 127.0.0.1:{ceph.mon_port}, "
                     f"{state.ceph / 'ceph.conf'})")
        return lines

    def stop(self, state: StateLayout) -> list[str]:
        return [f"{program:<16} stopped" for program in ceph_host.stop(state.root)]

    def status(self, state: StateLayout) -> list[StatusRow]:
        ceph = self._enabled_settings(state)
        if ceph is None:
            return []
        layout = ceph_host.CephLayout(state.root)
        ports = {"ceph-mon": str(ceph.mon_port)}
        return [(program, pid is not None, ports.get(program, "-"), pid)
                for program, pid in ceph_host.pids(layout).items()]



class StackSwift(StackCluster):
    """The stack's own single-node Swift (shared/host/swift_host.py), run
    when [swift] enabled is true in pocketstack.conf. prepare() registers it
    in identity's catalog (identity.conf [catalog] object_store_url, when
    unset) before identity reads its file; its proxy validates tokens with
    identity as the service user `swift`, whose password identity's
    bootstrap generated (etc/credentials)."""

    section = "swift"

    def prepare(self, state: StateLayout) -> None:
        swift = load_config(stackconfig.schema(),
                            state.config_file(stackconfig.STACK_CONF)).swift
        identity_conf = state.config_file(identity_schema().filename)
        if not swift.enabled or load_config(identity_schema(),
                                            identity_conf).catalog.object_store_url:
            return
        set_option(identity_conf, "catalog", "object_store_url",
                   f"http://{swift_host.LOOPBACK}:{swift.proxy_port}/v1/AUTH_%(project_id)s")

    def ensure(self, conf: Any, state: StateLayout) -> list[str]:
        swift = self._settings(state)
        if not swift.enabled:
            return []
        from identity.credentials import Credentials
        identity = load_config(identity_schema(), state.config_file(identity_schema().filename))
        auth = swift_host.SwiftAuth(
            f"http://{identity.api.bind_host}:{identity.api.bind_port}", "swift",
            Credentials.load_or_create(state.credentials).passwords["swift"])
        try:
            result = swift_host.ensure_running(state.root, self.ports(swift), auth)
        except swift_host.SwiftError as exc:
            raise HostDaemonError(f"swift: {exc}") from None
        lines = self._started_lines(result, prefix="swift-")
        lines.append(f"{'swift':<16} http://{swift_host.LOOPBACK}:{swift.proxy_port}/v1 "
                     f"(object-store)")
        return lines

    def stop(self, state: StateLayout) -> list[str]:
        return [f"{'swift-' + name:<16} stopped" for name in swift_host.stop(state.root)]

    def status(self, state: StateLayout) -> list[StatusRow]:
        swift = self._enabled_settings(state)
        if swift is None:
            return []
        ports = self.ports(swift)
        return [(f"swift-{name}", pid is not None, str(ports.of(name)), pid)
                for name, pid in swift_host.pids(state.root, ports).items()]

    @staticmethod
    def ports(swift) -> swift_host.SwiftPorts:
        return swift_host.SwiftPorts(swift.proxy_port, swift.object_port,
                                     swift.container_port, swift.account_port,
                                     swift.memcached_port)
