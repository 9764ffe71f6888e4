"""Helpers for the imaged tests: a small client over `requests` for the
Glance v2 API, users of a second project, test images made with qemu-img, a
loopback web server, and stacks with a config of their own."""
from __future__ import annotations

import builtins
import contextlib
import http.server
import json
import socket
import subprocess
import threading
import time
import uuid
from functools import partial
from pathlib import Path

import pytest
import requests

from tests.stack import Stack

PATCH_TYPE = "application/openstack-images-v2.1-json-patch"


def raw_bytes(size: int) -> bytes:
    """Deterministic raw data that no format probe mistakes for a header
    (random bytes would now and then carry an MBR signature at 510)."""
    pattern = b"pocketstack-raw-"
    return (pattern * (size // len(pattern) + 1))[:size]


def qcow2_bytes(tmp_path: Path, virtual_size: str = "64M", *extra: str) -> bytes:
    """A real, empty qcow2 image (always with -f: never let qemu guess)."""
    path = tmp_path / f"{uuid.uuid4().hex}.qcow2"
    subprocess.run(["qemu-img", "create", "-f", "qcow2", *extra, str(path), virtual_size],
                   check=True, capture_output=True)
    return path.read_bytes()


class Images:
    """The image API as one user of one project sees it."""

    def __init__(self, stack: Stack, token: str):
        self.stack, self.token = stack, token
        self.base = stack.url("imaged")

    def headers(self, **extra) -> dict:
        # JSON, as openstacksdk asks: errors then come in Glance's JSON body.
        return {"X-Auth-Token": self.token, "Accept": "application/json", **extra}

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {**self.headers(), **kwargs.pop("headers", {})}
        return requests.request(method, self.base + path, headers=headers, timeout=120,
                                **kwargs)

    def create(self, **body) -> requests.Response:
        return self.request("POST", "/v2/images", json=body)

    def new(self, **body) -> dict:
        """Create an image (raw/bare unless told otherwise) and return it."""
        body.setdefault("name", f"test-{uuid.uuid4().hex[:8]}")
        body.setdefault("disk_format", "raw")
        body.setdefault("container_format", "bare")
        response = self.create(**body)
        assert response.status_code == 201, response.text
        return response.json()

    def get(self, image_id: str) -> requests.Response:
        return self.request("GET", f"/v2/images/{image_id}")

    def show(self, image_id: str) -> dict:
        response = self.get(image_id)
        assert response.status_code == 200, response.text
        return response.json()

    def list(self, **params) -> requests.Response:
        return self.request("GET", "/v2/images", params=params)

    def patch(self, image_id: str, changes, content_type: str = PATCH_TYPE,
              raw: bytes | None = None) -> requests.Response:
        data = raw if raw is not None else json.dumps(changes)
        return self.request("PATCH", f"/v2/images/{image_id}", data=data,
                            headers={"Content-Type": content_type})

    def upload(self, image_id: str, data: bytes,
               content_type: str = "application/octet-stream") -> requests.Response:
        return self.request("PUT", f"/v2/images/{image_id}/file", data=data,
                            headers={"Content-Type": content_type})

    def uploaded(self, data: bytes, **body) -> dict:
        """A new image with `data` uploaded: active."""
        image = self.new(**body)
        response = self.upload(image["id"], data)
        assert response.status_code == 204, response.text
        return self.show(image["id"])

    def download(self, image_id: str, **headers) -> requests.Response:
        return self.request("GET", f"/v2/images/{image_id}/file", headers=headers)

    def delete(self, image_id: str) -> requests.Response:
        return self.request("DELETE", f"/v2/images/{image_id}")

    def action(self, image_id: str, action: str) -> requests.Response:
        return self.request("POST", f"/v2/images/{image_id}/actions/{action}")

    def events(self, image_id: str, **params) -> builtins.list[dict]:  # `list` is a method here
        response = requests.get(self.base + "/pocketstack/v1/events", headers=self.headers(),
                                params={"resource_id": image_id, "limit": 1000, **params},
                                timeout=30)
        assert response.status_code == 200, response.text
        return list(reversed(response.json()["events"]))  # oldest first


def project_id(stack: Stack, user: str, project: str | None = None,
               password: str | None = None) -> str:
    response = stack.login(user, project, password)
    assert response.status_code == 201, response.text
    return response.json()["token"]["project"]["id"]


def second_project_user(stack: Stack, name: str) -> tuple[str, str]:
    """A user with the member role in a project of its own, created through
    identity's admin API (idempotent). Returns (token, project id)."""
    admin = {"X-Auth-Token": stack.token("admin")}
    identity = stack.url("identity")
    password = "pw-" + name
    projects = requests.get(f"{identity}/v3/projects", params={"name": name},
                            headers=admin, timeout=30).json()["projects"]
    if projects:
        project = projects[0]["id"]
    else:
        project = requests.post(f"{identity}/v3/projects", headers=admin, timeout=30,
                                json={"project": {"name": name, "domain_id": "default"}}
                                ).json()["project"]["id"]
    users = requests.get(f"{identity}/v3/users", params={"name": name}, headers=admin,
                         timeout=30).json()["users"]
    if users:
        user = users[0]["id"]
    else:
        user = requests.post(f"{identity}/v3/users", headers=admin, timeout=30, json={
            "user": {"name": name, "password": password, "domain_id": "default",
                     "default_project_id": project}}).json()["user"]["id"]
    roles = requests.get(f"{identity}/v3/roles", params={"name": "member"}, headers=admin,
                         timeout=30).json()["roles"]
    member = next(role["id"] for role in roles if role["name"] == "member")
    granted = requests.put(f"{identity}/v3/projects/{project}/users/{user}/roles/{member}",
                           headers=admin, timeout=30)
    assert granted.status_code in (201, 204), granted.text
    response = stack.login(name, name, password)
    assert response.status_code == 201, response.text
    return response.headers["X-Subject-Token"], project


def store_dir(stack: Stack) -> Path:
    return stack.state_dir / "lib" / "images"


def stored_files(stack: Stack, image_id: str) -> list[str]:
    """Everything in the file store that belongs to the image (data or partial)."""
    return sorted(p.name for p in store_dir(stack).glob(f"{image_id}*"))


def send_truncated_upload(stack: Stack, token: str, image_id: str, claimed: int,
                          sent: bytes) -> None:
    """An upload whose connection drops half way: Content-Length promises
    `claimed` bytes, `sent` go out, then the socket closes."""
    with socket.create_connection(("127.0.0.1", stack.port("imaged")), timeout=30) as sock:
        sock.sendall((f"PUT /v2/images/{image_id}/file HTTP/1.1\r\n"
                      f"Host: 127.0.0.1\r\nX-Auth-Token: {token}\r\n"
                      f"Content-Type: application/octet-stream\r\n"
                      f"Content-Length: {claimed}\r\n\r\n").encode())
        sock.sendall(sent)
        time.sleep(0.2)


class QuietFiles(http.server.SimpleHTTPRequestHandler):
    """The files of a directory, without a log line per request."""

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve_directory(directory: Path, handler: type = QuietFiles, port: int = 0):
    """A web server on 127.0.0.1 serving `directory` (where http locations
    and web-download imports point): yields its base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port),
                                             partial(handler, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def web_server_fixture(handler: type = QuietFiles):
    """A module fixture: a loopback web server over a fresh directory,
    yielding (base URL, the directory it serves)."""
    @pytest.fixture(scope="module")
    def web(tmp_path_factory):
        folder = tmp_path_factory.mktemp("web")
        with serve_directory(folder, handler) as base:
            yield base, folder
    return web


def wait_for(predicate, timeout: float = 15.0, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def _free_extra_offset(base: int, preferred: int) -> int:
    """The preferred extra offset, or the next one (steps of 5) whose ports are
    all free: another test run on this machine may hold some."""
    from tests.stack import DEFAULT_PORTS, port_is_free
    for extra in range(preferred, preferred + 40, 5):
        if all(port_is_free(port + base + extra) for port in DEFAULT_PORTS.values()):
            return extra
    return preferred


def configured_stack(tmp_path_factory, base: Stack, extra_offset: int, api_conf: str,
                     scrubber_conf: str = "", ceph: bool = False,
                     swift: bool = False, ceph_instance_disks: bool = False) -> Stack:
    """A stack of its own, started with `up`, whose imaged config files were
    written before the first start (they are only generated when missing),
    with its own Ceph if `ceph` (the servers' disks in it too if
    `ceph_instance_disks`), its own Swift if `swift`. The caller stops
    it with down()."""
    from identity.bootstrap import Credentials
    state = tmp_path_factory.mktemp("imaged-stack")
    etc = state / "etc"
    etc.mkdir()
    own = Stack(state, base.port_offset + _free_extra_offset(base.port_offset, extra_offset))
    # The generated passwords are kept by `up`: write the one imaged needs.
    credentials = Credentials.load_or_create(etc / "credentials")
    (etc / "imaged-api.conf").write_text(
        f"[api]\nbind_port = {own.port('imaged')}\nworkers = 1\n\n"
        f"[auth]\nidentity_url = http://127.0.0.1:{own.port('identity')}\n\n"
        f"[service_auth]\npassword = {credentials.passwords['imaged']}\n\n{api_conf}\n")
    if scrubber_conf:
        (etc / "imaged-scrubber.conf").write_text(scrubber_conf + "\n")
    stack_conf = ""
    if ceph:
        from tests.support.ceph import stack_conf as ceph_conf
        stack_conf += ceph_conf(own, instance_disks=ceph_instance_disks)
    if swift:
        from tests.support.swift import stack_conf as swift_conf
        stack_conf += swift_conf(own)
    if stack_conf:
        (etc / "pocketstack.conf").write_text(stack_conf)
    return own.started()
