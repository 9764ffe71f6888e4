"""The image cache (imaged/cache/, api/cache.py) on a stack of this module's
own: images in the http store, served by a loopback web server started
here, are copied into the cache at their first download and served from
it afterwards; the /v2/cache API lists, queues (the prefetcher copies),
deletes, clears, cleans and prunes, for admins only.

That a download came from the cache is proven by changing or removing the
file on the web server first: the download still gives the original data."""
from __future__ import annotations

import hashlib
import os
import time
import uuid
from pathlib import Path

import pytest
import requests

from tests.support.images import (
    Images,
    QuietFiles,
    configured_stack,
    raw_bytes,
    wait_for,
    web_server_fixture,
)

SIZE = 300_000
MAX_SIZE = 700_000   # two images fit, three do not
CONFIG = f"""[image]
show_multiple_locations = true

[image_cache]
image_cache_max_size = {MAX_SIZE}
image_cache_stall_time = 3600
cache_prefetcher_interval = 1
"""


class _Handler(QuietFiles):
    """Files of a directory; /truncated/<name> promises the file's size but
    sends only half of it and closes (a store that breaks off)."""

    def do_GET(self):  # noqa: N802
        if self.path.startswith("/truncated/"):
            data = (Path(self.directory) / self.path.split("/", 2)[2]).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[:len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        super().do_GET()

    def do_HEAD(self):  # noqa: N802
        if self.path.startswith("/truncated/"):
            self.path = "/" + self.path.split("/", 2)[2]
        super().do_HEAD()


web = web_server_fixture(_Handler)


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory, stack):
    own = configured_stack(tmp_path_factory, stack, 100, CONFIG)
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


def cache_dir(stack):
    return stack.state_dir / "lib" / "image-cache"


def data_of(seed: str, size: int = SIZE) -> bytes:
    """Raw data of `size` bytes that differs with the seed."""
    return (seed.encode() + raw_bytes(size))[:size]


def web_image(demo: Images, web, data: bytes, prefix: str = "") -> tuple[dict, str]:
    """An active image of demo whose data is a new file on the web server
    (with its md5 as validation_data). Returns (image, file name)."""
    base, folder = web
    name = f"{uuid.uuid4().hex}.raw"
    (folder / name).write_bytes(data)
    image = demo.new()
    response = demo.patch(image["id"], [{"op": "add", "path": "/locations/-", "value": {
        "url": f"{base}/{prefix}{name}", "metadata": {},
        "validation_data": {"checksum": hashlib.md5(data).hexdigest()}}}])
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "active"
    return response.json(), name


def cache_state(admin: Images) -> dict:
    response = admin.request("GET", "/v2/cache")
    assert response.status_code == 200, response.text
    return response.json()


def cached(admin: Images) -> dict[str, dict]:
    return {entry["image_id"]: entry for entry in cache_state(admin)["cached_images"]}


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def test_the_first_download_fills_the_cache_and_the_next_is_served_from_it(
        own_stack, demo, admin, web):
    data = data_of("first")
    image, name = web_image(demo, web, data)
    assert image["id"] not in cached(admin)
    first = demo.download(image["id"])
    assert first.status_code == 200 and md5(first.content) == md5(data)
    entry = cached(admin)[image["id"]]
    assert entry["size"] == SIZE and entry["hits"] == 0
    assert entry["last_modified"] <= entry["last_accessed"] <= time.time() + 1
    assert (cache_dir(own_stack) / "data" / image["id"]).read_bytes() == data
    assert list((cache_dir(own_stack) / "incomplete").iterdir()) == []
    # The web server now has other bytes: the cache still has the image's.
    (web[1] / name).write_bytes(data_of("changed"))
    second = demo.download(image["id"])
    assert second.status_code == 200 and md5(second.content) == md5(data)
    assert second.headers["Content-MD5"] == md5(data)
    assert cached(admin)[image["id"]]["hits"] == 1


def test_a_range_of_a_cached_image_comes_from_the_cache(demo, admin, web):
    data = data_of("range")
    image, name = web_image(demo, web, data)
    assert demo.download(image["id"]).status_code == 200
    (web[1] / name).unlink()                      # the web server has nothing any more
    part = demo.download(image["id"], Range="bytes=1000-1999")
    assert part.status_code == 206 and part.content == data[1000:2000]
    assert part.headers["Content-Range"] == f"bytes 1000-1999/{SIZE}"
    tail = demo.download(image["id"], Range="bytes=-10")
    assert tail.status_code == 206 and tail.content == data[-10:]
    assert cached(admin)[image["id"]]["hits"] == 2


