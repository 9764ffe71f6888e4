"""Interoperable import on a real stack with the real qemu-img: glance-direct
and web-download with conversion raw -> qcow2, the URI filter, the tasks
API, and every hostile image of the corpus refused by import, each leaving
the image queued with os_glance_failed_import and an empty staging area.

The module runs a stack of its own whose [import] allows the port of a
loopback HTTP server started here (web-download allows 80 and 443 only by
default, so that it cannot be used to scan ports)."""
from __future__ import annotations

import hashlib
import json
import socket
import subprocess

import pytest

from tests.support.images import (
    Images,
    QuietFiles,
    configured_stack,
    raw_bytes,
    second_project_user,
    stored_files,
    wait_for,
    web_server_fixture,
)
from tests.unit.image_corpus import bad_images

MIB = 1024 * 1024
DONE = ("active", "queued", "killed")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Handler(QuietFiles):
    """Files of a directory, and /redirect?<url> answering 302 to <url>."""

    def do_GET(self):  # noqa: N802
        if self.path.startswith("/redirect?"):
            self.send_response(302)
            self.send_header("Location", self.path.split("?", 1)[1])
            self.end_headers()
            return
        super().do_GET()


web = web_server_fixture(_Handler)


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory, stack, web):
    port = web[0].rsplit(":", 1)[1]
    own = configured_stack(tmp_path_factory, stack, 80,
                           f"[import]\nallowed_ports = 80,443,{port}\n")
    yield own
    own.down()


@pytest.fixture(scope="module")
def demo(own_stack) -> Images:
    """The image API as the demo user sees it on this module's stack."""
    return Images(own_stack, own_stack.token("demo"))


def staging(stack) -> list[str]:
    folder = stack.state_dir / "lib" / "imaged" / "staging"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def import_(demo: Images, image_id: str, method: str = "glance-direct", **extra):
    return demo.request("POST", f"/v2/images/{image_id}/import",
                        json={"method": {"name": method, **extra}})


def stage(demo: Images, image_id: str, data: bytes):
    return demo.request("PUT", f"/v2/images/{image_id}/stage", data=data,
                        headers={"Content-Type": "application/octet-stream"})


def finished(demo: Images, image_id: str, timeout: float = 60) -> dict:
    image = wait_for(lambda: (lambda i: i if i["status"] in DONE else None)(
        demo.show(image_id)), timeout=timeout)
    assert image, demo.show(image_id)
    return image


def image_tasks(demo: Images, image_id: str) -> list[dict]:
    response = demo.request("GET", f"/v2/images/{image_id}/tasks")
    assert response.status_code == 200, response.text
    return response.json()["tasks"]


def finished_task(demo: Images, image_id: str) -> dict:
    task = wait_for(lambda: next((t for t in image_tasks(demo, image_id)
                                  if t["status"] in ("success", "failure")), None))
    assert task, image_tasks(demo, image_id)
    return task


def assert_valid_qcow2(data: bytes, virtual_size: int, tmp_path, original: bytes) -> None:
    path = tmp_path / "downloaded.qcow2"
    path.write_bytes(data)
    info = json.loads(subprocess.run(
        ["qemu-img", "info", "-f", "qcow2", "--output=json", str(path)],
        check=True, capture_output=True, text=True).stdout)
    assert info["format"] == "qcow2" and info["virtual-size"] == virtual_size
    assert "backing-filename" not in info
    back = tmp_path / "back.raw"
    subprocess.run(["qemu-img", "convert", "-f", "qcow2", "-O", "raw", str(path), str(back)],
                   check=True, capture_output=True)
    assert back.read_bytes() == original


# -- discovery ------------------------------------------------------------------------------

def test_info_import_stores_and_the_create_header(demo):
    info = demo.request("GET", "/v2/info/import").json()
    assert info["import-methods"]["value"] == ["glance-direct", "web-download"]
    assert info["import-methods"]["type"] == "array"
    assert demo.request("GET", "/v2/info/stores").json() == {
        "stores": [{"id": "file", "default": "true"}]}
    created = demo.create(name="header", disk_format="raw", container_format="bare")
    assert created.headers["OpenStack-image-import-methods"] == "glance-direct,web-download"


# -- glance-direct ----------------------------------------------------------------------------

def test_deleting_a_staged_image_removes_its_staged_data_at_once(own_stack, demo):
    image = demo.new(disk_format="raw")
    assert stage(demo, image["id"], raw_bytes(MIB)).status_code == 204
    assert staging(own_stack) == [image["id"]]
    assert demo.delete(image["id"]).status_code == 204
    assert staging(own_stack) == []


