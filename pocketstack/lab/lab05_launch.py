"""Lab 05: launch and terminate (labs/05-launch.md).

What the steps leave behind: a server lab5-vm was launched (its events)
and terminated; its domain, instance directory and port are gone; the image
it was booted from is still active with its data unchanged, and its cached
base is still in _base.
"""
from __future__ import annotations

import hashlib

from computed.imagecache import cache_name
from pocketstack.lab import cleanup, host
from pocketstack.lab.base import Lab, LabContext, NotYet, Requirement

SERVER = "lab5-vm"
IMAGE = "pocketstack-tiny"


def launched(context: LabContext) -> None:
    if not host.instance_events(context.user, "compute.instance.create.end", SERVER):
        raise NotYet(f"no compute.instance.create.end event for a server {SERVER}")


def still_there(context: LabContext) -> None:
    servers = context.user.get("compute", "/servers", name=f"^{SERVER}$").json()["servers"]
    if servers:
        status = context.user.get("compute", f"/servers/{servers[0]['id']}").json()[
            "server"]["status"]
        raise NotYet(f"{SERVER} is still there ({status})")


def terminated(context: LabContext) -> None:
    still_there(context)
    if not host.instance_events(context.user, "compute.instance.delete.end", SERVER):
        raise NotYet(f"no compute.instance.delete.end event for {SERVER}")


def host_freed(context: LabContext) -> None:
    still_there(context)
    ended = host.instance_events(context.user, "compute.instance.delete.end", SERVER)
    if not ended:
        raise NotYet(f"{SERVER} was not terminated yet")
    server_id = ended[0]["resource_id"]
    left = []
    if (host.instances_path(context.state) / server_id).exists():
        left.append("its instance directory")
    if host.domain_exists(context.state, server_id):
        left.append("its libvirt domain")
    if context.user.get("network", "/v2.0/ports", device_id=server_id).json()["ports"]:
        left.append("its port")
    if left:
        raise NotYet(f"{SERVER} ({server_id}) left {', '.join(left)}")


def image_kept(context: LabContext) -> None:
    found = context.user.get("image", "/v2/images", name=IMAGE).json()["images"]
    if not found or found[0]["status"] != "active":
        raise NotYet(f"no active image {IMAGE}")
    image = found[0]
    digest = hashlib.md5(usedforsecurity=False)
    answer = context.user.http.get(context.user.url("image", f"/v2/images/{image['id']}/file"),
                                   stream=True, timeout=60)
    for chunk in answer.iter_content(1 << 20):
        digest.update(chunk)
    if digest.hexdigest() != image["checksum"]:
        raise NotYet(f"{IMAGE}'s data has md5 {digest.hexdigest()}, "
                     f"its checksum says {image['checksum']}")
    base = host.instances_path(context.state) / "_base" / cache_name(image["id"])
    if not base.is_file():
        raise NotYet(f"no cached base {base.name} in _base")


class Launch(Lab):
    number = 5
    title = "launch and terminate"
    text = "05-launch.md"

    def requirements(self) -> list[Requirement]:
        return [
            Requirement(f"a server {SERVER} was launched", launched,
                        f"step 1: openstack server create ... --wait {SERVER}"),
            Requirement(f"{SERVER} was terminated", terminated,
                        f"step 5: openstack server delete --wait {SERVER}"),
            Requirement("terminate freed the domain, the instance directory and the port",
                        host_freed,
                        f"step 5: openstack server delete --wait {SERVER}, then look again"),
            Requirement(f"the image {IMAGE} is untouched and its cached base kept", image_kept,
                        f"do not delete or change {IMAGE}; `pocketstack up` registers it "
                        "again if it is gone"),
        ]

    def reset(self, context: LabContext) -> list[str]:
        return cleanup.delete_servers(context.admin, [SERVER])


LAB = Launch()