def test_a_range_of_an_image_not_cached_goes_to_the_store_and_caches_nothing(demo, admin,
                                                                            web):
    data = data_of("range-only")
    image, _ = web_image(demo, web, data)
    part = demo.download(image["id"], Range="bytes=10-19")
    assert part.status_code == 206 and part.content == data[10:20]
    assert image["id"] not in cached(admin)


def test_after_delete_from_the_cache_the_download_goes_to_the_store(own_stack, demo, admin,
                                                                    web):
    data = data_of("evicted")
    image, name = web_image(demo, web, data)
    assert demo.download(image["id"]).status_code == 200
    assert image["id"] in cached(admin)
    assert admin.request("DELETE", f"/v2/cache/{image['id']}").status_code == 204
    assert image["id"] not in cached(admin)
    assert not (cache_dir(own_stack) / "data" / image["id"]).exists()
    # Other bytes on the web server: the download shows them (it went
    # there), and they are not cached (their md5 is not the image's).
    other = data_of("other")
    (web[1] / name).write_bytes(other)
    again = demo.download(image["id"])
    assert again.status_code == 200 and again.content == other
    assert image["id"] not in cached(admin)
    assert list((cache_dir(own_stack) / "incomplete").iterdir()) == []


def test_a_download_cut_off_by_the_store_leaves_no_cache_entry(own_stack, demo, admin, web):
    data = data_of("truncated")
    image, _ = web_image(demo, web, data, prefix="truncated/")
    with pytest.raises(requests.RequestException):
        demo.download(image["id"]).raise_for_status()
    assert image["id"] not in cached(admin)
    assert wait_for(lambda: list((cache_dir(own_stack) / "incomplete").iterdir()) == [])


def test_a_queued_image_is_cached_by_the_prefetcher(demo, admin, web):
    data = data_of("prefetched")
    image, name = web_image(demo, web, data)
    response = admin.request("PUT", f"/v2/cache/{image['id']}")
    assert response.status_code == 202, response.text
    state = cache_state(admin)
    assert image["id"] in state["queued_images"] or image["id"] in cached(admin)
    assert wait_for(lambda: image["id"] in cached(admin), timeout=30)
    assert image["id"] not in cache_state(admin)["queued_images"]
    assert cached(admin)[image["id"]]["hits"] == 0     # no download made it
    (web[1] / name).unlink()
    download = demo.download(image["id"])
    assert download.status_code == 200 and md5(download.content) == md5(data)


def test_a_file_store_image_is_cached_when_asked_for_and_served_from_there(demo, admin):
    """Glance caches any image queued, wherever it lives (a download alone
    copies only remote images: a local file would just use the disk twice)."""
    data = raw_bytes(1000)
    uploaded = demo.uploaded(data)                          # the local file store
    assert demo.download(uploaded["id"]).content == data
    assert uploaded["id"] not in cached(admin)              # no copy on the way
    assert admin.request("PUT", f"/v2/cache/{uploaded['id']}").status_code == 202
    assert wait_for(lambda: uploaded["id"] in cached(admin), timeout=30)
    assert demo.download(uploaded["id"]).content == data
    assert cached(admin)[uploaded["id"]]["hits"] == 1


def test_what_cannot_be_queued(demo, admin, web):
    queued = demo.new()
    response = admin.request("PUT", f"/v2/cache/{queued['id']}")
    assert response.status_code == 400 and "active" in response.json()["message"]
    assert admin.request("PUT", f"/v2/cache/{uuid.uuid4()}").status_code == 404
    assert admin.request("DELETE", f"/v2/cache/{uuid.uuid4()}").status_code == 404


def test_clear_empties_the_cache_the_queue_or_both(demo, admin, web):
    image, _ = web_image(demo, web, data_of("clear"))
    assert demo.download(image["id"]).status_code == 200
    bad = admin.request("DELETE", "/v2/cache", headers={"x-image-cache-clear-target": "all"})
    assert bad.status_code == 400
    assert admin.request("DELETE", "/v2/cache", headers={
        "x-image-cache-clear-target": "queue"}).status_code == 204
    assert image["id"] in cached(admin)
    assert admin.request("DELETE", "/v2/cache", headers={
        "x-image-cache-clear-target": "cache"}).status_code == 204
    assert cached(admin) == {}
    assert admin.request("DELETE", "/v2/cache").status_code == 204
    assert cache_state(admin) == {"cached_images": [], "queued_images": []}


