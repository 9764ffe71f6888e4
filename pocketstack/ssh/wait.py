"""--wait: follow a new server until SSH answers, phase by phase.

    BUILD        the server is being built (computed's launch flow)
    ACTIVE       the guest runs
    DHCP lease   the guest holds its fixed IP: it answers ARP for it on its
                 network, seen from inside the stack's namespace (a TCP
                 connection attempt makes the kernel ask; the neighbour
                 table then says whether anyone answered). This works
                 whatever the security groups say: they filter IP, not ARP.
    SSH banner   port 22 of the address answers with "SSH-..."
    host keys    the console shows the guest's host keys

Each phase is printed once when it is reached, with the seconds since the
wait began; on a terminal a line shows what is awaited meanwhile. The same
timeline is what bench/ssh_ready.py measures.
"""
from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pyroute2 import IPRoute

from pocketstack.cloud import Cloud
from pocketstack.ssh import hostkeys, target
from pocketstack.ssh.session import open_socket

POLL = 0.25
PROBE_TIMEOUT = 1.0
# Neighbour states in which someone answered for the address (linux/neighbour.h).
NUD_ANSWERED = 0x02 | 0x04 | 0x08 | 0x10      # REACHABLE, STALE, DELAY, PROBE
PHASES = ("BUILD", "ACTIVE", "DHCP lease", "SSH banner", "host keys")


class WaitTimeout(RuntimeError):
    pass


@dataclass
class Timeline:
    """When each phase was reached, in seconds since the wait began."""
    started: float = field(default_factory=time.monotonic)
    reached: dict[str, float] = field(default_factory=dict)

    def mark(self, phase: str) -> float:
        seconds = time.monotonic() - self.started
        self.reached.setdefault(phase, seconds)
        return self.reached[phase]


class Progress:
    """Phase lines on stderr; on a terminal, a live line of what is awaited."""

    def __init__(self, stream=sys.stderr, quiet: bool = False):
        self.stream = stream
        self.quiet = quiet
        self.live = stream.isatty() and not quiet

    def reached(self, phase: str, seconds: float, detail: str = "") -> None:
        if self.quiet:
            return
        self._clear()
        self.stream.write(f"{seconds:6.1f}s  {phase:<11} {detail}\n")
        self.stream.flush()

    def waiting(self, what: str, seconds: float) -> None:
        if self.live:
            self.stream.write(f"\r{seconds:6.1f}s  waiting for {what} ...\x1b[K")
            self.stream.flush()

    def _clear(self) -> None:
        if self.live:
            self.stream.write("\r\x1b[K")


def wait_until_reachable(cloud: Cloud, server_id: str, namespace: str, port: int,
                         timeout: float, progress: Progress,
                         timeline: Timeline | None = None) -> Timeline:
    """Block until every phase is reached (WaitTimeout after `timeout` s,
    TargetError if the server fails)."""
    timeline = timeline or Timeline()
    deadline = timeline.started + timeout
    server = _until(lambda: _active(cloud, server_id, timeline, progress), "ACTIVE",
                    deadline, timeline, progress)
    address = target.choose_address(server)
    fixed = target.Address(address.fixed_ip, "fixed", address.network, address.fixed_ip)
    _until(lambda: holds_address(namespace, fixed, port), f"{fixed.ip} to be taken (DHCP)",
           deadline, timeline, progress)
    progress.reached("DHCP lease", timeline.mark("DHCP lease"), fixed.ip)
    _until(lambda: ssh_banner(address, port, namespace), f"SSH on {address.ip}:{port}",
           deadline, timeline, progress)
    progress.reached("SSH banner", timeline.mark("SSH banner"), f"{address.ip}:{port}")
    _until(lambda: hostkeys.parse(target.console(cloud, server_id)) or None,
           "the host keys on the console", deadline, timeline, progress)
    progress.reached("host keys", timeline.mark("host keys"), "on the console")
    return timeline


def _active(cloud: Cloud, server_id: str, timeline: Timeline,
            progress: Progress) -> dict | None:
    server = target.refresh(cloud, server_id)
    status = server["status"]
    if status == "BUILD" and "BUILD" not in timeline.reached:
        progress.reached("BUILD", timeline.mark("BUILD"), server.get("OS-EXT-STS:task_state")
                         or "")
    if status == "ACTIVE":
        progress.reached("ACTIVE", timeline.mark("ACTIVE"), server["name"])
        return server
    if status in ("ERROR", "DELETED", "SHUTOFF", "SHELVED_OFFLOADED"):
        fault = (server.get("fault") or {}).get("message", "")
        raise target.TargetError(f"server {server['name']} is {status}"
                                 + (f": {fault}" if fault else ""))
    return None


def _until(check: Callable, what: str, deadline: float, timeline: Timeline,
           progress: Progress):
    while True:
        result = check()
        if result:
            return result
        now = time.monotonic()
        if now > deadline:
            raise WaitTimeout(f"gave up waiting for {what} after "
                              f"{now - timeline.started:.0f} s")
        progress.waiting(what, now - timeline.started)
        time.sleep(POLL)


def holds_address(namespace: str, fixed: target.Address, port: int) -> bool:
    """Whether the guest answers ARP for its fixed IP."""
    try:
        open_socket(fixed, port, namespace, PROBE_TIMEOUT).close()
        return True                  # it even accepted a connection
    except ConnectionRefusedError:
        return True                  # its kernel answered: it holds the address
    except OSError:
        pass                         # unreachable or filtered: ask the neighbour table
    with IPRoute(netns=namespace, flags=0) as ipr:
        for entry in ipr.get_neighbours(dst=fixed.ip):
            if entry["state"] & NUD_ANSWERED:
                return True
    return False


def ssh_banner(address: target.Address, port: int, namespace: str) -> bool:
    """Whether an SSH server answers there (it speaks first: "SSH-2.0-...")."""
    try:
        with open_socket(address, port, namespace, PROBE_TIMEOUT) as sock:
            sock.settimeout(PROBE_TIMEOUT * 3)
            return sock.recv(256).startswith(b"SSH-")
    except (TimeoutError, OSError):
        return False
