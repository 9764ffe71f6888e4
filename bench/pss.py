"""The memory a stack's processes take, as proportional set size (PSS).

PSS counts each page a process maps divided by the number of processes that
map it: a library page shared by ten forked workers counts a tenth in each,
so the figures add up to what the stack really costs the machine (RSS would
count a shared page once per process).

The stack's own processes are those `pocketstack up` started for a service
(its pid file under <state>/run) and their children. The host daemons are
reported apart: what the services' and the stack's host daemons say runs
(tgtd, virtlogd, libvirtd, Ceph, Swift) with their children, and every
other process in the stack's network namespace (dnsmasq, QEMU).
"""
from __future__ import annotations

import os
from pathlib import Path

from pocketstack.services import SERVICES, STACK_DAEMONS
from shared.paths import StateLayout

KIB_PER_MIB = 1024


def smaps_rollup(pid: int) -> dict[str, int]:
    """/proc/<pid>/smaps_rollup's counters, in KiB ({} once the process is gone)."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return {}
    counters = {}
    for line in text.splitlines()[1:]:
        name, _, value = line.partition(":")
        if value.strip().endswith("kB"):
            counters[name] = int(value.split()[0])
    return counters


def command_line(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace") \
            .split("\0")[:-1]
    except OSError:
        return []


def children_of() -> dict[int, list[int]]:
    """Every process's children, by parent pid (one pass over /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    return children


def with_descendants(pid: int, children: dict[int, list[int]]) -> list[int]:
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        pending.extend(children.get(current, []))
    return found


def in_namespace(namespace: str) -> list[int]:
    """The processes whose network namespace is `namespace` (ip netns name)."""
    try:
        wanted = os.stat(f"/run/netns/{namespace}").st_ino
    except OSError:
        return []
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.stat(entry / "ns" / "net").st_ino == wanted:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def cpu_seconds(pid: int) -> float:
    """User and system CPU time the process has used (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def describe(pid: int, name: str) -> dict | None:
    counters = smaps_rollup(pid)
    if not counters:
        return None
    argv = command_line(pid)
    return {"pid": pid, "name": name,
            "program": os.path.basename(argv[0]) if argv else "?",
            "pss_mib": round(counters.get("Pss", 0) / KIB_PER_MIB, 1),
            "rss_mib": round(counters.get("Rss", 0) / KIB_PER_MIB, 1),
            "private_mib": round((counters.get("Private_Clean", 0)
                                  + counters.get("Private_Dirty", 0)) / KIB_PER_MIB, 1),
            "cpu_s": round(cpu_seconds(pid), 2)}


def is_python(process: dict) -> bool:
    return process["program"].startswith("python")


def stack_processes(state: StateLayout) -> tuple[list[dict], list[dict]]:
    """(the stack's own processes, the host daemons), each process once."""
    children = children_of()
    seen: set[int] = set()

    def collect(pids: list[int], name: str) -> list[dict]:
        found = []
        for pid in pids:
            if pid in seen:
                continue
            seen.add(pid)
            process = describe(pid, name)
            if process:
                found.append(process)
        return found

    services_of: dict[int, list[str]] = {}  # one process may serve several (one-process mode)
    for service in SERVICES:
        try:
            pid = int(state.pid_file(service.name).read_text().strip())
        except (OSError, ValueError):
            continue
        services_of.setdefault(pid, []).append(service.name)
    own: list[dict] = []
    for pid, names in services_of.items():
        own += collect(with_descendants(pid, children), " + ".join(names))
    # What the services start that is not Python (a qemu-img, say) is work
    # of theirs, but not the services' own footprint: reported with the
    # host's programs.
    host = [process for process in own if not is_python(process)]
    own = [process for process in own if is_python(process)]
    rows = [row for service in SERVICES if service.host_daemons
            for row in service.host_daemons.status(state)] + \
        [row for daemons in STACK_DAEMONS for row in daemons.status(state)]
    for name, _up, _port, daemon_pid in rows:
        if daemon_pid:
            host += collect(with_descendants(int(daemon_pid), children), name)
    try:
        namespace = (state.run / "netns").read_text().strip()
    except OSError:
        namespace = ""
    for guest_side in in_namespace(namespace) if namespace else []:
        argv = command_line(guest_side)
        host += collect([guest_side], os.path.basename(argv[0]) if argv else "?")
    return own, host


def summary(processes: list[dict]) -> dict:
    """Totals, and the processes largest first."""
    return {"processes": len(processes),
            "pss_mib": round(sum(p["pss_mib"] for p in processes), 1),
            "rss_mib": round(sum(p["rss_mib"] for p in processes), 1),
            "each": sorted(processes, key=lambda p: -p["pss_mib"])}


def by_service(processes: list[dict]) -> dict[str, dict]:
    """PSS and process count per service (a service's workers together)."""
    services: dict[str, dict] = {}
    for process in processes:
        entry = services.setdefault(process["name"], {"processes": 0, "pss_mib": 0.0})
        entry["processes"] += 1
        entry["pss_mib"] = round(entry["pss_mib"] + process["pss_mib"], 1)
    return services


def footprint(state: StateLayout) -> dict:
    own, host = stack_processes(state)
    return {"ours": {**summary(own), "by_service": by_service(own)},
            "host_daemons": summary(host)}
