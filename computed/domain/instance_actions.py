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
# Moves: the request's first event names the action (a migration's steps
# are a resize's); their steps carry the names of Nova's compute methods.
ACTIONS.update({"rebuild": "rebuild", "resize": "resize", "migrate": "migrate",
                "resize.prep": "resize", "finish_resize": "resize",
                "resize.confirm": "confirmResize", "resize.revert": "revertResize"})
EVENT_NAMES = {"rebuild": "compute_rebuild_instance", "resize.prep": "compute_prep_resize",
               "resize": "compute_resize_instance", "finish_resize": "compute_finish_resize",
               "resize.confirm": "compute_confirm_resize",
               "resize.revert": "compute_finish_revert_resize"}
# Shelving: shelve, shelveOffload, unshelve and createBackup, with the names
# of Nova's compute methods (and its conductor's steps of an unshelve).
ACTIONS.update({"shelve": "shelve", "shelve_offload": "shelveOffload",
                "unshelve": "unshelve", "unshelve.image_info": "unshelve",
                "unshelve.schedule": "unshelve", "backup": "createBackup"})
EVENT_NAMES.update({"shelve": "compute_shelve_instance",
                    "shelve_offload": "compute_shelve_offload_instance",
                    "unshelve": "compute_unshelve_instance",
                    "unshelve.image_info": "get_image_info",
                    "unshelve.schedule": "schedule_instances",
                    "backup": "compute_backup_instance"})
# A step that runs inside another action's event, as Nova's manager calls it
# without an event of its own: (the action's first stem, the step's stem) ->
# the event it belongs to. A shelve offloads at once (shelved_offload_time 0).
FOLDED = {("shelve", "shelve_offload"): "shelve"}
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
        stem = FOLDED.get((steps[0][1], stem), stem)
        name = EVENT_NAMES.get(stem, f"compute_{stem.replace('.', '_')}")
        entry = found.setdefault(stem, {"event": name,
                                        "start_time": _when(event.timestamp),
                                        "finish_time": None, "result": None,
                                        "traceback": None})
        if phase in ("end", "error"):
            entry["finish_time"] = _when(event.timestamp)
            entry["result"] = "Success" if phase == "end" else "Error"
    return list(found.values())
