"""The flows of the kill matrix, each with the steps it is killed at.

A step is named after the flow's docstring (computed/flows/*.py,
volumed/flows/*.py, imaged/upload.py, imaged/imports/flow.py,
networkd/floatingips.py) and reached through the event that step records:
the daemon holds the flow right after that event's transaction commits
(shared/stephold.py). The upload's stream step has no event of its own: the
test's own body is held there, after half the data.

Each flow:
    prepare(world)         what the flow starts from (a queued image, an
                           ACTIVE server, a volume...), in case.made
    start(world, case)     the requests that run the flow (in a thread:
                           a request may never answer when its daemon dies)
    outcome(world, case)   once the stack has settled: "done" or "undone",
                           else AssertionError (half done)
    cleanup(world, case)   deletes what the case made
"""
from __future__ import annotations

import hashlib
import os
import threading
import time
from dataclasses import dataclass, field

from computed.flows.volumes import COMPLETE_RETRY_INTERVAL
from tests.support.compute import wait_for

CLIENT_MIDSTREAM = "client: half the body sent"
BOOTED = r"^POCKETSTACK-BOOTED\s*$"  # what the tiny guest prints once it has booted
UPLOAD_SIZE = 8 * 1024 * 1024
UNFINISHED_IMAGE_GRACE = 30.0  # three of computed's periodic passes (10 s apart)
STRAY_DOMAIN_GRACE = 30.0      # the same


@dataclass(frozen=True)
class Step:
    name: str
    event: str


@dataclass
class Case:
    """One cell of the matrix while it runs."""
    flow: str
    step: Step
    daemon: str
    made: dict = field(default_factory=dict)
    midstream: threading.Event = field(default_factory=threading.Event)
    go_on: threading.Event = field(default_factory=threading.Event)


class Flow:
    name = ""
    steps: tuple[Step, ...] = ()
    hold_timeout = 120.0

    def prepare(self, world, case: Case) -> None:
        pass

    def start(self, world, case: Case) -> None:
        raise NotImplementedError

    def outcome(self, world, case: Case) -> str:
        raise NotImplementedError

    def cleanup(self, world, case: Case) -> None:
        pass


# --- imaged ---------------------------------------------------------------------------
class Upload(Flow):
    """imaged/upload.py: PUT /v2/images/{id}/file."""
    name = "upload"
    steps = (Step("saving", "image.prepare"), Step("stream", CLIENT_MIDSTREAM),
             Step("activate", "image.activate"))

    def prepare(self, world, case):
        case.made["data"] = os.urandom(UPLOAD_SIZE)
        case.made["image"] = world.images.new()["id"]

    def start(self, world, case):
        data = case.made["data"]

        def body():
            half = len(data) // 2
            for offset in range(0, len(data), 1024 * 1024):
                if offset == half and case.step.event == CLIENT_MIDSTREAM:
                    case.midstream.set()
                    case.go_on.wait(120)
                yield data[offset:offset + 1024 * 1024]
        world.images.request("PUT", f"/v2/images/{case.made['image']}/file", data=body(),
                             headers={"Content-Type": "application/octet-stream"})

    def outcome(self, world, case):
        image = world.images.show(case.made["image"])
        if image["status"] == "active":
            assert image["checksum"] == hashlib.md5(case.made["data"]).hexdigest(), image
            return "done"
        assert image["status"] == "queued", f"image {image['id']} is {image['status']}"
        assert not image.get("size"), image
        return "undone"

    def cleanup(self, world, case):
        world.images.delete(case.made["image"])


class Import(Flow):
    """imaged/imports/flow.py, glance-direct: PUT /stage, POST /import."""
    name = "import"
    steps = (Step("stage", "image.prepare"), Step("staged", "image.upload"),
             Step("import", "image.import.start"), Step("processing", "task.processing"),
             Step("activate", "image.activate"))

    def prepare(self, world, case):
        case.made["data"] = os.urandom(UPLOAD_SIZE)
        case.made["image"] = world.images.new()["id"]

    def start(self, world, case):
        image_id = case.made["image"]
        staged = world.images.request("PUT", f"/v2/images/{image_id}/stage",
                                      data=case.made["data"],
                                      headers={"Content-Type": "application/octet-stream"})
        if staged.status_code == 204:
            world.images.request("POST", f"/v2/images/{image_id}/import",
                                 json={"method": {"name": "glance-direct"}})

    def outcome(self, world, case):
        image = world.images.show(case.made["image"])
        if image["status"] == "active":
            return "done"
        # queued: import again; uploading: the staged data is kept, the
        # import may be asked again (imaged/imports/recovery.py)
        assert image["status"] in ("queued", "uploading"), \
            f"image {image['id']} is {image['status']}"
        return "undone"

    def cleanup(self, world, case):
        world.images.delete(case.made["image"])


