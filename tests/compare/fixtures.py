"""The resources the scenarios act on, made the same way on both sides: some
once (an active image of project cmp-alpha, ...), some anew before each
role's request (`fresh`: an image to delete, a user to update, ...).

Every maker returns the new resource's id; the runner keeps it in side.ids,
so that the normaliser shows it as the same placeholder on both sides."""
from __future__ import annotations

import time
from collections.abc import Callable

import requests

from tests.compare.sides import Side

DATA = b"pocketstack-compare" * 256          # a small raw image
PATCH = "application/openstack-images-v2.1-json-patch"


def call(side: Side, role: str, method: str, path: str, expect: int | tuple = (200, 201, 202,
                                                                              204), **kwargs):
    service = "identity" if path.startswith("/v3") else "image"
    headers = {**side.headers(role), **kwargs.pop("headers", {})}
    for _attempt in range(3):
        response = requests.request(method, side.url(service, path), headers=headers,
                                    timeout=60, **kwargs)
        # The real Glance on SQLite answers 500 "database is locked" now and then
        # while its import threads write: a fixture tries again, unless it sent
        # data (a second upload would meet the state the first one left).
        if response.status_code != 500 or "data" in kwargs:
            break
        time.sleep(1)
    expected = (expect,) if isinstance(expect, int) else expect
    if response.status_code not in expected:
        raise RuntimeError(f"{side.name}: fixture {method} {path} as {role}: "
                           f"{response.status_code} {response.text[:300]}")
    return response


def new_image(side: Side, role: str = "member", name: str = "cmp-fresh", **fields) -> str:
    body = {"name": name, "disk_format": "raw", "container_format": "bare", **fields}
    return call(side, role, "POST", "/v2/images", json=body).json()["id"]


def upload(side: Side, image_id: str, role: str = "member") -> None:
    call(side, role, "PUT", f"/v2/images/{image_id}/file", data=DATA,
         headers={"Content-Type": "application/octet-stream"})


def wait_status(side: Side, image_id: str, status: str, role: str = "admin") -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if call(side, role, "GET", f"/v2/images/{image_id}").json()["status"] == status:
            return
        time.sleep(0.5)
    raise RuntimeError(f"{side.name}: image {image_id} never became {status}")


