"""Undo for `lab reset`: delete, through the public APIs, what a lab's steps
made, found by the names the lab's text gives them.

Deletion goes in dependency order (servers before the volumes attached to
them, snapshots before their volumes) and waits until each is gone, so the
next lab starts from a quiet stack.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from pocketstack.cloud import Cloud

WAIT = 180.0
IMAGE_PATCH = "application/openstack-images-v2.1-json-patch"


def delete_servers(cloud: Cloud, names: Iterable[str]) -> list[str]:
    found = _named(cloud.get("compute", "/servers", all_tenants="1").json()["servers"], names)
    for server in found:
        cloud.delete("compute", f"/servers/{server['id']}")
    for server in found:
        _gone(cloud, "compute", f"/servers/{server['id']}")
    return [f"server {s['name']}" for s in found]


def delete_volume_snapshots(cloud: Cloud, names: Iterable[str]) -> list[str]:
    found = _named(cloud.get("block-storage", "/snapshots",
                             all_tenants="1").json()["snapshots"], names)
    for snapshot in found:
        cloud.delete("block-storage", f"/snapshots/{snapshot['id']}")
    for snapshot in found:
        _gone(cloud, "block-storage", f"/snapshots/{snapshot['id']}")
    return [f"volume snapshot {s['name']}" for s in found]


def delete_volumes(cloud: Cloud, names: Iterable[str]) -> list[str]:
    found = _named(cloud.get("block-storage", "/volumes", all_tenants="1").json()["volumes"],
                   names)
    for volume in found:
        for attachment in cloud.get("block-storage", f"/volumes/{volume['id']}").json()[
                "volume"].get("attachments", []):
            cloud.delete("compute", f"/servers/{attachment['server_id']}"
                                    f"/os-volume_attachments/{volume['id']}")
            _wait_available(cloud, f"/volumes/{volume['id']}")
        cloud.delete("block-storage", f"/volumes/{volume['id']}")
    for volume in found:
        _gone(cloud, "block-storage", f"/volumes/{volume['id']}")
    return [f"volume {v['name']}" for v in found]


def delete_images(cloud: Cloud, names: Iterable[str]) -> list[str]:
    # Lists leave killed images out unless asked for by status.
    found = _named([image for status in (None, "killed") for image in cloud.get(
        "image", "/v2/images", limit="1000", **({"status": status} if status else {})
    ).json()["images"]], names)
    for image in found:
        if image.get("protected"):
            cloud.http.patch(cloud.url("image", f"/v2/images/{image['id']}"), timeout=30,
                             json=[{"op": "replace", "path": "/protected", "value": False}],
                             headers={"Content-Type": IMAGE_PATCH})
        if image["status"] == "deactivated":
            cloud.post("image", f"/v2/images/{image['id']}/actions/reactivate", {})
        cloud.delete("image", f"/v2/images/{image['id']}")
    return [f"image {i['name']}" for i in found]


def delete_keypairs(cloud: Cloud, names: Iterable[str]) -> list[str]:
    wanted = set(names)
    found = [k["keypair"]["name"] for k in cloud.get("compute", "/os-keypairs").json()["keypairs"]
             if k["keypair"]["name"] in wanted]
    for name in found:
        cloud.delete("compute", f"/os-keypairs/{name}")
    return [f"key pair {name}" for name in found]


def delete_flavors(cloud: Cloud, names: Iterable[str]) -> list[str]:
    """Public and private flavors alike (an admin's is_public=None lists both)."""
    found = _named(cloud.get("compute", "/flavors", is_public="None").json()["flavors"], names)
    for flavor in found:
        cloud.delete("compute", f"/flavors/{flavor['id']}")
    return [f"flavor {f['name']}" for f in found]


def delete_users(cloud: Cloud, names: Iterable[str]) -> list[str]:
    """Users, as admin (their role assignments and credentials go with them)."""
    return _delete_identity(cloud, "users", "user", names)


def delete_projects(cloud: Cloud, names: Iterable[str]) -> list[str]:
    return _delete_identity(cloud, "projects", "project", names)


def _delete_identity(cloud: Cloud, collection: str, kind: str,
                     names: Iterable[str]) -> list[str]:
    """Identity lists filter by name on the server (?name=), one name at a time."""
    found = [item for name in names
             for item in cloud.get("identity", f"/v3/{collection}", name=name).json()[collection]]
    for item in found:
        cloud.delete("identity", f"/v3/{collection}/{item['id']}")
    return [f"{kind} {item['name']}" for item in found]


def delete_floating_ips(cloud: Cloud, description: str) -> list[str]:
    """Floating IPs have no name: a lab marks its own with a description."""
    found = [ip for ip in cloud.get("network", "/v2.0/floatingips").json()["floatingips"]
             if ip.get("description") == description]
    for address in found:
        cloud.delete("network", f"/v2.0/floatingips/{address['id']}")
    return [f"floating IP {ip['floating_ip_address']}" for ip in found]


def delete_security_groups(cloud: Cloud, names: Iterable[str]) -> list[str]:
    """After the servers whose ports are in them."""
    found = _named(cloud.get("network", "/v2.0/security-groups").json()["security_groups"],
                   names)
    for group in found:
        cloud.delete("network", f"/v2.0/security-groups/{group['id']}")
    return [f"security group {g['name']}" for g in found]


def _named(items: list[dict], names: Iterable[str]) -> list[dict]:
    wanted = set(names)
    return [item for item in items if item.get("name") in wanted]


def _gone(cloud: Cloud, service_type: str, path: str) -> None:
    _until(lambda: cloud.get(service_type, path).status_code == 404, path)


def _wait_available(cloud: Cloud, path: str) -> None:
    _until(lambda: cloud.get("block-storage", path).json()["volume"]["status"] == "available",
           path)


def _until(test: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not test():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not done after {WAIT:.0f} s")
        time.sleep(1)
