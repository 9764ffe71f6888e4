"""Quotas, the size cap and image locations (the http store), on a stack of
this module's own: a 2 MiB size cap, 3 MiB and 8 images per project, and
show_multiple_locations / show_image_direct_url turned on."""
from __future__ import annotations

import hashlib

import pytest

from tests.support.images import (
    Images,
    configured_stack,
    raw_bytes,
    second_project_user,
    serve_directory,
    stored_files,
    wait_for,
)

MIB = 1024 * 1024
CONFIG = f"""[image]
image_size_cap = {2 * MIB}
show_multiple_locations = true
show_image_direct_url = true

[quota]
image_count_total = 8
image_size_total = {3 * MIB}
"""


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory, stack):
    own = configured_stack(tmp_path_factory, stack, 70, CONFIG)
    yield own
    own.down()


@pytest.fixture(scope="module")
def demo(own_stack) -> Images:
    """The image API as the demo user sees it on this module's stack."""
    return Images(own_stack, own_stack.token("demo"))


@pytest.fixture(scope="module")
def admin(own_stack) -> Images:
    """The image API as the admin user sees it on this module's stack."""
    return Images(own_stack, own_stack.token("admin"))


def test_an_upload_over_the_size_cap_is_413_and_leaves_the_image_queued(own_stack, demo):
    image = demo.new()
    response = demo.upload(image["id"], raw_bytes(2 * MIB + 1))
    assert response.status_code == 413
    assert "image_size_cap" in response.json()["message"]
    assert demo.show(image["id"])["status"] == "queued"
    assert stored_files(own_stack, image["id"]) == []


def test_a_chunked_upload_is_stopped_when_it_passes_the_cap(own_stack, demo):
    image = demo.new()
    data = raw_bytes(3 * MIB)
    chunks = (data[i:i + 256 * 1024] for i in range(0, len(data), 256 * 1024))
    response = demo.request("PUT", f"/v2/images/{image['id']}/file", data=chunks,
                            headers={"Content-Type": "application/octet-stream"})
    assert response.status_code == 413, response.text
    assert wait_for(lambda: demo.show(image["id"])["status"] == "queued")
    assert stored_files(own_stack, image["id"]) == []
    failed = demo.events(image["id"], type="image.upload.failed")
    assert failed and failed[0]["payload"]["status"] == "queued"
    assert demo.upload(image["id"], raw_bytes(MIB)).status_code == 204  # still usable


def test_the_project_storage_quota(own_stack):
    token, _ = second_project_user(own_stack, "quota-size")
    client = Images(own_stack, token)
    first = client.uploaded(raw_bytes(MIB + MIB // 2))
    client.uploaded(raw_bytes(MIB + MIB // 2))           # exactly at the quota
    third = client.new()
    refused = client.upload(third["id"], raw_bytes(10))
    assert refused.status_code == 413
    assert "image_size_total" in refused.json()["message"]
    assert client.show(third["id"])["status"] == "queued"
    assert client.delete(first["id"]).status_code == 204
    assert client.upload(third["id"], raw_bytes(10)).status_code == 204


def test_the_project_image_count_quota(own_stack):
    token, _ = second_project_user(own_stack, "quota-count")
    client = Images(own_stack, token)
    made = [client.new()["id"] for _ in range(8)]
    refused = client.create(name="ninth", disk_format="raw", container_format="bare")
    assert refused.status_code == 413
    assert "image_count_total" in refused.json()["message"]
    assert client.delete(made[0]).status_code == 204
    assert client.create(name="ninth").status_code == 201


@pytest.fixture(scope="module")
def web_server(tmp_path_factory):
    """A web server on 127.0.0.1 serving one file: where http locations point."""
    root = tmp_path_factory.mktemp("web")
    (root / "disk.raw").write_bytes(raw_bytes(300000))
    with serve_directory(root) as base:
        yield base


def test_an_http_location_makes_the_image_active_without_an_upload(demo, admin, web_server,
                                                                   own_stack):
    url = f"{web_server}/disk.raw"
    image = demo.new(disk_format="raw")
    response = demo.patch(image["id"], [{"op": "add", "path": "/locations/-",
                                         "value": {"url": url, "metadata": {}}}])
    assert response.status_code == 200, response.text
    active = response.json()
    assert active["status"] == "active" and active["size"] == 300000
    assert active["locations"] == [{"url": url, "metadata": {}}]
    assert active["direct_url"] == url
    types = [e["event_type"] for e in demo.events(image["id"])]
    assert "image.prepare" not in types and "image.activate" in types  # never saving
    assert stored_files(own_stack, image["id"]) == []                # nothing uploaded
    download = demo.download(image["id"])
    assert download.status_code == 200 and download.content == raw_bytes(300000)
    part = demo.download(image["id"], Range="bytes=1000-1999")
    assert part.status_code == 206 and part.content == raw_bytes(300000)[1000:2000]
    assert demo.upload(image["id"], b"x").status_code == 409
    # Removing a location is admin-only (Glance's default); the last one
    # takes the image back to queued.
    remove = [{"op": "remove", "path": "/locations/0"}]
    assert demo.patch(image["id"], remove).status_code == 403
    queued = admin.patch(image["id"], remove)
    assert queued.status_code == 200 and queued.json()["status"] == "queued"
    assert queued.json()["locations"] == [] and queued.json()["size"] is None


@pytest.mark.parametrize("url, words", [
    ("file:///etc/passwd", "file://"),
    ("http://127.0.0.1:1/nothing", "Cannot reach"),
    ("gopher://example/x", "No store"),
])
def test_locations_that_are_refused(demo, url, words):
    image = demo.new()
    response = demo.patch(image["id"], [{"op": "add", "path": "/locations/-",
                                         "value": {"url": url, "metadata": {}}}])
    assert response.status_code == 400, response.text
    assert words in response.json()["message"]
    assert demo.show(image["id"])["status"] == "queued"


def test_uploaded_images_show_their_file_location(demo):
    data = raw_bytes(1000)
    image = demo.uploaded(data)
    assert image["direct_url"].startswith("file://")
    assert image["locations"][0]["url"] == image["direct_url"]
    assert image["checksum"] == hashlib.md5(data).hexdigest()
