"""Nova's instance actions (`openstack server event list`), read off the
events computed records anyway.

Every user request on a server leaves events of one request id
(compute.instance.power_off.start, ... .end); the request is the action, its
first event's stem names it as Nova does (power_off -> stop, snapshot ->
createImage ...), and each start/end (or error) pair of a stem is one of its
events, with its result. Pure functions over plain values.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

PREFIX = "compute.instance."
# The stem of an event type -> the action Nova records for the request.
ACTIONS = {
    "create": "create", "delete": "delete", "power_off": "stop", "power_on": "start",
    "reboot": "reboot", "pause": "pause", "unpause": "unpause", "suspend": "suspend",
    "resume": "resume", "snapshot": "createImage", "volume.attach": "attach_volume",
    "volume.detach": "detach_volume", "interface.attach": "attach_interface",
    "interface.detach": "detach_interface",
}
PHASES = ("requested", "start", "end", "error")


@dataclass(frozen=True)
class RecordedEvent:
    event_type: str
    request_id: str | None
    user_id: str | None
    project_id: str | None
    timestamp: dt.datetime


def stem_and_phase(event_type: str) -> tuple[str, str] | None:
    """("power_off", "start") for compute.instance.power_off.start; None for
    events that are not a phase of an action (power.synced, update ...)."""
    if not event_type.startswith(PREFIX):
        return None
    stem, _, phase = event_type[len(PREFIX):].rpartition(".")
    return (stem, phase) if stem in ACTIONS and phase in PHASES else None


def _when(value: dt.datetime | None) -> str | None:
    return value.isoformat(timespec="microseconds") if value else None


def actions_of(server_id: str, events: list[RecordedEvent]) -> list[dict]:
    """The server's actions, newest first, each with its events."""
    by_request: dict[str, list[tuple[RecordedEvent, str, str]]] = {}
    for event in sorted(events, key=lambda e: e.timestamp):
        parsed = stem_and_phase(event.event_type)
        if parsed and event.request_id:
            by_request.setdefault(event.request_id, []).append((event, *parsed))
    actions = []
    for request_id, steps in by_request.items():
        first = steps[0][0]
        steps_done = _events(steps)
        failed = any(step["result"] == "Error" for step in steps_done)
        actions.append({"action": ACTIONS[steps[0][1]], "instance_uuid": server_id,
                        "message": "Error" if failed else None,
                        "project_id": first.project_id, "request_id": request_id,
                        "start_time": _when(first.timestamp), "user_id": first.user_id,
                        "events": steps_done})
    return sorted(actions, key=lambda a: a["start_time"] or "", reverse=True)


def _events(steps: list[tuple[RecordedEvent, str, str]]) -> list[dict]:
    """One event per stem: from its start to its end or error."""
    found: dict[str, dict] = {}
    for event, stem, phase in steps:
        if phase == "requested":
            continue
        entry = found.setdefault(stem, {"event": f"compute_{stem.replace('.', '_')}",
                                        "start_time": _when(event.timestamp),
                                        "finish_time": None, "result": None,
                                        "traceback": None})
        if phase in ("end", "error"):
            entry["finish_time"] = _when(event.timestamp)
            entry["result"] = "Success" if phase == "end" else "Error"
    return list(found.values())
