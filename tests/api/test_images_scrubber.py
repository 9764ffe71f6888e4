"""Delayed delete and imaged-scrubber, on a stack of this module's own with
delayed_delete on, a scrub_time of a few seconds and a fast wake-up."""
from __future__ import annotations

import time

import pytest

from tests.stack import pocketstack
from tests.support.images import Images, configured_stack, raw_bytes, stored_files, wait_for

SCRUB_TIME = 4.0


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory, stack):
    own = configured_stack(tmp_path_factory, stack, 60, "[image]\ndelayed_delete = true\n",
                           f"[scrubber]\nwakeup_time = 0.5\nscrub_time = {SCRUB_TIME}\n")
    yield own
    own.down()


@pytest.fixture(scope="module")
def demo(own_stack) -> Images:
    """The image API as the demo user sees it on this module's stack."""
    return Images(own_stack, own_stack.token("demo"))


def test_the_scrubber_is_part_of_the_stack(own_stack):
    result = pocketstack(own_stack.state_dir, "status", check=False)
    rows = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines()[1:]}
    assert rows["imaged-scrubber"][0] == "up" and rows["imaged-scrubber"][1] == "-"
    assert rows["imaged"][0] == "up"


def test_pending_delete_data_is_removed_after_scrub_time_and_not_before(own_stack, demo):
    data = raw_bytes(100000)
    image = demo.uploaded(data)
    image_id = image["id"]
    deleted_at = time.monotonic()
    assert demo.delete(image_id).status_code == 204
    assert demo.get(image_id).status_code == 404           # gone from the API at once
    assert image_id not in {i["id"] for i in demo.list(limit=1000).json()["images"]}
    delete_event = demo.events(image_id, type="image.delete")[0]
    assert delete_event["payload"]["new_status"] == "pending_delete"
    # Before scrub_time the data is still there, though the scrubber wakes often.
    time.sleep(SCRUB_TIME / 2)
    assert stored_files(own_stack, image_id) == [image_id]
    assert wait_for(lambda: stored_files(own_stack, image_id) == [], timeout=20)
    assert time.monotonic() - deleted_at >= SCRUB_TIME - 0.5
    scrubbed = wait_for(lambda: demo.events(image_id, type="image.scrub"), timeout=5)
    assert scrubbed and scrubbed[0]["publisher"] == "imaged-scrubber"
    assert demo.get(image_id).status_code == 404


def test_an_image_without_data_is_deleted_at_once(demo):
    image = demo.new()
    assert demo.delete(image["id"]).status_code == 204
    assert demo.events(image["id"], type="image.delete")[0]["payload"]["new_status"] == \
        "deleted"


def test_a_protected_image_is_not_even_pending_delete(own_stack, demo):
    image = demo.uploaded(raw_bytes(10), protected=True)
    assert demo.delete(image["id"]).status_code == 403
    assert stored_files(own_stack, image["id"]) == [image["id"]]