# --- computed -------------------------------------------------------------------------
class Launch(Flow):
    """computed/flows/launch.py: POST /servers, on `private`, with a volume
    (so that step 3 has something to do)."""
    name = "launch"
    steps = (Step("create", "compute.instance.create.start"),
             Step("claim", "scheduler.select_destinations.end"),
             Step("network", "compute.instance.network.allocated"),
             Step("volumes", "compute.instance.block_device_mapping.end"),
             Step("image", "compute.instance.image_cache.hit"),
             Step("disks", "compute.instance.disks.created"),
             Step("config drive", "compute.instance.config_drive.created"),
             Step("domain", "compute.instance.domain.started"),
             Step("vifs plugged", "compute.instance.vifs.plugged"),
             Step("active", "compute.instance.create.end"))

    def prepare(self, world, case):
        world.base_server()  # the image is in the cache then: step 4 is a hit
        case.made["volume"] = world.volumes.create()["id"]

    def start(self, world, case):
        server = world.compute.create(
            networks=[{"uuid": world.private_network}],
            block_device_mapping_v2=[{"uuid": case.made["volume"], "source_type": "volume",
                                      "destination_type": "volume", "boot_index": -1}])
        case.made["server"] = server["id"]

    def outcome(self, world, case):
        server_id = case.made.get("server")
        assert server_id, "the server was never made"
        server = world.compute.show(server_id)
        volume = world.volumes.show(case.made["volume"])
        if server["status"] == "ACTIVE":
            assert world.domain_state(server_id) == "running", server
            assert volume["status"] == "in-use", volume
            return "done"
        assert server["status"] == "ERROR", f"server {server_id} is {server['status']}"
        # An undo that could not destroy the domain (libvirtd away) leaves it
        # to computed's periodic pass (reconcile.remove_stray_domains, every
        # sync_power_state_interval), once libvirtd answers again.
        wait_for(lambda: world.domain_state(server_id) is None, timeout=STRAY_DOMAIN_GRACE,
                 interval=1.0, what="the ERROR build's domain gone")
        assert volume["status"] == "available", f"an ERROR build left its volume " \
                                                 f"{volume['status']}"
        return "undone"

    def cleanup(self, world, case):
        if case.made.get("server"):
            world.compute.delete(case.made["server"])
        world.volumes.wait(case.made["volume"], "available")
        world.volumes.delete(case.made["volume"])


class Attach(Flow):
    """computed/flows/volumes.py (attach) with volumed/flows/attach.py."""
    name = "attach"
    steps = (Step("mapping", "compute.instance.volume.attach.start"),
             Step("reserve", "volume.reserve"),
             Step("export", "volume.attach.start"),
             Step("in-use", "volume.attach.end"),
             Step("attached", "compute.instance.volume.attach.end"))

    def prepare(self, world, case):
        case.made["server"] = world.base_server()
        case.made["volume"] = world.volumes.create()["id"]

    def start(self, world, case):
        world.compute.call("POST", f"/servers/{case.made['server']}/os-volume_attachments",
                           json={"volumeAttachment": {"volumeId": case.made["volume"]}})

    def outcome(self, world, case):
        return volume_outcome(world, case, attached="done", available="undone")

    def cleanup(self, world, case):
        detach_and_delete(world, case)


class Detach(Flow):
    """computed/flows/volumes.py (detach) with volumed/flows/detach.py."""
    name = "detach"
    steps = (Step("detaching", "compute.instance.volume.detach.start"),
             Step("unexport", "volume.detach.start"),
             Step("available", "volume.detach.end"),
             Step("detached", "compute.instance.volume.detach.end"))
    hold_timeout = 240.0  # the guest may take computed's whole detach timeout (160 s)

    def prepare(self, world, case):
        case.made["server"] = world.base_server()
        case.made["volume"] = world.volumes.create()["id"]
        attach(world, case.made["server"], case.made["volume"])

    def start(self, world, case):
        world.compute.call("DELETE", f"/servers/{case.made['server']}/os-volume_attachments/"
                                     f"{case.made['volume']}")

    def outcome(self, world, case):
        return volume_outcome(world, case, attached="undone", available="done")

    def cleanup(self, world, case):
        detach_and_delete(world, case)