def test_glance_direct_converts_raw_to_qcow2(own_stack, demo, tmp_path):
    data = raw_bytes(3 * MIB)
    image = demo.new(disk_format="raw")
    response = stage(demo, image["id"], data)
    assert response.status_code == 204, response.text
    assert demo.show(image["id"])["status"] == "uploading"
    assert staging(own_stack) == [image["id"]]
    # The two ways in cannot mix: PUT /file while uploading is 409.
    refused = demo.upload(image["id"], b"x" * 10)
    assert refused.status_code == 409 and "uploading" in refused.json()["message"]
    assert stage(demo, image["id"], data).status_code == 409  # staged already

    response = import_(demo, image["id"])
    assert response.status_code == 202, response.text
    task_id = response.json()["task_id"]
    active = finished(demo, image["id"])
    assert active["status"] == "active", active
    assert active["disk_format"] == "qcow2"
    assert active["virtual_size"] == len(data)
    assert active["os_glance_import_task"] == task_id
    assert active["os_glance_failed_import"] == ""
    downloaded = demo.download(image["id"]).content
    assert active["size"] == len(downloaded) != len(data)  # the qcow2, not the raw
    assert active["checksum"] == hashlib.md5(downloaded).hexdigest()
    assert active["os_hash_value"] == hashlib.sha512(downloaded).hexdigest()
    assert_valid_qcow2(downloaded, len(data), tmp_path, data)
    assert staging(own_stack) == []
    assert stored_files(own_stack, image["id"]) == [image["id"]]
    events = [e["event_type"] for e in demo.events(image["id"])]
    for expected in ("image.prepare", "image.upload", "image.import.start", "image.import",
                     "image.activate"):
        assert expected in events, events


def test_qcow2_is_stored_as_it_is(demo, tmp_path):
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(tmp_path / "d.qcow2"),
                    "16M"], check=True)
    data = (tmp_path / "d.qcow2").read_bytes()
    image = demo.new(disk_format="qcow2")
    assert stage(demo, image["id"], data).status_code == 204
    assert import_(demo, image["id"]).status_code == 202
    active = finished(demo, image["id"])
    assert active["status"] == "active" and active["disk_format"] == "qcow2"
    assert active["checksum"] == hashlib.md5(data).hexdigest()
    assert active["virtual_size"] == 16 * MIB


def test_import_needs_a_staged_image_and_a_known_method(demo):
    image = demo.new()
    response = import_(demo, image["id"])
    assert response.status_code == 409 and "stage" in response.json()["message"]
    assert import_(demo, image["id"], "no-such-method").status_code == 400
    copy = import_(demo, image["id"], "copy-image")
    assert copy.status_code == 403  # copy_image is admin-only
    admin = Images(demo.stack, demo.stack.token("admin"))
    copy = import_(admin, image["id"], "copy-image")
    assert copy.status_code == 400 and "more than one store" in copy.json()["message"]
    assert demo.request("POST", f"/v2/images/{image['id']}/import",
                        json={"method": "glance-direct"}).status_code == 400
    assert demo.show(image["id"])["status"] == "queued"
    assert image_tasks(demo, image["id"]) == []


def test_staging_an_active_image_is_409(demo):
    image = demo.uploaded(raw_bytes(1000))
    response = stage(demo, image["id"], raw_bytes(1000))
    assert response.status_code == 409 and "active" in response.json()["message"]


# -- web-download -----------------------------------------------------------------------------

def test_web_download_converts_raw_to_qcow2(own_stack, demo, web, tmp_path):
    base, folder = web
    data = raw_bytes(2 * MIB)
    (folder / "disk.raw").write_bytes(data)
    image = demo.new(disk_format="raw")
    response = import_(demo, image["id"], "web-download", uri=f"{base}/disk.raw")
    assert response.status_code == 202, response.text
    active = finished(demo, image["id"])
    assert active["status"] == "active", active
    assert active["disk_format"] == "qcow2" and active["virtual_size"] == len(data)
    assert_valid_qcow2(demo.download(image["id"]).content, len(data), tmp_path, data)
    task = finished_task(demo, image["id"])
    assert task["status"] == "success" and task["result"] == {"image_id": image["id"]}
    assert task["input"]["import_req"]["method"]["uri"] == f"{base}/disk.raw"
    assert staging(own_stack) == []


@pytest.mark.parametrize("uri, words", [
    ("http://127.0.0.1:{closed}/disk.raw", "port {closed} is not allowed"),
    ("http://127.0.0.1:22/disk.raw", "port 22 is not allowed"),
    ("ftp://127.0.0.1/disk.raw", "scheme 'ftp' is not allowed"),
    ("file:///etc/passwd", "scheme 'file' is not allowed"),
])
def test_web_download_refuses_urls_outside_the_filter(demo, uri, words):
    closed = free_port()
    image = demo.new()
    response = import_(demo, image["id"], "web-download", uri=uri.format(closed=closed))
    assert response.status_code == 400, response.text
    assert words.format(closed=closed) in response.json()["message"]
    assert demo.show(image["id"])["status"] == "queued"
    assert image_tasks(demo, image["id"]) == []


