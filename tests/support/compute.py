"""Helpers for the compute tests: a small client of computed's API, waits,
and looks at what a server left on the host (its instance directory, its
libvirt domain and secrets, the tgt targets). The `demo` and `admin`
fixtures built on `Compute` are in tests/conftest.py.
"""
from __future__ import annotations

import base64
import configparser
import contextlib
import hashlib
import re
import subprocess
import time
import uuid
from pathlib import Path

import requests

from tests.support.orphans import node_secrets, node_uuid

GIB = 1024 ** 3
TINY_IMAGE = "pocketstack-tiny"
BOOT_TIMEOUT = 180.0   # TCG on a busy 2-core machine
STATE_TIMEOUT = 120.0


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def wait_for(predicate, timeout: float = STATE_TIMEOUT, interval: float = 0.2,
             what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout:.0f} s")
        time.sleep(interval)


class Compute:
    """computed's API for one user."""

    def __init__(self, stack, user: str = "demo", token: str | None = None):
        self.stack = stack
        self.token = token or stack.token(user)
        self.url = stack.url("computed") + "/v2.1"
        self.made: list[str] = []

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {"X-Auth-Token": self.token, **kwargs.pop("headers", {})}
        return requests.request(method, f"{self.url}{path}", headers=headers, timeout=60,
                                **kwargs)

    # --- servers ----------------------------------------------------------------------
    def create(self, name: str | None = None, image: str | None = None,
               flavor: str = "1", expect: int = 202, **fields) -> requests.Response | dict:
        body = {"name": unique("srv") if name is None else name,
                "imageRef": image or self.image_id(),
                "flavorRef": flavor, **fields}
        response = self.call("POST", "/servers", json={"server": body})
        assert response.status_code == expect, response.text
        if expect != 202:
            return response
        server = response.json()["server"]
        self.made.append(server["id"])
        return server

    def show(self, server_id: str) -> dict:
        response = self.call("GET", f"/servers/{server_id}")
        assert response.status_code == 200, response.text
        return response.json()["server"]

    def wait_status(self, server_id: str, *statuses: str, timeout: float = STATE_TIMEOUT,
                    task_state=...) -> dict:
        """Wait until the server shows one of `statuses` (and, if given, the
        task_state); ERROR ends the wait early unless it was asked for."""
        def reached():
            server = self.show(server_id)
            if server["status"] == "ERROR" and "ERROR" not in statuses:
                raise AssertionError(f"server {server_id} went to ERROR: "
                                     f"{server.get('fault')}")
            if server["status"] in statuses and (
                    task_state is ... or server["OS-EXT-STS:task_state"] == task_state):
                return server
            return None
        return wait_for(reached, timeout, what=f"server {server_id} {statuses}")

    def action(self, server_id: str, name: str, argument=None) -> requests.Response:
        return self.call("POST", f"/servers/{server_id}/action", json={name: argument})

    def console(self, server_id: str, length: int | None = None) -> str:
        argument = {} if length is None else {"length": length}
        response = self.action(server_id, "os-getConsoleOutput", argument)
        assert response.status_code == 200, response.text
        return response.json()["output"]

    def wait_console(self, server_id: str, pattern: str, timeout: float = BOOT_TIMEOUT,
                     count: int = 1) -> re.Match:
        regex = re.compile(pattern, re.MULTILINE)

        def seen():
            matches = list(regex.finditer(self.console(server_id)))
            return matches[count - 1] if len(matches) >= count else None
        try:
            return wait_for(seen, timeout, interval=1.0, what=f"{pattern!r} on the console")
        except AssertionError:
            raise AssertionError(f"{pattern!r} not seen on {server_id}'s console within "
                                 f"{timeout:.0f} s:\n{self.console(server_id)[-3000:]}") \
                from None

    def delete(self, server_id: str, wait: bool = True) -> None:
        response = self.call("DELETE", f"/servers/{server_id}")
        assert response.status_code in (204, 404), response.text
        if wait:
            wait_for(lambda: self.call("GET", f"/servers/{server_id}").status_code == 404,
                     what=f"server {server_id} gone")

    def cleanup(self) -> None:
        """Delete every server this client made (test teardown)."""
        for server_id in self.made:
            with contextlib.suppress(AssertionError):
                self.delete(server_id)

    # --- the rest ---------------------------------------------------------------------
    def image_id(self, name: str = TINY_IMAGE) -> str:
        response = requests.get(f"{self.stack.url('imaged')}/v2/images",
                                params={"name": name},
                                headers={"X-Auth-Token": self.token}, timeout=30)
        images = [i for i in response.json()["images"] if i["status"] == "active"]
        assert images, f"no active image {name}: {response.text}"
        return images[0]["id"]

    def events(self, resource_id: str, prefix: str = "") -> list[str]:
        response = requests.get(f"{self.stack.url('computed')}/pocketstack/v1/events",
                                params={"resource_id": resource_id, "limit": "1000"},
                                headers={"X-Auth-Token": self.token}, timeout=30)
        assert response.status_code == 200, response.text
        return [e["event_type"] for e in reversed(response.json()["events"])
                if e["event_type"].startswith(prefix)]

    def hypervisor(self) -> dict:
        response = self.call("GET", "/os-hypervisors/detail")
        assert response.status_code == 200, response.text
        return response.json()["hypervisors"][0]


