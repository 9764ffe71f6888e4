"""The daemons of a stack the kill matrix kills, and how each is found.

A service (identity, imaged, volumed, computed, networkd) is its process
group: `pocketstack up` starts each in a session of its own, its workers
with it, so SIGKILL to the group is the whole service crashing at once. A
host daemon is its one process: the stack's tgtd, the machine's libvirtd
(QEMU guests outlive it, as on a real host), every dnsmasq of the stack.
"""
from __future__ import annotations

import json
import os
import signal
from pathlib import Path

from pocketstack import processes

SERVICES = ("identity", "imaged", "volumed", "computed", "networkd")
HOST_DAEMONS = ("tgtd", "libvirtd", "dnsmasq")
ALL = SERVICES + HOST_DAEMONS
LIBVIRTD_PID = Path("/run/libvirtd.pid")


def pids(stack, daemon: str) -> list[int]:
    """The live processes that are `daemon` for this stack ([] if none runs)."""
    run = stack.state_dir / "run"
    if daemon in SERVICES:
        pid = processes.running_pid(run / f"{daemon}.pid", f"{daemon}.app")
        sharing = [other for other in SERVICES if other != daemon
                   and pid and processes.read_pid(run / f"{other}.pid") == pid]
        # services serving in one process die together: no cell of this matrix
        assert not sharing, f"{daemon} shares its process with {sharing}: the matrix " \
                            f"needs a process per service"
        return [pid] if pid else []
    if daemon == "tgtd":
        try:
            record = json.loads((run / "tgtd.json").read_text())
            pid, portal = record["pid"], record["portal"]
        except (OSError, ValueError, KeyError, TypeError):
            return []
        # a recycled pid may be another stack's tgtd: its portal is not ours
        mine = pid and processes.process_matches(pid, f"tgtd -f --iscsi portal={portal} ")
        return [pid] if mine else []
    if daemon == "libvirtd":
        pid = processes.read_pid(LIBVIRTD_PID)
        return [pid] if pid and processes.process_matches(pid, "libvirtd") else []
    if daemon == "dnsmasq":
        found = []
        for pid_file in (stack.state_dir / "lib" / "networkd" / "dhcp").glob("*/pid"):
            pid = processes.read_pid(pid_file)
            if pid and processes.process_matches(pid, f"{stack.state_dir}/"):
                found.append(pid)
        return found
    raise ValueError(f"unknown daemon {daemon}")


def kill(stack, daemon: str) -> list[int]:
    """SIGKILL `daemon` (a service: its whole process group); returns the
    pids killed. Raises if it was not running: a case must kill something."""
    killed = pids(stack, daemon)
    if not killed:
        raise AssertionError(f"{daemon} is not running: nothing to kill")
    for pid in killed:
        try:
            if daemon in SERVICES:
                os.killpg(pid, signal.SIGKILL)
            else:
                os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return killed


def dnsmasq_runs(stack, network_id: str) -> bool:
    pid = processes.read_pid(stack.state_dir / "lib" / "networkd" / "dhcp" / network_id / "pid")
    return pid is not None and processes.process_matches(pid, f"{stack.state_dir}/")
