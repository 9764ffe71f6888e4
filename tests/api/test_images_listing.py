"""GET /v2/images: paging with limit/marker/next, sorting, and every filter.
Each test tags its own images, so other tests' images never get in the way."""
from __future__ import annotations

import datetime
import time
import urllib.parse
import uuid

import pytest

from tests.support.images import Images, raw_bytes


@pytest.fixture(scope="module")
def demo(stack) -> Images:
    return Images(stack, stack.token("demo"))


@pytest.fixture(scope="module")
def batch(demo) -> tuple[str, list[dict]]:
    """Seven images, created in order, with distinct names, sizes and formats."""
    tag = "batch-" + uuid.uuid4().hex[:8]
    images = []
    specs = [("delta", "raw", 300), ("alpha", "iso", None), ("golf", "raw", 100),
             ("charlie", "qcow2", None), ("echo", "raw", 500), ("bravo", "vmdk", None),
             ("foxtrot", "raw", 200)]
    for name, disk_format, size in specs:
        image = demo.new(name=name, disk_format=disk_format, tags=[tag],
                         os_distro="debian" if size else "fedora")
        if size:
            assert demo.upload(image["id"], raw_bytes(size)).status_code == 204
            image = demo.show(image["id"])
        images.append(image)
    return tag, images


def follow(demo: Images, **params) -> tuple[list[dict], int]:
    """Every page, following `next` the way the openstack client does."""
    pages, seen = 0, []
    response = demo.list(**params)
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        seen += body["images"]
        pages += 1
        assert pages < 50, "next links must not loop"
        if "next" not in body:
            return seen, pages
        response = demo.request("GET", body["next"])


def test_newest_first_by_default(demo, batch):
    tag, images = batch
    listed = demo.list(tag=tag).json()["images"]
    assert [i["id"] for i in listed] == [i["id"] for i in reversed(images)]


def test_paging_with_limit_marker_and_next_links(demo, batch):
    tag, images = batch
    first = demo.list(tag=tag, limit=3).json()
    assert len(first["images"]) == 3
    assert first["first"].startswith("/v2/images?") and "tag=" + tag in first["first"]
    assert first["schema"] == "/v2/schemas/images"
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(first["next"]).query)
    assert query["marker"] == [first["images"][-1]["id"]] and query["limit"] == ["3"]
    everything, pages = follow(demo, tag=tag, limit=3)
    assert pages == 3
    assert [i["id"] for i in everything] == [i["id"] for i in reversed(images)]
    exact, pages = follow(demo, tag=tag, limit=7)
    assert len(exact) == 7 and pages == 2  # a full page gets a next link; the next is empty


def test_sorting(demo, batch):
    tag, _ = batch
    names = [i["name"] for i in demo.list(tag=tag, sort="name:asc").json()["images"]]
    assert names == sorted(names)
    by_size, _ = follow(demo, tag=tag, sort_key="size", sort_dir="asc", limit=2)
    sizes = [i["size"] for i in by_size]
    assert sizes[:3] == [None, None, None] and sizes[3:] == [100, 200, 300, 500]
    mixed, _ = follow(demo, tag=tag, sort="disk_format:asc,name:desc", limit=2)
    pairs = [(i["disk_format"], i["name"]) for i in mixed]
    assert pairs == sorted(pairs, key=lambda p: (p[0], [-ord(c) for c in p[1]]))


@pytest.mark.parametrize("params, expected", [
    ({"name": "alpha"}, {"alpha"}),
    ({"name": "in:alpha,bravo"}, {"alpha", "bravo"}),
    ({"disk_format": "raw"}, {"delta", "golf", "echo", "foxtrot"}),
    ({"container_format": "bare", "disk_format": "vmdk"}, {"bravo"}),
    ({"status": "queued"}, {"alpha", "charlie", "bravo"}),
    ({"status": "active"}, {"delta", "golf", "echo", "foxtrot"}),
    ({"size_min": "200"}, {"delta", "echo", "foxtrot"}),
    ({"size_max": "200"}, {"golf", "foxtrot"}),
    ({"size_min": "150", "size_max": "350"}, {"delta", "foxtrot"}),
    ({"os_distro": "fedora"}, {"alpha", "charlie", "bravo"}),
    ({"protected": "false"}, {"delta", "alpha", "golf", "charlie", "echo", "bravo",
                              "foxtrot"}),
    ({"protected": "true"}, set()),
])
def test_filters(demo, batch, params, expected):
    tag, _ = batch
    response = demo.list(tag=tag, **params)
    assert response.status_code == 200, response.text
    assert {i["name"] for i in response.json()["images"]} == expected