class Images:
    """Just enough of imaged for the compute tests."""

    def __init__(self, stack, token: str):
        self.url = stack.url("imaged") + "/v2/images"
        self.headers = {"X-Auth-Token": token}

    def create(self, data: bytes | None, disk_format: str = "raw", **fields) -> dict:
        body = {"name": unique("img"), "disk_format": disk_format,
                "container_format": "bare", **fields}
        image = requests.post(self.url, json=body, headers=self.headers, timeout=30).json()
        if data is not None:
            response = requests.put(f"{self.url}/{image['id']}/file", data=data, timeout=120,
                                    headers={**self.headers,
                                             "Content-Type": "application/octet-stream"})
            assert response.status_code == 204, response.text
        return self.show(image["id"])

    def show(self, image_id: str) -> dict:
        response = requests.get(f"{self.url}/{image_id}", headers=self.headers, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def action(self, image_id: str, action: str) -> None:
        response = requests.post(f"{self.url}/{image_id}/actions/{action}",
                                 headers=self.headers, timeout=30)
        assert response.status_code == 204, response.text

    def delete(self, image_id: str) -> None:
        requests.delete(f"{self.url}/{image_id}", headers=self.headers, timeout=30)


class Volumes:
    """Just enough of volumed for the compute tests."""

    def __init__(self, stack, token: str, project_id: str):
        self.url = f"{stack.url('volumed')}/v3/{project_id}"
        self.headers = {"X-Auth-Token": token, "OpenStack-API-Version": "volume 3.44"}

    def create(self, size: int = 1) -> dict:
        response = requests.post(f"{self.url}/volumes", headers=self.headers, timeout=30,
                                 json={"volume": {"size": size, "name": unique("vol")}})
        assert response.status_code == 202, response.text
        volume = response.json()["volume"]
        return self.wait(volume["id"], "available")

    def show(self, volume_id: str) -> dict:
        response = requests.get(f"{self.url}/volumes/{volume_id}", headers=self.headers,
                                timeout=30)
        assert response.status_code == 200, response.text
        return response.json()["volume"]

    def wait(self, volume_id: str, status: str, timeout: float = 60) -> dict:
        return wait_for(lambda: (v := self.show(volume_id))["status"] == status and v,
                        timeout, what=f"volume {volume_id} {status}")

    def attachments(self, volume_id: str) -> list[dict]:
        response = requests.get(f"{self.url}/attachments", headers=self.headers, timeout=30,
                                params={"volume_id": volume_id})
        assert response.status_code == 200, response.text
        return response.json()["attachments"]

    def delete(self, volume_id: str) -> None:
        requests.delete(f"{self.url}/volumes/{volume_id}", headers=self.headers, timeout=30)


def project_id_of(stack, user: str = "demo") -> str:
    return stack.login(user).json()["token"]["project"]["id"]


# --- what is on the host ---------------------------------------------------------------
def instances_dir(stack) -> Path:
    return stack.state_dir / "lib" / "instances"


def base_name(image_id: str) -> str:
    return hashlib.sha1(image_id.encode()).hexdigest()


def virsh(*args: str) -> str:
    return subprocess.run(["virsh", "-c", "qemu:///system", *args], capture_output=True,
                          text=True, timeout=60).stdout


def domain_exists(server_id: str) -> bool:
    return subprocess.run(["virsh", "-c", "qemu:///system", "domuuid", server_id],
                          capture_output=True, timeout=60).returncode == 0


def secret_usages() -> str:
    return virsh("secret-list")


def forget_node_secrets(node: str) -> None:
    """Undefine every libvirt secret of compute node `node` (a test stack
    about to be deleted with its state directory): a stack keeps its node's
    secrets across down and up, as Nova keeps rbd_secret_uuid's, so only
    whoever deletes the stack for good can let them go."""
    for secret_uuid in node_secrets(node):
        virsh("secret-undefine", secret_uuid)


def stack_secrets(stack) -> int:
    """How many CHAP secrets of attachments this stack's node holds
    (pocketstack/<node>/<attachment>): libvirtd is the machine's, and the
    other stacks of a parallel run define and delete theirs meanwhile."""
    return sum(usage.startswith("pocketstack/")
               for usage in node_secrets(node_uuid(stack)).values())


def tgt_targets(stack) -> str:
    """tgtadm's view of the targets of this stack's tgtd."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(stack.state_dir / "etc" / "volumed.conf")
    control = parser.get("volume", "target_control_port", fallback=None)
    if control is None:
        control = str(1 + stack.port_offset % 32000)
    return subprocess.run(["tgtadm", "-C", control, "--mode", "target", "--op", "show"],
                          capture_output=True, text=True, timeout=30).stdout


def leftovers(stack, server_id: str, volume_ids=()) -> list[str]:
    """Everything a server may leave on the host; [] when it left nothing."""
    found = []
    if (instances_dir(stack) / server_id).exists():
        found.append("instance directory")
    if domain_exists(server_id):
        found.append("libvirt domain")
    targets = tgt_targets(stack)
    for volume_id in volume_ids:
        if volume_id in targets:
            found.append(f"tgt target of {volume_id}")
    return found