def test_prune_removes_the_least_recently_used_until_under_the_max_size(demo, admin, web):
    assert admin.request("DELETE", "/v2/cache").status_code == 204
    first, second, third = (web_image(demo, web, data_of(seed))[0]["id"]
                            for seed in ("lru-1", "lru-2", "lru-3"))
    for image_id in (first, second, third, first):       # second is now the oldest
        assert demo.download(image_id).status_code == 200
    assert set(cached(admin)) == {first, second, third}  # a download may go over the max
    response = admin.request("POST", "/v2/cache/prune")
    assert response.status_code == 200, response.text
    assert response.json() == {"total_files_pruned": 1, "total_bytes_pruned": SIZE}
    assert set(cached(admin)) == {first, third}
    again = admin.request("POST", "/v2/cache/prune")
    assert again.json() == {"total_files_pruned": 0, "total_bytes_pruned": 0}


def test_clean_removes_partial_copies_older_than_the_stall_time(own_stack, admin):
    incomplete = cache_dir(own_stack) / "incomplete"
    stale, fresh = incomplete / str(uuid.uuid4()), incomplete / str(uuid.uuid4())
    stale.write_bytes(b"x" * 100)
    fresh.write_bytes(b"y" * 10)
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))
    response = admin.request("POST", "/v2/cache/clean")
    assert response.status_code == 200, response.text
    assert response.json() == {"total_files_cleaned": 1, "total_bytes_cleaned": 100}
    assert not stale.exists() and fresh.exists()
    fresh.unlink()


@pytest.mark.parametrize("method, path", [
    ("GET", "/v2/cache"), ("PUT", "/v2/cache/{id}"), ("DELETE", "/v2/cache/{id}"),
    ("DELETE", "/v2/cache"), ("POST", "/v2/cache/clean"), ("POST", "/v2/cache/prune"),
])
def test_every_cache_call_is_for_admins(demo, admin, web, method, path):
    image, _ = web_image(demo, web, data_of("policy", 1000))
    assert demo.download(image["id"]).status_code == 200
    response = demo.request(method, path.format(id=image["id"]))
    assert response.status_code == 403, response.text
    assert image["id"] in cached(admin)                  # nothing was changed


def test_a_deactivated_image_is_not_served_to_its_owner_from_the_cache(demo, admin, web):
    data = data_of("deactivated")
    image, name = web_image(demo, web, data)
    assert demo.download(image["id"]).status_code == 200
    assert image["id"] in cached(admin)
    (web[1] / name).unlink()
    assert admin.action(image["id"], "deactivate").status_code == 204
    refused = demo.download(image["id"])
    assert refused.status_code == 403 and "deactivated" in refused.json()["message"]
    served = admin.download(image["id"])                 # admins still may, from the cache
    assert served.status_code == 200 and md5(served.content) == md5(data)
    assert admin.action(image["id"], "reactivate").status_code == 204
    assert md5(demo.download(image["id"]).content) == md5(data)


def test_a_deleted_image_leaves_the_cache(own_stack, demo, admin, web):
    image, _ = web_image(demo, web, data_of("deleted"))
    assert demo.download(image["id"]).status_code == 200
    assert image["id"] in cached(admin)
    assert demo.delete(image["id"]).status_code == 204
    assert demo.download(image["id"]).status_code == 404
    assert admin.download(image["id"]).status_code == 404
    assert image["id"] not in cached(admin)
    assert not (cache_dir(own_stack) / "data" / image["id"]).exists()


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_another_projects_image_is_404_before_the_policy(demo, admin, method):
    """Glance looks the image up as the caller before asking the admin-only
    policy: a project that cannot see the image learns nothing, not even
    that it exists (the owner's members get the 403 above)."""
    image = admin.uploaded(data_of("hidden", 1000), visibility="private")
    response = demo.request(method, f"/v2/cache/{image['id']}")
    assert response.status_code == 404, response.text
    assert admin.request("DELETE", f"/v2/images/{image['id']}").status_code == 204
