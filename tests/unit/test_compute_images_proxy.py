"""Nova's image proxy, the pure part: statuses, properties, the query sent
to imaged, and the JSON patch of a metadata update."""
from __future__ import annotations

import pytest

from computed.domain import images


@pytest.mark.parametrize("glance, nova, progress", [
    ("active", "ACTIVE", 100), ("queued", "SAVING", 25), ("saving", "SAVING", 50),
    ("deleted", "DELETED", 0), ("pending_delete", "DELETED", 0), ("killed", "ERROR", 0),
    ("deactivated", "UNKNOWN", 0), ("importing", "UNKNOWN", 0), (None, "UNKNOWN", 0),
])
def test_statuses_and_progress_are_novas(glance, nova, progress):
    assert images.status({"status": glance}) == nova
    assert images.progress({"status": glance}) == progress


def test_properties_are_what_is_not_in_glances_base_schema():
    record = {"id": "i", "name": "n", "status": "active", "visibility": "public",
              "size": 1, "min_ram": 0, "os_hash_value": "x", "tags": [], "self": "/v2/i",
              "os_distro": "tiny", "hw_disk_bus": "virtio", "stores": "file"}
    assert images.properties(record) == {"os_distro": "tiny", "hw_disk_bus": "virtio",
                                         "stores": "file"}


def test_a_nova_query_becomes_glances():
    query, columns = images.glance_filters([
        ("name", "tiny"), ("status", "ACTIVE"), ("changes-since", "2026-01-01T00:00:00Z"),
        ("server", "http://h/v2.1/servers/abc"), ("type", "snapshot"), ("minRam", "64"),
        ("minDisk", "1"), ("property-os_distro", "tiny"), ("limit", "2"), ("bogus", "x")])
    assert query == [("name", "tiny"), ("status", "active"),
                     ("updated_at", "gte:2026-01-01T00:00:00Z"), ("instance_uuid", "abc"),
                     ("image_type", "snapshot"), ("os_distro", "tiny")]
    assert columns == {"min_ram": "64", "min_disk": "1"}
    assert images.matches_columns({"min_ram": 64, "min_disk": 1}, columns)
    assert not images.matches_columns({"min_ram": 128, "min_disk": 1}, columns)
    assert images.matches_columns({"min_ram": None}, {"min_ram": "0"})


def test_the_patch_makes_the_properties_exactly_what_is_asked():
    current = {"a": "1", "b": "2", "stores": "file"}
    patch = images.properties_patch(current, {"a": "1", "b": "3", "c": "4"},
                                    untouchable=["stores"])
    assert patch == [{"op": "replace", "path": "/b", "value": "3"},
                     {"op": "add", "path": "/c", "value": "4"}]
    assert images.properties_patch(current, {}, untouchable=["stores"]) == [
        {"op": "remove", "path": "/a"}, {"op": "remove", "path": "/b"}]
    assert images.properties_patch(current, dict(current)) == []