def wait_task(side: Side, image_id: str) -> str:
    """The id of the image's import task, once it has finished."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        tasks = call(side, "admin", "GET", f"/v2/images/{image_id}/tasks").json()["tasks"]
        if tasks and tasks[0]["status"] in ("success", "failure"):
            return tasks[0]["id"]
        time.sleep(0.5)
    raise RuntimeError(f"{side.name}: the import of image {image_id} never finished")


def active_image(side: Side, role: str = "member", name: str = "cmp-fresh-active",
                 **fields) -> str:
    image_id = new_image(side, role, name, **fields)
    upload(side, image_id, role)
    return image_id


def namespace(side: Side, name: str) -> str:
    call(side, "admin", "POST", "/v2/metadefs/namespaces", json={
        "namespace": name, "display_name": "Compare", "description": "made by the comparison",
        "visibility": "public", "protected": False,
        "resource_type_associations": [{"name": "OS::Glance::Image", "prefix": "cmp_"}]})
    base = f"/v2/metadefs/namespaces/{name}"
    call(side, "admin", "POST", base + "/objects", json={
        "name": "cmp-object", "description": "an object", "required": [],
        "properties": {"cmp_size": {"type": "integer", "title": "Size", "minimum": 0}}})
    call(side, "admin", "POST", base + "/properties", json={
        "name": "cmp_prop", "title": "A property", "type": "string",
        "enum": ["one", "two"], "default": "one"})
    call(side, "admin", "POST", base + "/tags/cmp-tag")
    return name


def make_once(side: Side) -> None:
    """The shared fixtures, into side.ids."""
    ids = side.ids
    ids["image_active"] = active_image(side, name="cmp-active", tags=["cmp"],
                                       cmp_property="a value")
    ids["image_queued"] = new_image(side, name="cmp-queued")
    ids["image_beta"] = new_image(side, "other", name="cmp-beta-image")
    ids["image_shared"] = active_image(side, name="cmp-shared", visibility="shared")
    call(side, "member", "POST", f"/v2/images/{ids['image_shared']}/members",
         json={"member": ids["project_beta"]})
    ids["image_public"] = active_image(side, "admin", name="cmp-public", visibility="public")
    imported = new_image(side, name="cmp-imported")
    call(side, "member", "PUT", f"/v2/images/{imported}/stage", data=DATA,
         headers={"Content-Type": "application/octet-stream"})
    call(side, "member", "POST", f"/v2/images/{imported}/import",
         json={"method": {"name": "glance-direct"}})
    wait_status(side, imported, "active")
    ids["image_imported"] = imported
    ids["task"] = wait_task(side, imported)
    ids["namespace"] = namespace(side, "CMP-compare")
    credentials(side)


def credentials(side: Side) -> None:
    """An application credential and an EC2 credential of cmp-member's; the
    secret only in a '_' id, which the normaliser does not name."""
    ids = side.ids
    made = call(side, "member", "POST", f"/v3/users/{ids['user_member']}/application_credentials",
                json={"application_credential": {"name": "cmp-appcred"}})
    ids["appcred"] = made.json()["application_credential"]["id"]
    ids["_appcred_secret"] = made.json()["application_credential"]["secret"]
    ec2 = call(side, "member", "POST", f"/v3/users/{ids['user_member']}/credentials/OS-EC2",
               json={"tenant_id": ids["project_alpha"]}).json()["credential"]
    ids["ec2_access"] = ec2["access"]
    listed = call(side, "member", "GET", f"/v3/credentials?user_id={ids['user_member']}")
    ids["credential"] = next(c["id"] for c in listed.json()["credentials"]
                             if ec2["access"] in c["blob"])


# --- made anew before each role's request ----------------------------------------------
def _counter(side: Side) -> int:
    side.ids["_n"] = str(int(side.ids.get("_n", "0")) + 1)
    return int(side.ids["_n"])


def fresh_image(side: Side, role: str) -> str:
    return new_image(side, name=f"cmp-fresh-{role}")


def fresh_active(side: Side, role: str) -> str:
    return active_image(side, name=f"cmp-fresh-active-{role}")


def fresh_deactivated(side: Side, role: str) -> str:
    image_id = fresh_active(side, role)
    call(side, "member", "POST", f"/v2/images/{image_id}/actions/deactivate")
    return image_id


def fresh_staged(side: Side, role: str) -> str:
    image_id = fresh_image(side, role)
    call(side, "member", "PUT", f"/v2/images/{image_id}/stage", data=DATA,
         headers={"Content-Type": "application/octet-stream"})
    return image_id


def fresh_shared(side: Side, role: str) -> str:
    image_id = active_image(side, name=f"cmp-fresh-shared-{role}", visibility="shared")
    call(side, "member", "POST", f"/v2/images/{image_id}/members",
         json={"member": side.ids["project_beta"]})
    return image_id


def fresh_cached(side: Side, role: str) -> str:
    image_id = fresh_active(side, role)
    call(side, "admin", "PUT", f"/v2/cache/{image_id}")
    return image_id


def fresh_namespace(side: Side, role: str) -> str:
    return namespace(side, f"CMP-fresh-{role}-{_counter(side)}")


def fresh_project(side: Side, role: str) -> str:
    return call(side, "admin", "POST", "/v3/projects", json={"project": {
        "name": f"cmp-fresh-{role}-{_counter(side)}", "domain_id": "default",
        "description": ""}}).json()["project"]["id"]


def fresh_user(side: Side, role: str) -> str:
    return call(side, "admin", "POST", "/v3/users", json={"user": {
        "name": f"cmp-fresh-{role}-{_counter(side)}", "domain_id": "default",
        "password": side.passwords["cmp-member"]}}).json()["user"]["id"]


def fresh_granted_user(side: Side, role: str) -> str:
    user_id = fresh_user(side, role)
    call(side, "admin", "PUT", f"/v3/projects/{side.ids['project_alpha']}/users/{user_id}"
         f"/roles/{side.ids['role_reader']}")
    return user_id


def fresh_role(side: Side, role: str) -> str:
    return call(side, "admin", "POST", "/v3/roles", json={"role": {
        "name": f"cmp-fresh-{role}-{_counter(side)}"}}).json()["role"]["id"]


def fresh_token(side: Side, role: str) -> str:
    return side.login("cmp-member", side.passwords["cmp-member"], "cmp-alpha")


def fresh_appcred(side: Side, role: str) -> str:
    return call(side, "member", "POST",
                f"/v3/users/{side.ids['user_member']}/application_credentials",
                json={"application_credential": {"name": f"cmp-fresh-{role}-{_counter(side)}"}}
                ).json()["application_credential"]["id"]


def fresh_ec2(side: Side, role: str) -> str:
    return call(side, "member", "POST",
                f"/v3/users/{side.ids['user_member']}/credentials/OS-EC2",
                json={"tenant_id": side.ids["project_alpha"]}).json()["credential"]["access"]


FRESH: dict[str, Callable[[Side, str], str]] = {
    "image": fresh_image, "active": fresh_active, "deactivated": fresh_deactivated,
    "staged": fresh_staged, "shared": fresh_shared, "cached": fresh_cached,
    "namespace": fresh_namespace, "project": fresh_project, "user": fresh_user,
    "granted_user": fresh_granted_user, "role": fresh_role, "token": fresh_token,
    "appcred": fresh_appcred, "ec2": fresh_ec2,
}
