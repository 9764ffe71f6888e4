"""The host daemons a service needs running beside it (tgtd for volumed;
virtlogd and libvirtd for computed), as the `pocketstack` command sees them.

Each kind is one small class behind one contract, so that `up`, `down` and
`status` treat them alike and a new one (dnsmasq, Swift, Ceph) is one class.
"""
from __future__ import annotations

import ipaddress
from abc import ABC, abstractmethod
from typing import Any

from networkd.dataplane import namespace as stack_netns
from networkd.dataplane.contract import DataPlaneError
from shared import netnames
from shared.host import libvirt_host, tgt_host
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
        try:
            stack_netns.ensure(namespace, host_end, netnames.EXTERNAL_VETH_NS_END, gateway)
        except DataPlaneError as exc:
            raise HostDaemonError(f"network namespace {namespace}: {exc}") from None
        self._remember(state, namespace)
        return [f"{'netns':<16} {namespace} (external gateway {gateway} on {host_end})"]

    def stop(self, state: StateLayout) -> list[str]:
        namespace = self._remembered(state)
        if namespace is None or not stack_netns.exists(namespace):
            return []
        stack_netns.remove(namespace, netnames.external_veth_host_end(state.root))
        self._record(state).unlink(missing_ok=True)
        return [f"{'netns':<16} {namespace} removed"]

    def status(self, state: StateLayout) -> list[StatusRow]:
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
