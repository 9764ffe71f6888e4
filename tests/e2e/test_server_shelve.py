"""Shelve and unshelve with the real client (`openstack server shelve`,
`server unshelve`), seen from inside a real guest (the tiny image under
TCG, reached over SSH at its fixed IP from inside the stack's namespace)
and from the host.

One server, with a volume, goes through the module's tests in order:
  1. markers written on vda (root), vdb (ephemeral) and vdc (the volume)
  2. shelve: the image "<name>-shelved" (a snapshot of the server), status
     SHELVED_OFFLOADED; on the host: no domain, no instance directory, and
     os-hypervisors counts its vCPU, RAM and disk as free; its port kept
     (unbound), its volume kept attached in the database but not exported
  3. unshelve while locked: 409; unlocked: ACTIVE again, the same address;
     inside: vda's marker is back, vdb is new and empty, the volume's marker
     is there; the shelved image is deleted; the host's figures are back
  4. the actions as Nova names them (`openstack server event list`)
"""
from __future__ import annotations

import json

import pytest
import requests

from shared.netns import socket_in
from tests.support import guest_ssh
from tests.support.compute import (
    Compute,
    Images,
    Volumes,
    instances_dir,
    project_id_of,
    unique,
    wait_for,
)
from tests.support.network import Networking, fixed_ip, namespace, networking_fixture

pytestmark = pytest.mark.e2e

net = networking_fixture("demo")
# dropbear listens early; root's key (from the metadata service) comes later
READY = r"^POCKETSTACK-KEY: (metadata|config-drive)\s*$"
ROOT_AT_MIB = 900     # vda and vdc are 1 GiB: far beyond what the image holds
MARK = "dd if=/dev/{dev} bs=1M skip={at} count=1 2>/dev/null | head -c 32 | tr -d '\\0'; echo"


def in_guest(stack, demo: Compute, guest: dict, command: str) -> str:
    """Run `command` over SSH once the console says root's key is in place
    (an unshelved server has a new console log: once is enough then too)."""
    server_id = guest["id"]
    demo.wait_console(server_id, READY)
    keys = guest_ssh.console_host_keys(demo.console(server_id))
    with guest_ssh.session(socket_in(namespace(stack)), fixed_ip(demo.show(server_id)),
                           guest["key"], keys) as client:
        output, status = guest_ssh.run(client, command)
    assert status == 0, output
    return output


def markers(stack, demo: Compute, guest: dict) -> dict[str, str]:
    command = "; ".join(MARK.format(dev=dev, at=ROOT_AT_MIB if dev != "vdb" else 0)
                        for dev in ("vda", "vdb", "vdc"))
    return dict(zip(("vda", "vdb", "vdc"), in_guest(stack, demo, guest,
                                                    command).splitlines(), strict=True))


@pytest.fixture(scope="module")
def images(stack, demo) -> Images:
    return Images(stack, demo.token)


@pytest.fixture(scope="module")
def volumes(stack, demo) -> Volumes:
    return Volumes(stack, demo.token, project_id_of(stack))


@pytest.fixture(scope="module")
def guest(stack, demo: Compute, net, volumes):
    private_key, public_line = guest_ssh.new_key()
    key_name = unique("shelve-key")
    response = demo.call("POST", "/os-keypairs", json={"keypair": {
        "name": key_name, "public_key": public_line}})
    assert response.status_code == 200, response.text
    net.allow_ssh(net.find("security_group", "default")["id"])
    volume = volumes.create(1)
    name = unique("shelved")
    made = demo.create(name=name, key_name=key_name,
                       networks=[{"uuid": net.find("network", "private")["id"]}])
    demo.wait_status(made["id"], "ACTIVE")
    stack.openstack("server", "add", "volume", made["id"], volume["id"])
    volumes.wait(volume["id"], "in-use")
    yield {"id": made["id"], "name": name, "key": private_key,
           "volume": volume["id"]}
    demo.delete(made["id"])
    volumes.delete(volume["id"])
    demo.call("DELETE", f"/os-keypairs/{key_name}")


@pytest.fixture(scope="module")
def admin(stack):
    return Compute(stack, "admin")


def usage(admin: Compute) -> dict:
    hypervisor = admin.hypervisor()
    return {key: hypervisor[key] for key in ("vcpus_used", "memory_mb_used", "local_gb_used",
                                             "running_vms")}


def test_markers_are_written_on_every_disk(stack, demo, guest):
    written = in_guest(stack, demo, guest, "; ".join(
        f"printf '%s' {dev}-before-shelve | dd of=/dev/{dev} bs=1M seek={at} conv=fsync "
        f"2>/dev/null" for dev, at in (("vda", ROOT_AT_MIB), ("vdb", 0), ("vdc", ROOT_AT_MIB))
    ) + "; sync; echo written")
    assert written.strip() == "written"
    assert markers(stack, demo, guest) == {dev: f"{dev}-before-shelve"
                                           for dev in ("vda", "vdb", "vdc")}