class Snapshot(Flow):
    """computed/flows/snapshot.py: createImage."""
    name = "snapshot"
    steps = (Step("task", "compute.instance.snapshot.start"),
             Step("image record", "image.create"),
             Step("upload", "image.prepare"),
             Step("image active", "image.activate"),
             Step("done", "compute.instance.snapshot.end"))

    def prepare(self, world, case):
        case.made["server"] = world.base_server()
        case.made["name"] = f"killmatrix-snap-{os.urandom(4).hex()}"

    def start(self, world, case):
        world.compute.action(case.made["server"], "createImage", {"name": case.made["name"]})

    def outcome(self, world, case):
        # A snapshot that failed while imaged was away could not delete its
        # image then: it stays queued until computed's periodic pass
        # (reconcile.delete_unfinished_images, every sync_power_state_interval)
        # deletes it, once imaged answers again.
        images = world.images_named(case.made["name"])
        deadline = time.monotonic() + UNFINISHED_IMAGE_GRACE
        while any(i["status"] == "queued" for i in images) and time.monotonic() < deadline:
            time.sleep(1.0)
            images = world.images_named(case.made["name"])
        case.made["images"] = [i["id"] for i in images]
        server = world.compute.show(case.made["server"])
        assert server["OS-EXT-STS:task_state"] is None, server
        if any(i["status"] == "active" for i in images):
            assert len(images) == 1, images
            return "done"
        assert not images, f"snapshot images left: {[(i['id'], i['status']) for i in images]}"
        return "undone"

    def cleanup(self, world, case):
        for image_id in case.made.get("images", []):
            world.images.delete(image_id)


class Terminate(Flow):
    """computed/flows/terminate.py: DELETE /servers/{id}, with a volume."""
    name = "terminate"
    steps = (Step("deleting", "compute.instance.delete.start"),
             Step("ports", "port.delete.end"),
             Step("volumes", "volume.detach.end"),
             Step("deleted", "compute.instance.delete.end"))
    hold_timeout = 180.0

    def prepare(self, world, case):
        server = world.compute.create(networks=[{"uuid": world.private_network}])
        case.made["server"] = server["id"]
        world.compute.wait_status(server["id"], "ACTIVE", timeout=300)
        world.compute.wait_console(server["id"], BOOTED, timeout=300)  # (see base_server)
        case.made["volume"] = world.volumes.create()["id"]
        attach(world, case.made["server"], case.made["volume"])

    def start(self, world, case):
        world.compute.call("DELETE", f"/servers/{case.made['server']}")

    def outcome(self, world, case):
        gone = world.compute.call("GET", f"/servers/{case.made['server']}").status_code == 404
        volume = world.volumes.show(case.made["volume"])
        if gone:
            assert volume["status"] == "available", volume
            return "done"
        server = world.compute.show(case.made["server"])
        # a delete that could not finish leaves ERROR, to be asked again
        assert server["status"] == "ERROR", f"server is {server['status']}"
        return "undone"

    def cleanup(self, world, case):
        world.compute.delete(case.made["server"])
        world.volumes.wait(case.made["volume"], "available")
        world.volumes.delete(case.made["volume"])


# --- volumed --------------------------------------------------------------------------
class Backup(Flow):
    """volumed/flows/backups.py: create."""
    name = "backup"
    steps = (Step("creating", "backup.create.start"),
             Step("chunks", "backup.createprogress"),
             Step("available", "backup.create.end"))

    def prepare(self, world, case):
        case.made["volume"] = world.volumes.create()["id"]

    def start(self, world, case):
        response = world.volumes.call("POST", "/backups", json={"backup": {
            "volume_id": case.made["volume"], "name": f"km-{os.urandom(3).hex()}"}})
        if response.status_code == 202:
            case.made["backup"] = response.json()["backup"]["id"]

    def outcome(self, world, case):
        volume = world.volumes.show(case.made["volume"])
        assert volume["status"] == "available", volume
        backup_id = case.made.get("backup")
        if backup_id is None:
            backups = world.volumes.call("GET", "/backups/detail").json()["backups"]
            mine = [b for b in backups if b["volume_id"] == case.made["volume"]]
            assert len(mine) <= 1, mine
            backup_id = case.made["backup"] = mine[0]["id"] if mine else None
        if backup_id is None:
            return "undone"
        backup = world.volumes.call("GET", f"/backups/{backup_id}").json()["backup"]
        if backup["status"] == "available":
            return "done"
        assert backup["status"] == "error", backup
        return "undone"

    def cleanup(self, world, case):
        if case.made.get("backup"):
            world.volumes.call("DELETE", f"/backups/{case.made['backup']}")
            wait_for(lambda: world.volumes.call(
                "GET", f"/backups/{case.made['backup']}").status_code == 404,
                what="the backup deleted")
        world.volumes.delete(case.made["volume"])


