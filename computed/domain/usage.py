"""What a project's servers used in a period: Nova's simple tenant usage.

A server counts for the part of the period in which it ran: from its launch
(or the period's start, whichever is later) to its termination (or the
period's end). Its hours times its flavor's RAM, vCPUs and disk (root plus
ephemeral) are the MB-hours, vCPU-hours and GB-hours `openstack usage show`
prints. Pure functions over plain values: the API layer reads the servers.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class ServerRecord:
    id: str
    name: str
    project_id: str
    flavor_name: str
    memory_mb: int
    vcpus: int
    local_gb: int
    vm_state: str
    launched_at: dt.datetime | None
    terminated_at: dt.datetime | None


def hours_in(server: ServerRecord, start: dt.datetime, stop: dt.datetime) -> float:
    """Hours the server ran between start and stop (Nova's _hours_for)."""
    if server.launched_at is None:
        return 0.0
    if server.terminated_at is not None and server.terminated_at < start:
        return 0.0
    begin = max(server.launched_at, start)
    end = min(server.terminated_at or stop, stop)
    return max((end - begin).total_seconds(), 0.0) / 3600.0


def ran_in(server: ServerRecord, start: dt.datetime, stop: dt.datetime) -> bool:
    """Nova's "active by window": launched before the end, not gone before the start."""
    return server.launched_at is not None and server.launched_at < stop and (
        server.terminated_at is None or server.terminated_at > start)


def server_usage(server: ServerRecord, start: dt.datetime, stop: dt.datetime,
                 now: dt.datetime) -> dict:
    ended = server.terminated_at
    launched = server.launched_at or now
    uptime = (ended or now) - launched
    return {"instance_id": server.id, "name": server.name, "tenant_id": server.project_id,
            "flavor": server.flavor_name, "memory_mb": server.memory_mb,
            "vcpus": server.vcpus, "local_gb": server.local_gb,
            "hours": hours_in(server, start, stop),
            "started_at": launched.isoformat(), "ended_at": ended.isoformat() if ended else None,
            "state": "terminated" if ended else server.vm_state,
            "uptime": int(uptime.total_seconds())}


def tenant_usages(servers: list[ServerRecord], start: dt.datetime, stop: dt.datetime,
                  now: dt.datetime, detailed: bool) -> list[dict]:
    """One usage per project that had a server running in the period."""
    by_project: dict[str, dict] = {}
    for server in servers:
        if not ran_in(server, start, stop):
            continue
        usage = server_usage(server, start, stop, now)
        total = by_project.setdefault(server.project_id, {
            "tenant_id": server.project_id, "start": start.isoformat(),
            "stop": stop.isoformat(), "total_hours": 0.0, "total_local_gb_usage": 0.0,
            "total_memory_mb_usage": 0.0, "total_vcpus_usage": 0.0, "server_usages": []})
        hours = usage["hours"]
        total["total_hours"] += hours
        total["total_local_gb_usage"] += usage["local_gb"] * hours
        total["total_memory_mb_usage"] += usage["memory_mb"] * hours
        total["total_vcpus_usage"] += usage["vcpus"] * hours
        total["server_usages"].append(usage)
    usages = list(by_project.values())
    if not detailed:
        for usage in usages:
            del usage["server_usages"]
    return usages


def parse_period_time(text: str | None, default: dt.datetime) -> dt.datetime:
    """A start or end query parameter as Nova accepts it (ISO 8601, with or
    without microseconds); ValueError otherwise."""
    if not text:
        return default
    for layout in ("%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S.%f",
                   "%Y-%m-%d %H:%M:%S"):
        try:
            return dt.datetime.strptime(text, layout)
        except ValueError:
            continue
    raise ValueError(text)