def test_shelve_offloads_the_server_and_frees_the_host(stack, demo, admin, guest, images,
                                                       volumes):
    before = usage(admin)
    network_admin = Networking(stack, "admin")
    [port] = network_admin.list("port", device_id=guest["id"])
    guest["address"] = fixed_ip(demo.show(guest["id"]))
    stack.openstack("server", "shelve", guest["id"])
    server = demo.wait_status(guest["id"], "SHELVED_OFFLOADED", task_state=None, timeout=300)
    assert server["OS-EXT-STS:vm_state"] == "shelved_offloaded"
    assert server["OS-EXT-STS:power_state"] == 4
    shelved = json.loads(stack.openstack("image", "show", f"{guest['name']}-shelved",
                                         "-f", "json").stdout)
    assert shelved["status"] == "active" and shelved["disk_format"] == "qcow2"
    properties = shelved["properties"]
    assert properties["image_type"] == "snapshot"
    assert properties["instance_uuid"] == guest["id"]
    assert properties["base_image_ref"] == demo.image_id()
    assert shelved["visibility"] == "private"
    guest["shelved_image"] = shelved["id"]
    # Nothing of it on the host: no domain, no files, nothing claimed.
    assert not (instances_dir(stack) / guest["id"]).exists()
    assert admin.show(guest["id"])["OS-EXT-SRV-ATTR:host"] is None
    after = usage(admin)
    assert after == {"vcpus_used": before["vcpus_used"] - 1,
                     "memory_mb_used": before["memory_mb_used"] - 128,
                     "local_gb_used": before["local_gb_used"] - 2,
                     "running_vms": before["running_vms"] - 1}
    # Its port stays its own, unbound; its volume stays attached, unexported.
    kept = network_admin.show("port", port["id"])
    assert kept["device_id"] == guest["id"] and kept["binding:host_id"] in ("", None)
    attachments = demo.call("GET", f"/servers/{guest['id']}/os-volume_attachments").json()
    assert [a["volumeId"] for a in attachments["volumeAttachments"]] == [guest["volume"]]
    assert volumes.show(guest["volume"])["status"] == "reserved"
    assert demo.action(guest["id"], "os-getConsoleOutput", {}).status_code == 409
    # An offloaded server cannot be offloaded again, nor shelved.
    offload = admin.action(guest["id"], "shelveOffload")
    assert offload.status_code == 409, offload.text
    assert "vm_state shelved_offloaded" in offload.text
    assert demo.action(guest["id"], "shelve").status_code == 409


def test_unshelve_brings_the_root_disk_back_with_a_new_ephemeral_disk(
        stack, demo, admin, guest, images, volumes):
    offloaded = usage(admin)
    assert stack.openstack("server", "lock", guest["id"]).returncode == 0
    locked = demo.action(guest["id"], "unshelve")
    assert locked.status_code == 409 and "is locked" in locked.text
    stack.openstack("server", "unlock", guest["id"])
    stack.openstack("server", "unshelve", guest["id"])
    server = demo.wait_status(guest["id"], "ACTIVE", task_state=None, timeout=300)
    assert server["OS-EXT-STS:power_state"] == 1
    assert server["image"]["id"] == demo.image_id()          # the server's own image
    assert fixed_ip(server) == guest["address"]              # the same port
    found = markers(stack, demo, guest)
    assert found["vda"] == "vda-before-shelve"                 # the root disk came back
    assert found["vdc"] == "vdc-before-shelve"                 # the volume, reconnected
    assert found["vdb"] != "vdb-before-shelve"                 # a new ephemeral disk
    assert volumes.show(guest["volume"])["status"] == "in-use"
    # The shelved image is gone; the host counts the server again.
    wait_for(lambda: image_gone(images, guest["shelved_image"]), timeout=60,
             what="the shelved image deleted")
    back = usage(admin)
    assert back == {"vcpus_used": offloaded["vcpus_used"] + 1,
                    "memory_mb_used": offloaded["memory_mb_used"] + 128,
                    "local_gb_used": offloaded["local_gb_used"] + 2,
                    "running_vms": offloaded["running_vms"] + 1}


def test_the_actions_are_named_as_nova_names_them(stack, guest):
    listed = json.loads(stack.openstack("server", "event", "list", guest["id"],
                                        "-f", "json").stdout)
    actions = [entry["Action"] for entry in listed]
    assert actions[:2] == ["unshelve", "shelve"], actions
    by_action = {entry["Action"]: entry["Request ID"] for entry in listed}
    shelve = show_event(stack, guest["id"], by_action["shelve"])
    unshelve = show_event(stack, guest["id"], by_action["unshelve"])
    assert [e["event"] for e in shelve["events"]] == ["compute_shelve_instance"]
    assert all(e["result"] == "Success" for e in shelve["events"])
    assert {e["event"] for e in unshelve["events"]} == {
        "get_image_info", "schedule_instances", "compute_unshelve_instance"}


# --- helpers ---------------------------------------------------------------------------
def show_event(stack, server_id: str, request_id: str) -> dict:
    return json.loads(stack.openstack("server", "event", "show", server_id, request_id,
                                      "-f", "json", cloud="pocketstack-admin").stdout)


def image_gone(images: Images, image_id: str) -> bool:
    response = requests.get(f"{images.url}/{image_id}", headers=images.headers, timeout=30)
    return response.status_code == 404 or response.json().get("status") == "deleted"
