"""The host daemons a service needs running beside it (tgtd for volumed;
virtlogd and libvirtd for computed), as the `pocketstack` command sees them.

Each kind is one small class behind one contract, so that `up`, `down` and
`status` treat them alike and a new one (dnsmasq, Swift, Ceph) is one class.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

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
