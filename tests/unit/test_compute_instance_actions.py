"""A server's actions as Nova lists them, made from computed's events."""
from __future__ import annotations

import datetime as dt

from computed.domain.instance_actions import RecordedEvent, actions_of, stem_and_phase

T0 = dt.datetime(2026, 12, 1, 12, 0)


def event(kind: str, request: str, seconds: int) -> RecordedEvent:
    return RecordedEvent(f"compute.instance.{kind}", request, "u1", "p1",
                         T0 + dt.timedelta(seconds=seconds))


def test_each_request_is_one_action_named_as_nova_names_it():
    events = [event("create.requested", "req-1", 0), event("create.start", "req-1", 1),
              event("create.end", "req-1", 3), event("update", "req-1", 3),
              event("power_off.start", "req-2", 10), event("power_off.end", "req-2", 12),
              event("snapshot.start", "req-3", 20), event("snapshot.error", "req-3", 25),
              event("power.synced", None, 30)]
    actions = actions_of("s1", events)
    assert [(a["action"], a["request_id"]) for a in actions] == [
        ("createImage", "req-3"), ("stop", "req-2"), ("create", "req-1")]
    assert actions[0]["message"] == "Error" and actions[1]["message"] is None
    assert actions[1]["events"] == [{
        "event": "compute_power_off", "start_time": "2026-12-01T12:00:10.000000",
        "finish_time": "2026-12-01T12:00:12.000000", "result": "Success",
        "traceback": None}]
    assert actions[2]["start_time"] == "2026-12-01T12:00:00.000000"


def test_only_phases_of_known_actions_count():
    assert stem_and_phase("compute.instance.volume.attach.end") == ("volume.attach", "end")
    assert stem_and_phase("compute.instance.power.synced") is None
    assert stem_and_phase("image.create") is None
