"""Every change to a volume is recorded as an event (GET
/pocketstack/v1/events on volumed), in OpenStack's notation."""
from __future__ import annotations

from tests.support.volumes import VolumeApi, connector


def test_lifecycle_events(stack):
    demo = VolumeApi(stack, "demo")
    volume = demo.create()
    attachment = demo.attach(volume["id"], connector("events"))
    demo.complete(attachment["id"])
    demo.detach(attachment["id"])
    demo.action(volume["id"], "os-extend", {"new_size": 2}, expect=202)
    demo.wait(volume["id"], "available")
    snapshot = demo.snapshot(volume["id"])
    demo.call("DELETE", f"/snapshots/{snapshot['id']}", expect=202)
    demo.delete(volume["id"])
    demo.wait_gone(volume["id"])

    events = demo.events(resource_id=volume["id"], limit=100)
    kinds = [event["event_type"] for event in reversed(events)]
    assert kinds == ["volume.create.start", "volume.create.end", "volume.reserve",
                     "volume.attach.start", "volume.attach.end", "volume.detach.start",
                     "volume.detach.end", "volume.resize.start", "volume.resize.end",
                     "volume.delete.start", "volume.delete.end"]
    assert all(event["project_id"] == demo.project_id for event in events)
    assert events[0]["payload"]["volume_id"] == volume["id"]
    snapshot_kinds = [e["event_type"] for e in demo.events(resource_id=snapshot["id"])]
    assert sorted(snapshot_kinds) == ["snapshot.create.end", "snapshot.create.start",
                                      "snapshot.delete.end", "snapshot.delete.start"]
    attach_events = demo.events(type="volume.attach.*", resource_id=volume["id"])
    assert len(attach_events) == 2
    # No event carries a CHAP secret.
    assert "auth_password" not in str(events) and "chap" not in str(events).lower()
