"""Snapshots, and volumes made from a snapshot or from another volume: the
data is copied, the sizes checked, dependent snapshots block a delete."""
from __future__ import annotations

import pytest

from shared.units import GiB, MiB
from tests.support.volumes import VolumeApi, read, volume_file, write


@pytest.fixture(scope="module")
def demo(stack) -> VolumeApi:
    return VolumeApi(stack, "demo")


def test_snapshot_copies_the_data_at_that_moment(stack, demo):
    volume = demo.create(size=1)
    write(stack, volume["id"], 5 * MiB, b"before")
    snapshot = demo.snapshot(volume["id"], description="d", metadata={"k": "v"})
    assert snapshot["size"] == 1 and snapshot["volume_id"] == volume["id"]
    assert snapshot["metadata"] == {"k": "v"}
    write(stack, volume["id"], 5 * MiB, b"after!")

    restored = demo.create(size=2, snapshot_id=snapshot["id"])
    assert restored["snapshot_id"] == snapshot["id"] and restored["size"] == 2
    assert read(stack, restored["id"], 5 * MiB, 6) == b"before"
    assert volume_file(stack, restored["id"]).stat().st_size == 2 * GiB

    listed = demo.call("GET", "/snapshots", expect=200).json()["snapshots"]
    assert snapshot["id"] in [s["id"] for s in listed]
    detail = demo.call("GET", "/snapshots/detail", params={"volume_id": volume["id"]},
                       expect=200).json()["snapshots"]
    assert [s["id"] for s in detail] == [snapshot["id"]]
    renamed = demo.call("PUT", f"/snapshots/{snapshot['id']}",
                        json={"snapshot": {"name": "renamed"}}, expect=200).json()
    assert renamed["snapshot"]["name"] == "renamed"

    # The volume cannot go while it has a snapshot, unless cascade.
    refused = demo.delete(volume["id"], expect=400)
    assert "snapshot" in refused.text
    demo.call("DELETE", f"/snapshots/{snapshot['id']}", expect=202)
    assert demo.call("GET", f"/snapshots/{snapshot['id']}").status_code == 404
    snapshot_file = stack.state_dir / "lib" / "volumes" / f"snapshot-{snapshot['id']}"
    assert not snapshot_file.exists()
    demo.delete(volume["id"])
    demo.delete(restored["id"])


def test_volume_from_a_snapshot_cannot_be_smaller(demo):
    volume = demo.create(size=2)
    snapshot = demo.snapshot(volume["id"])
    response = demo.call("POST", "/volumes", json={"volume": {
        "size": 1, "snapshot_id": snapshot["id"]}})
    assert response.status_code == 400
    assert "cannot be smaller" in response.text
    # Without a size, the snapshot's size is used.
    copy = demo.call("POST", "/volumes", json={"volume": {
        "snapshot_id": snapshot["id"]}}, expect=202).json()["volume"]
    assert demo.wait(copy["id"], "available")["size"] == 2
    demo.delete(copy["id"])
    demo.delete(volume["id"], cascade="True")
    demo.wait_gone(volume["id"])
    assert demo.call("GET", f"/snapshots/{snapshot['id']}").status_code == 404


def test_clone_of_a_volume(stack, demo):
    source = demo.create(size=1)
    write(stack, source["id"], 0, b"cloned data")
    clone = demo.create(size=1, source_volid=source["id"])
    assert clone["source_volid"] == source["id"]
    assert read(stack, clone["id"], 0, 11) == b"cloned data"
    demo.delete(clone["id"])
    demo.delete(source["id"])


def test_snapshot_of_an_in_use_volume_needs_force(demo):
    volume = demo.create()
    from tests.support.volumes import connector
    attachment = demo.attach(volume["id"], connector("snap"))
    demo.complete(attachment["id"])
    snapshot = demo.snapshot(volume["id"], force=True)
    assert snapshot["status"] == "available"
    demo.detach(attachment["id"])
    demo.call("DELETE", f"/snapshots/{snapshot['id']}", expect=202)
    demo.delete(volume["id"])


def test_unknown_snapshot_and_source_are_404(demo):
    for field in ("snapshot_id", "source_volid"):
        response = demo.call("POST", "/volumes", json={"volume": {
            "size": 1, field: "00000000-0000-0000-0000-000000000000"}})
        assert response.status_code == 404
