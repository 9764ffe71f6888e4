"""The new location APIs (Image API 2.17): POST and GET
/v2/images/{id}/locations, with the data served by a web server of the test
on 127.0.0.1 (the http store)."""
from __future__ import annotations

import hashlib

import pytest

from tests.support.images import (
    Images,
    raw_bytes,
    second_project_user,
    serve_directory,
    stored_files,
    wait_for,
)

DATA = raw_bytes(300000)
SHA512 = hashlib.sha512(DATA).hexdigest()
MD5 = hashlib.md5(DATA).hexdigest()


@pytest.fixture(scope="module")
def web_server(tmp_path_factory):
    """A web server serving one image file: where the locations point."""
    root = tmp_path_factory.mktemp("web")
    (root / "disk.raw").write_bytes(DATA)
    with serve_directory(root) as base:
        yield base + "/disk.raw"


@pytest.fixture(scope="module")
def demo(stack) -> Images:
    return Images(stack, stack.token("demo"))


@pytest.fixture(scope="module")
def service(stack) -> Images:
    """computed's own service user (project service, roles service and admin)."""
    return Images(stack, stack.token("computed", "service"))


def add_location(client: Images, image_id: str, url: str, validation: dict | None = None):
    body = {"url": url}
    if validation is not None:
        body["validation_data"] = validation
    return client.request("POST", f"/v2/images/{image_id}/locations", json=body)


def list_locations(client: Images, image_id: str, **headers):
    return client.request("GET", f"/v2/images/{image_id}/locations", headers=headers)


def test_a_service_adds_a_verified_location_and_the_image_becomes_active(
        stack, demo, service, web_server):
    image = demo.new(disk_format="raw")
    response = add_location(service, image["id"], web_server,
                            {"os_hash_algo": "sha512", "os_hash_value": SHA512})
    assert response.status_code == 202, response.text
    active = demo.show(image["id"])
    assert active["status"] == "active"
    assert active["size"] == len(DATA) and active["virtual_size"] == len(DATA)
    assert (active["os_hash_algo"], active["os_hash_value"]) == ("sha512", SHA512)
    assert active["checksum"] == MD5
    assert stored_files(stack, image["id"]) == []          # nothing was copied
    download = demo.download(image["id"])
    assert download.status_code == 200 and download.content == DATA
    listed = list_locations(service, image["id"])
    assert listed.status_code == 200, listed.text
    assert listed.json() == [{"url": web_server, "metadata": {"store": "http"}}]
    types = [event["event_type"] for event in demo.events(image["id"])]
    assert "image.update" in types and "image.activate" in types


def test_without_validation_data_the_hashes_are_computed_after_activation(
        demo, service, web_server):
    image = demo.new(disk_format="qcow2")
    response = add_location(service, image["id"], web_server)
    assert response.status_code == 202, response.text
    active = demo.show(image["id"])
    assert active["status"] == "active" and active["size"] == len(DATA)
    assert active["virtual_size"] is None                  # not known for qcow2
    hashed = wait_for(lambda: demo.show(image["id"])["os_hash_value"])
    assert hashed == SHA512
    again = demo.show(image["id"])
    assert again["os_hash_algo"] == "sha512" and again["checksum"] == MD5


def test_a_validation_data_mismatch_is_refused_and_nothing_is_kept(demo, service,
                                                                   web_server):
    image = demo.new()
    wrong = hashlib.sha512(b"other data").hexdigest()
    response = add_location(service, image["id"], web_server,
                            {"os_hash_algo": "sha512", "os_hash_value": wrong})
    assert response.status_code == 400
    assert "does not match" in response.json()["message"]
    queued = demo.show(image["id"])
    assert queued["status"] == "queued" and queued["size"] is None
    assert queued["os_hash_value"] is None
    assert list_locations(service, image["id"]).json() == []
    # The image is as it was: the right data can still be added.
    sha256 = hashlib.sha256(DATA).hexdigest()
    assert add_location(service, image["id"], web_server,
                        {"os_hash_algo": "sha256", "os_hash_value": sha256}).status_code == 202
    assert demo.show(image["id"])["os_hash_value"] == sha256


@pytest.mark.parametrize("validation, words", [
    ({"os_hash_value": SHA512}, "exactly os_hash_algo and os_hash_value"),
    ({"os_hash_algo": "sha123", "os_hash_value": SHA512}, "not supported"),
    ({"os_hash_algo": "sha512", "os_hash_value": "abc"}, "128 hexadecimal digits"),
    ({"os_hash_algo": "sha256", "os_hash_value": SHA512}, "64 hexadecimal digits"),
])
def test_malformed_validation_data_is_400(demo, service, web_server, validation, words):
    image = demo.new()
    response = add_location(service, image["id"], web_server, validation)
    assert response.status_code == 400
    assert words in response.json()["message"]
    assert demo.show(image["id"])["status"] == "queued"


def test_a_location_is_only_added_to_a_queued_image(demo, service, web_server):
    uploaded = demo.uploaded(raw_bytes(1000))
    response = add_location(service, uploaded["id"], web_server)
    assert response.status_code == 409
    assert "active" in response.json()["message"]
    assert demo.show(uploaded["id"])["size"] == 1000
    assert demo.download(uploaded["id"]).content == raw_bytes(1000)
    located = demo.new()
    assert add_location(service, located["id"], web_server).status_code == 202
    second = add_location(service, located["id"], web_server)
    assert second.status_code == 409 and "active" in second.json()["message"]


@pytest.mark.parametrize("url, words", [
    ("ftp://127.0.0.1/disk.raw", "No store handles"),
    ("file:///etc/passwd", "file://"),
    ("http://127.0.0.1:1/disk.raw", "Cannot reach"),
])
def test_a_url_no_store_will_serve_is_400(demo, service, url, words):
    image = demo.new()
    response = add_location(service, image["id"], url)
    assert response.status_code == 400
    assert words in response.json()["message"]
    assert demo.show(image["id"])["status"] == "queued"


def test_a_missing_page_is_400(demo, service, web_server):
    image = demo.new()
    response = add_location(service, image["id"], web_server + ".missing")
    assert response.status_code == 400 and "404" in response.json()["message"]


def test_the_owning_project_may_add_a_location_other_projects_may_not(stack, demo,
                                                                      web_server):
    token, _ = second_project_user(stack, "locations-other")
    other = Images(stack, token)
    image = demo.new()
    assert add_location(other, image["id"], web_server).status_code == 404
    assert add_location(demo, image["id"], web_server).status_code == 202
    assert demo.show(image["id"])["status"] == "active"


def test_only_services_list_locations(stack, demo, service, web_server):
    image = demo.new()
    assert add_location(demo, image["id"], web_server).status_code == 202
    refused = list_locations(demo, image["id"])
    assert refused.status_code == 403
    assert "fetch_image_location" in refused.json()["message"]
    assert list_locations(service, image["id"]).status_code == 200
    # The user's token with a service's token beside it, as Nova calls.
    with_service = list_locations(demo, image["id"],
                                  **{"X-Service-Token": stack.token("computed", "service")})
    assert with_service.status_code == 200
    assert [loc["url"] for loc in with_service.json()] == [web_server]
    assert list_locations(service, "0" * 8 + "-0000-0000-0000-" + "0" * 12).status_code == 404