# --- networkd -------------------------------------------------------------------------
class FloatingIp(Flow):
    """networkd/floatingips.py: allocate, then associate with a server's port."""
    name = "floating-ip"
    steps = (Step("allocate", "floatingip.create.end"),
             Step("associate", "floatingip.update.end"))

    def prepare(self, world, case):
        case.made["server"] = world.base_server()
        ports = world.network.list("port", device_id=case.made["server"])
        case.made["port"] = ports[0]["id"]

    def start(self, world, case):
        response = world.network.call("POST", "/floatingips", json={"floatingip": {
            "floating_network_id": world.public_network}})
        if response.status_code != 201:
            return
        case.made["fip"] = response.json()["floatingip"]["id"]
        world.network.call("PUT", f"/floatingips/{case.made['fip']}",
                           json={"floatingip": {"port_id": case.made["port"]}})

    def outcome(self, world, case):
        fips = [f for f in world.network.list("floatingip")
                if f["id"] == case.made.get("fip")
                or f.get("port_id") == case.made["port"]]
        case.made["fips"] = [f["id"] for f in fips]
        associated = [f for f in fips if f.get("port_id") == case.made["port"]]
        if associated:
            fip = associated[0]
            rules = world.nft_ruleset()
            assert f"ip daddr {fip['floating_ip_address']} dnat ip to " \
                   f"{fip['fixed_ip_address']}" in rules, "associated, but no DNAT rule"
            return "done"
        return "undone"

    def cleanup(self, world, case):
        for fip_id in case.made.get("fips", []) + [case.made.get("fip")]:
            if fip_id:
                world.network.delete("floatingip", fip_id)


# --- shared pieces --------------------------------------------------------------------
def attach(world, server_id: str, volume_id: str) -> None:
    response = world.compute.call("POST", f"/servers/{server_id}/os-volume_attachments",
                                  json={"volumeAttachment": {"volumeId": volume_id}})
    assert response.status_code == 200, response.text
    world.volumes.wait(volume_id, "in-use")
    wait_for(lambda: world.compute.show(server_id)["OS-EXT-STS:task_state"] is None,
             what="the attach finished")


def attachments_of(world, server_id: str) -> list[str]:
    response = world.compute.call("GET", f"/servers/{server_id}/os-volume_attachments")
    assert response.status_code == 200, response.text
    return [a["volumeId"] for a in response.json()["volumeAttachments"]]


def volume_outcome(world, case, attached: str, available: str) -> str:
    volume = world.volumes.show(case.made["volume"])
    on_server = case.made["volume"] in attachments_of(world, case.made["server"])
    if volume["status"] == "in-use":
        assert on_server, "volume in-use, but the server does not list it"
        assert len(volume["attachments"]) == 1, volume["attachments"]
        return attached
    assert volume["status"] == "available", f"volume is {volume['status']}"
    if on_server:
        # computed's detach may still be asking volumed again (every
        # COMPLETE_RETRY_INTERVAL while it was away): a wait the stack's
        # settled states do not show. It must end within a few retries.
        wait_for(lambda: case.made["volume"] not in attachments_of(world, case.made["server"]),
                 timeout=3 * COMPLETE_RETRY_INTERVAL,
                 what="the server to let go of the available volume")
    return available


def detach_and_delete(world, case) -> None:
    volume_id = case.made["volume"]
    if volume_id in attachments_of(world, case.made["server"]):
        world.compute.call("DELETE", f"/servers/{case.made['server']}/os-volume_attachments/"
                                     f"{volume_id}")
    world.volumes.wait(volume_id, "available", timeout=180)
    wait_for(lambda: world.compute.show(case.made["server"])["OS-EXT-STS:task_state"] is None,
             what="the detach finished")
    world.volumes.delete(volume_id)


FLOWS: tuple[Flow, ...] = (Upload(), Import(), Launch(), Attach(), Detach(), Snapshot(),
                           Backup(), Terminate(), FloatingIp())