def test_a_redirect_to_a_forbidden_port_is_refused_too(own_stack, demo, web):
    base, _folder = web
    closed = free_port()
    image = demo.new()
    response = import_(demo, image["id"], "web-download",
                       uri=f"{base}/redirect?http://127.0.0.1:{closed}/x")
    assert response.status_code == 202
    failed = finished(demo, image["id"])
    assert failed["status"] == "queued" and failed["os_glance_failed_import"] == "file"
    assert f"port {closed} is not allowed" in finished_task(demo, image["id"])["message"]
    assert staging(own_stack) == []


def test_a_failed_download_leaves_nothing_behind(own_stack, demo, web):
    base, _folder = web
    image = demo.new()
    assert import_(demo, image["id"], "web-download",
                   uri=f"{base}/missing.raw").status_code == 202
    failed = finished(demo, image["id"])
    assert failed["status"] == "queued", failed
    assert failed["os_glance_failed_import"] == "file"
    assert failed["os_glance_importing_to_stores"] == ""
    assert failed["size"] is None and failed["checksum"] is None
    task = finished_task(demo, image["id"])
    assert task["status"] == "failure" and "404" in task["message"]
    assert staging(own_stack) == [] and stored_files(own_stack, image["id"]) == []
    assert any(e["event_type"] == "image.import.failed" for e in demo.events(image["id"]))
    # queued again: the same image can be imported once more.
    (_folder / "late.raw").write_bytes(raw_bytes(4096))
    assert import_(demo, image["id"], "web-download",
                   uri=f"{base}/late.raw").status_code == 202
    assert finished(demo, image["id"])["status"] == "active"


# -- the hostile corpus -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def corpus(tmp_path_factory, web):
    _base, folder = web
    images = bad_images(tmp_path_factory.mktemp("bad"))
    for bad in images:
        (folder / f"bad-{bad.name}").write_bytes(bad.path.read_bytes())
    return images


def test_every_bad_image_is_refused_by_web_download_import(own_stack, demo, web, corpus):
    base, _folder = web
    started = []
    for bad in corpus:
        response = demo.create(name=bad.name, disk_format=bad.disk_format,
                               container_format="bare")
        if response.status_code == 400:  # a disk_format imaged does not even accept
            assert bad.disk_format in response.json()["message"]
            continue
        image = response.json()
        answer = import_(demo, image["id"], "web-download", uri=f"{base}/bad-{bad.name}")
        assert answer.status_code == 202, (bad.name, answer.text)
        started.append((bad, image["id"]))
    assert len(started) >= len(corpus) - 1
    for bad, image_id in started:
        image = finished(demo, image_id)
        assert image["status"] == "queued", (bad.name, image)
        assert image["os_glance_failed_import"] == "file", bad.name
        task = finished_task(demo, image_id)
        assert task["status"] == "failure", bad.name
        assert bad.reason in task["message"], (bad.name, task["message"])
        assert stored_files(own_stack, image_id) == [], bad.name
    assert staging(own_stack) == []


def test_every_bad_image_is_refused_when_staged(own_stack, demo, corpus):
    for bad in corpus:
        response = demo.create(name=bad.name, disk_format=bad.disk_format,
                               container_format="bare")
        if response.status_code == 400:
            continue
        image = response.json()
        refused = stage(demo, image["id"], bad.path.read_bytes())
        assert refused.status_code == 400, (bad.name, refused.text)
        assert bad.reason in refused.json()["message"], (bad.name, refused.text)
        assert demo.show(image["id"])["status"] == "queued", bad.name
    assert staging(own_stack) == []


# -- tasks ------------------------------------------------------------------------------------

def test_tasks_list_and_show_and_other_projects_see_nothing(own_stack, demo):
    image = demo.new()
    assert stage(demo, image["id"], raw_bytes(MIB)).status_code == 204
    task_id = import_(demo, image["id"]).json()["task_id"]
    finished(demo, image["id"])
    # /v2/tasks is the admin's (Glance's tasks_api_access); the project reads
    # the tasks of its image at /v2/images/{id}/tasks.
    assert demo.request("GET", "/v2/tasks").status_code == 403
    assert demo.request("GET", f"/v2/tasks/{task_id}").status_code == 403
    admin = Images(own_stack, own_stack.token("admin"))
    listing = admin.request("GET", "/v2/tasks").json()
    assert task_id in [t["id"] for t in listing["tasks"]]
    summary = next(t for t in listing["tasks"] if t["id"] == task_id)
    assert "input" not in summary and summary["type"] == "api_image_import"
    task = admin.request("GET", f"/v2/tasks/{task_id}").json()
    assert task["status"] == "success" and task["image_id"] == image["id"]
    assert task["owner"] == image["owner"] and task["expires_at"]
    assert task["self"] == f"/v2/tasks/{task_id}"
    (own,) = demo.request("GET", f"/v2/images/{image['id']}/tasks").json()["tasks"]
    assert own["id"] == task_id and own["deleted"] is False and "self" not in own
    token, _project = second_project_user(own_stack, "import-other")
    other = Images(own_stack, token)
    assert other.request("GET", f"/v2/images/{image['id']}/tasks").status_code == 404
    assert admin.request("GET", "/v2/tasks/nope").status_code == 404
