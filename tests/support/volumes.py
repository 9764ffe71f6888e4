"""Helpers for the volumed tests: a small HTTP client
for one user of a real stack, and waiting for statuses."""
from __future__ import annotations

import json
import time
import uuid

import requests

MICROVERSION = "volume 3.44"


class VolumeApi:
    """volumed over HTTP as one user (token scoped to the user's project)."""

    def __init__(self, stack, user: str = "demo", project: str | None = None,
                 password: str | None = None):
        self.stack = stack
        response = stack.login(user, project, password)
        assert response.status_code == 201, response.text
        self.token = response.headers["X-Subject-Token"]
        self.project_id = response.json()["token"]["project"]["id"]
        self.base = f"{stack.url('volumed')}/v3/{self.project_id}"

    def call(self, method: str, path: str, *, version: str | None = MICROVERSION,
             expect: int | tuple | None = None, **kwargs) -> requests.Response:
        headers = {"X-Auth-Token": self.token, **kwargs.pop("headers", {})}
        if version:
            headers["OpenStack-API-Version"] = version
        response = requests.request(method, self.base + path, headers=headers, timeout=120,
                                    **kwargs)
        if expect is not None:
            wanted = expect if isinstance(expect, tuple) else (expect,)
            assert response.status_code in wanted, \
                f"{method} {path}: {response.status_code} {response.text}"
        return response

    # --- volumes -------------------------------------------------------------------
    def create(self, size: int = 1, wait: str | None = "available", **fields) -> dict:
        body = {"volume": {"size": size, "name": fields.pop("name", unique("vol")), **fields}}
        volume = self.call("POST", "/volumes", json=body, expect=202).json()["volume"]
        return self.wait(volume["id"], wait) if wait else volume

    def show(self, volume_id: str) -> dict:
        return self.call("GET", f"/volumes/{volume_id}", expect=200).json()["volume"]

    def wait(self, volume_id: str, status: str, timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            volume = self.show(volume_id)
            if volume["status"] == status:
                return volume
            assert time.monotonic() < deadline, f"volume stuck in {volume['status']}"
            assert not (volume["status"].startswith("error") and not status.startswith("error")), \
                f"volume went to {volume['status']}"
            time.sleep(0.2)

    def action(self, volume_id: str, name: str, argument=None, **kwargs) -> requests.Response:
        return self.call("POST", f"/volumes/{volume_id}/action", json={name: argument},
                         **kwargs)

    def delete(self, volume_id: str, expect=202, **params) -> requests.Response:
        return self.call("DELETE", f"/volumes/{volume_id}", params=params, expect=expect)

    def wait_gone(self, volume_id: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.call("GET", f"/volumes/{volume_id}").status_code != 404:
            assert time.monotonic() < deadline, "volume was not deleted"
            time.sleep(0.2)

    # --- snapshots ---------------------------------------------------------------------
    def snapshot(self, volume_id: str, wait: str | None = "available", **fields) -> dict:
        body = {"snapshot": {"volume_id": volume_id, "name": unique("snap"), **fields}}
        snapshot = self.call("POST", "/snapshots", json=body, expect=202).json()["snapshot"]
        if not wait:
            return snapshot
        deadline = time.monotonic() + 60
        while snapshot["status"] != wait:
            assert time.monotonic() < deadline, f"snapshot stuck in {snapshot['status']}"
            time.sleep(0.2)
            snapshot = self.call("GET", f"/snapshots/{snapshot['id']}",
                                 expect=200).json()["snapshot"]
        return snapshot

    # --- attachments -----------------------------------------------------------------------
    def attach(self, volume_id: str, connector: dict | None,
               instance: str | None = None) -> dict:
        body = {"attachment": {"volume_uuid": volume_id,
                               "instance_uuid": instance or str(uuid.uuid4()),
                               "connector": connector}}
        return self.call("POST", "/attachments", json=body, expect=200).json()["attachment"]

    def complete(self, attachment_id: str) -> None:
        self.call("POST", f"/attachments/{attachment_id}/action", json={"os-complete": None},
                  expect=204)

    def detach(self, attachment_id: str) -> None:
        self.call("DELETE", f"/attachments/{attachment_id}", expect=200)

    def events(self, **params) -> list[dict]:
        response = requests.get(f"{self.stack.url('volumed')}/pocketstack/v1/events",
                                headers={"X-Auth-Token": self.token}, params=params, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()["events"]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def connector(name: str | None = None) -> dict:
    """What os-brick (or computed) sends: the initiator's IQN and address."""
    return {"initiator": f"iqn.2004-10.org.pocketstack:test-{name or uuid.uuid4().hex[:8]}",
            "ip": "127.0.0.1", "host": "testhost", "platform": "x86_64", "os_type": "linux",
            "multipath": False}


def new_project_user(stack, role: str = "member") -> tuple[str, str, str]:
    """A fresh project with one user in it (for quota tests that must not
    share counts with the other tests). Returns (project, user, password)."""
    admin = {"X-Auth-Token": stack.token("admin")}
    identity = stack.url("identity")
    name = unique("proj")
    project = requests.post(f"{identity}/v3/projects", headers=admin, timeout=30,
                            json={"project": {"name": name, "domain_id": "default"}})
    assert project.status_code == 201, project.text
    project_id = project.json()["project"]["id"]
    password = uuid.uuid4().hex
    user = requests.post(f"{identity}/v3/users", headers=admin, timeout=30,
                         json={"user": {"name": name, "password": password,
                                        "domain_id": "default",
                                        "default_project_id": project_id}})
    assert user.status_code == 201, user.text
    roles = requests.get(f"{identity}/v3/roles", headers=admin, params={"name": role},
                         timeout=30).json()["roles"]
    role_id = [r for r in roles if r["name"] == role][0]["id"]
    grant = requests.put(f"{identity}/v3/projects/{project_id}/users/"
                         f"{user.json()['user']['id']}/roles/{role_id}", headers=admin,
                         timeout=30)
    assert grant.status_code in (200, 204), grant.text
    return name, name, password


def wait_shown_status(stack, kind: str, name: str, status: str, timeout: float = 300,
                      interval: float = 1.0) -> dict:
    """`openstack <kind> show <name>` (the real client) until its status is
    `status`; fails at once on an error status, or after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        shown = json.loads(stack.openstack(*kind.split(), "show", name, "-f", "json").stdout)
        if shown["status"] == status:
            return shown
        assert "error" not in shown["status"], shown
        assert time.monotonic() < deadline, shown
        time.sleep(interval)


# --- a volume's bytes, on the host ------------------------------------------------------
def volume_file(stack, volume_id: str):
    """The file backend's sparse file of a volume."""
    return stack.state_dir / "lib" / "volumes" / f"volume-{volume_id}"


def write(stack, volume_id: str, offset: int, data: bytes) -> None:
    with open(volume_file(stack, volume_id), "r+b") as handle:
        handle.seek(offset)
        handle.write(data)


def read(stack, volume_id: str, offset: int, size: int) -> bytes:
    with open(volume_file(stack, volume_id), "rb") as handle:
        handle.seek(offset)
        return handle.read(size)
