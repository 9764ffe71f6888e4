"""Image data over real HTTP: upload with hashes and virtual size, download
with Content-MD5 and Range, and every way an upload can fail, each leaving
no data behind and the image in the status Glance v2 would give it."""
from __future__ import annotations

import hashlib

import pytest

from tests.support.images import (
    Images,
    qcow2_bytes,
    raw_bytes,
    send_truncated_upload,
    stored_files,
    wait_for,
)


@pytest.fixture(scope="module")
def demo(stack) -> Images:
    return Images(stack, stack.token("demo"))


def test_raw_upload_computes_hashes_and_sizes(stack, demo):
    data = raw_bytes(3 * 1024 * 1024 + 17)  # not a multiple of any chunk size
    image = demo.new(disk_format="raw")
    response = demo.upload(image["id"], data)
    assert response.status_code == 204 and response.content == b""
    active = demo.show(image["id"])
    assert active["status"] == "active"
    assert active["checksum"] == hashlib.md5(data).hexdigest()
    assert active["os_hash_algo"] == "sha512"
    assert active["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert active["size"] == active["virtual_size"] == len(data)
    assert stored_files(stack, image["id"]) == [image["id"]]


def test_qcow2_upload_reads_the_virtual_size_from_the_header(demo, tmp_path):
    data = qcow2_bytes(tmp_path, "64M")
    image = demo.uploaded(data, disk_format="qcow2")
    assert image["status"] == "active"
    assert image["size"] == len(data)
    assert image["virtual_size"] == 64 * 1024 * 1024


def test_download_streams_the_data_back_with_its_md5(demo):
    data = raw_bytes(2 * 1024 * 1024 + 5)
    image = demo.uploaded(data)
    response = demo.download(image["id"])
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["Content-MD5"] == hashlib.md5(data).hexdigest()
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert int(response.headers["Content-Length"]) == len(data)


@pytest.mark.parametrize("header, start, stop", [
    ("bytes=10-19", 10, 20),
    ("bytes=1000000-", 1000000, None),
    ("bytes=-7", -7, None),
    ("bytes=0-0", 0, 1),
    ("bytes=5-99999999", 5, None),
])
def test_range_requests(demo, header, start, stop):
    data = raw_bytes(1024 * 1024 + 100)
    image = demo.uploaded(data)
    response = demo.download(image["id"], Range=header)
    assert response.status_code == 206, response.text
    expected = data[start:stop]
    assert response.content == expected
    first = start % len(data)
    assert response.headers["Content-Range"] == \
        f"bytes {first}-{first + len(expected) - 1}/{len(data)}"
    assert "Content-MD5" not in response.headers  # it would describe the whole image


def test_a_range_past_the_end_is_416(demo):
    image = demo.uploaded(raw_bytes(100))
    response = demo.download(image["id"], Range="bytes=100-200")
    assert response.status_code == 416
    assert response.headers["Content-Range"] == "bytes */100"
    assert demo.download(image["id"], Range="bytes=oops").content == raw_bytes(100)


def test_no_data_yet_is_204(demo):
    image = demo.new()
    response = demo.download(image["id"])
    assert response.status_code == 204 and response.content == b""


def test_upload_to_an_active_image_is_409_naming_its_status(stack, demo):
    data = raw_bytes(5000)
    image = demo.uploaded(data)
    response = demo.upload(image["id"], raw_bytes(10))
    assert response.status_code == 409
    assert "active" in response.json()["message"]
    assert demo.download(image["id"]).content == data
    assert stored_files(stack, image["id"]) == [image["id"]]


def test_upload_needs_octet_stream_and_both_formats(demo):
    image = demo.new()
    wrong = demo.upload(image["id"], b"x", content_type="application/json")
    assert wrong.status_code == 415
    bare = demo.new(disk_format=None, container_format=None)
    response = demo.upload(bare["id"], raw_bytes(10))
    assert response.status_code == 400
    assert "disk_format" in response.json()["message"]
    assert demo.show(bare["id"])["status"] == "queued"


def test_an_upload_cut_off_half_way_leaves_no_data_and_a_queued_image(stack, demo):
    image = demo.new()
    send_truncated_upload(stack, demo.token, image["id"], claimed=8 * 1024 * 1024,
                          sent=raw_bytes(3 * 1024 * 1024 + 11))
    queued = wait_for(lambda: demo.show(image["id"])["status"] == "queued"
                      and not stored_files(stack, image["id"]))
    assert queued, demo.show(image["id"])
    again = demo.show(image["id"])
    assert again["size"] is None and again["checksum"] is None
    failed = [e for e in demo.events(image["id"]) if e["event_type"] == "image.upload.failed"]
    assert failed and "interrupted" in failed[-1]["payload"]["reason"]
    # Nothing is wrong with the record: the same image takes a full upload.
    data = raw_bytes(8 * 1024 * 1024)
    assert demo.upload(image["id"], data).status_code == 204
    assert demo.show(image["id"])["checksum"] == hashlib.md5(data).hexdigest()


def test_content_that_is_not_the_declared_format_kills_the_image(stack, demo, tmp_path):
    image = demo.new(disk_format="raw")
    response = demo.upload(image["id"], qcow2_bytes(tmp_path, "16M"))
    assert response.status_code == 400
    message = response.json()["message"]
    assert "killed" in message and "qcow2" in message
    killed = demo.show(image["id"])
    assert killed["status"] == "killed"
    assert killed["checksum"] is None and killed["size"] is None
    assert stored_files(stack, image["id"]) == []
    assert demo.download(image["id"]).status_code == 204   # can never be served
    again = demo.upload(image["id"], raw_bytes(10))
    assert again.status_code == 409 and "killed" in again.json()["message"]
    assert demo.delete(image["id"]).status_code == 204


def test_a_qcow2_with_a_backing_file_is_refused(stack, demo, tmp_path):
    base = tmp_path / "base.raw"
    base.write_bytes(b"\0" * 65536)
    data = qcow2_bytes(tmp_path, "16M", "-b", str(base), "-F", "raw")
    image = demo.new(disk_format="qcow2")
    response = demo.upload(image["id"], data)
    assert response.status_code == 400
    assert "backing" in response.json()["message"]
    assert demo.show(image["id"])["status"] == "killed"
    assert stored_files(stack, image["id"]) == []


def test_upload_of_an_empty_body_makes_an_empty_active_image(demo):
    image = demo.uploaded(b"")
    assert image["status"] == "active" and image["size"] == 0
    assert image["checksum"] == hashlib.md5(b"").hexdigest()


def test_chunked_upload_without_content_length(demo):
    data = raw_bytes(1024 * 1024 + 3)
    image = demo.new()
    chunks = (data[i:i + 100000] for i in range(0, len(data), 100000))
    response = demo.request("PUT", f"/v2/images/{image['id']}/file", data=chunks,
                            headers={"Content-Type": "application/octet-stream"})
    assert response.status_code == 204, response.text
    assert demo.show(image["id"])["os_hash_value"] == hashlib.sha512(data).hexdigest()


def test_deleting_an_image_removes_its_data(stack, demo):
    image = demo.uploaded(raw_bytes(1000))
    assert stored_files(stack, image["id"]) == [image["id"]]
    assert demo.delete(image["id"]).status_code == 204
    assert stored_files(stack, image["id"]) == []