def test_owner_and_several_tags(demo, batch, stack):
    tag, images = batch
    owner = images[0]["owner"]
    assert len(demo.list(tag=tag, owner=owner).json()["images"]) == 7
    assert demo.list(tag=tag, owner="someone-else").json()["images"] == []
    extra = "extra-" + uuid.uuid4().hex[:6]
    assert demo.request("PUT", f"/v2/images/{images[1]['id']}/tags/{extra}").status_code == 204
    both = demo.request("GET", f"/v2/images?tag={tag}&tag={extra}").json()["images"]
    assert [i["name"] for i in both] == ["alpha"]


def test_hidden_images_only_on_request(demo):
    tag = "hidden-" + uuid.uuid4().hex[:6]
    visible = demo.new(tags=[tag])
    hidden = demo.new(tags=[tag], os_hidden=True)
    assert [i["id"] for i in demo.list(tag=tag).json()["images"]] == [visible["id"]]
    assert [i["id"] for i in demo.list(tag=tag, os_hidden="true").json()["images"]] == \
        [hidden["id"]]


def test_created_and_updated_at_with_operators(demo):
    tag = "time-" + uuid.uuid4().hex[:6]
    old = demo.new(tags=[tag], name="old")
    time.sleep(1.1)
    middle = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    time.sleep(1.1)
    new = demo.new(tags=[tag], name="new")
    def names(**p):
        return {i["name"] for i in demo.list(tag=tag, **p).json()["images"]}

    assert names(created_at=f"gt:{middle}") == {"new"}
    assert names(created_at=f"gte:{new['created_at']}") == {"new"}
    assert names(created_at=f"lt:{new['created_at']}") == {"old"}
    assert names(created_at=f"lte:{middle}") == {"old"}
    assert names(created_at=f"neq:{middle}") == {"old", "new"}
    demo.patch(old["id"], [{"op": "replace", "path": "/name", "value": "old"}])
    assert "old" in names(updated_at=f"gt:{middle}")
    bad = demo.list(created_at="yesterday")
    assert bad.status_code == 400 and "ISO 8601" in bad.json()["message"]


@pytest.mark.parametrize("params, words", [
    ({"sort_key": "colour"}, "Invalid sort key"),
    ({"sort_dir": "sideways"}, "sort direction"),
    ({"sort": "name:asc", "sort_key": "name"}, "cannot be combined"),
    ({"limit": "many"}, "limit"),
    ({"limit": "-1"}, "limit"),
    ({"size_min": "big"}, "non-numeric"),
    ({"protected": "perhaps"}, "'perhaps'"),  # the word, with the accepted ones
    ({"marker": str(uuid.uuid4())}, "marker"),
])
def test_bad_list_parameters_are_400(demo, params, words):
    response = demo.list(**params)
    assert response.status_code == 400, response.text
    assert words in response.json()["message"]


def test_killed_images_are_left_out_unless_asked_for(demo, tmp_path):
    from tests.support.images import qcow2_bytes
    tag = "killed-" + uuid.uuid4().hex[:6]
    image = demo.new(tags=[tag], disk_format="raw")
    assert demo.upload(image["id"], qcow2_bytes(tmp_path)).status_code == 400
    assert demo.list(tag=tag).json()["images"] == []
    assert [i["status"] for i in demo.list(tag=tag, status="killed").json()["images"]] == \
        ["killed"]
