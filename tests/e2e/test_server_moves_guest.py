"""Resize, revert and rebuild seen from inside a real guest (the tiny image
under TCG, reached over SSH at its fixed IP from inside the stack's network
namespace, trusting only the host keys its console printed).

One server goes through the module's tests in order:
  1. before: 1 vCPU, m1.nano's RAM; a marker written near the end of vda
  2. resize to a flavor of 2 vCPUs and twice the RAM: the guest counts 2
     processors and more memory, the marker is still on vda (the disk was
     copied, not made anew)
  3. revert: 1 vCPU and the old RAM again, the marker still there
  4. rebuild onto another image (a copy of the tiny image with
     hw_rng_model=virtio): the marker is gone (vda is new), the guest has a
     virtio RNG it did not have, and its config drive and the metadata
     service name the new image (EC2 ami-id)
"""
from __future__ import annotations

import uuid

import pytest

from shared.netns import socket_in
from tests.support import guest_ssh
from tests.support.compute import Compute, Images, unique
from tests.support.network import fixed_ip, namespace, networking_fixture

pytestmark = pytest.mark.e2e

net = networking_fixture("demo")
READY = r"^POCKETSTACK-SSH: ready\s*$"
KEY = r"^POCKETSTACK-KEY: (\S+)\s*$"     # root's key installed (or none)
MARKER = "POCKETSTACK-MOVE-MARKER"
MARKER_AT_MIB = 1000          # vda is 1 GiB: far beyond what the image holds
VIRTIO_RNG = "0x0004"
# What the guest tells about itself, one name=value a line.
FACTS = ("echo cpus=$(grep -c ^processor /proc/cpuinfo); "
         "echo mem_kb=$(sed -n 's/^MemTotal: *\\([0-9]*\\) kB/\\1/p' /proc/meminfo); "
         f"echo marker=$(dd if=/dev/vda bs=1M skip={MARKER_AT_MIB} count=1 2>/dev/null "
         "| head -c 23 | tr -d '\\000'); "
         "echo virtio=$(cat /sys/bus/virtio/devices/*/device | sort -u); "
         "echo config_drive_ami=$(sed -n 's/.*\"ami-id\": *\"\\([^\"]*\\)\".*/\\1/p' "
         "/mnt/config/ec2/latest/meta-data.json); "
         "echo metadata_ami=$(wget -qO- http://169.254.169.254/latest/meta-data/ami-id)")


def in_guest(stack, demo: Compute, guest: dict, command: str) -> str:
    """Run `command` over SSH once the guest's console says SSH is ready for
    the `guest["boots"]`-th time; returns its output."""
    server_id = guest["id"]
    demo.wait_console(server_id, READY, count=guest["boots"])
    key = demo.wait_console(server_id, KEY, count=guest["boots"]).group(1)
    assert key in ("metadata", "config-drive"), key
    keys = guest_ssh.console_host_keys(demo.console(server_id))
    address = fixed_ip(demo.show(server_id))
    with guest_ssh.session(socket_in(namespace(stack)), address, guest["key"],
                           keys) as client:
        output, status = guest_ssh.run(client, command)
    assert status == 0, output
    return output


def facts(stack, demo: Compute, guest: dict) -> dict:
    output = in_guest(stack, demo, guest, FACTS)
    seen = dict(line.split("=", 1) for line in output.splitlines() if "=" in line)
    assert set(seen) == {"cpus", "mem_kb", "marker", "virtio", "config_drive_ami",
                         "metadata_ami"}, output
    return {**seen, "cpus": int(seen["cpus"]), "mem_kb": int(seen["mem_kb"]),
            "virtio": seen["virtio"].split()}


@pytest.fixture(scope="module")
def guest(stack, demo: Compute, net):
    private_key, public_line = guest_ssh.new_key()
    key_name = unique("moves-key")
    response = demo.call("POST", "/os-keypairs", json={"keypair": {
        "name": key_name, "public_key": public_line}})
    assert response.status_code == 200, response.text
    net.allow_ssh(net.find("security_group", "default")["id"])
    admin = Compute(stack, "admin")
    flavor_id = f"dual-{uuid.uuid4().hex[:8]}"
    response = admin.call("POST", "/flavors", json={"flavor": {
        "name": flavor_id, "id": flavor_id, "vcpus": 2, "ram": 256, "disk": 1,
        "OS-FLV-EXT-DATA:ephemeral": 1}})
    assert response.status_code == 200, response.text
    made = demo.create(name=unique("moves-guest"), key_name=key_name, config_drive=True,
                       networks=[{"uuid": net.find("network", "private")["id"]}])
    demo.wait_status(made["id"], "ACTIVE")
    yield {"id": made["id"], "key": private_key, "flavor": flavor_id, "boots": 1}
    demo.delete(made["id"])
    admin.call("DELETE", f"/flavors/{flavor_id}")
    demo.call("DELETE", f"/os-keypairs/{key_name}")


@pytest.fixture(scope="module")
def rng_image(stack, demo: Compute, tiny_image):
    images = Images(stack, demo.token)
    image = images.create(tiny_image.read_bytes(), disk_format="qcow2",
                          hw_rng_model="virtio")
    assert image["status"] == "active", image
    yield image
    images.delete(image["id"])


def test_1_the_guest_before(stack, demo, guest):
    in_guest(stack, demo, guest, f"printf {MARKER} | dd of=/dev/vda bs=1M "
                                 f"seek={MARKER_AT_MIB} conv=fsync 2>/dev/null; sync")
    seen = facts(stack, demo, guest)
    assert seen["cpus"] == 1 and seen["marker"] == MARKER, seen
    assert VIRTIO_RNG not in seen["virtio"]
    assert seen["config_drive_ami"] == seen["metadata_ami"] != ""
    guest["before"] = seen


def test_2_resize_gives_the_guest_the_new_vcpus_and_ram(stack, demo, guest):
    stack.openstack("server", "resize", "--flavor", guest["flavor"], "--wait", guest["id"])
    demo.wait_status(guest["id"], "VERIFY_RESIZE")
    guest["boots"] = 1                    # the resized server's console starts anew
    seen = facts(stack, demo, guest)
    assert seen["cpus"] == 2, seen
    assert seen["mem_kb"] > guest["before"]["mem_kb"] + 100 * 1024, (seen, guest["before"])
    assert seen["marker"] == MARKER       # vda was copied and grown, not made anew


def test_3_revert_gives_back_the_old_vcpus_and_ram(stack, demo, guest):
    stack.openstack("server", "resize", "revert", guest["id"])
    demo.wait_status(guest["id"], "ACTIVE", task_state=None)
    guest["boots"] = 2                    # the old console, and the boot after the revert
    seen = facts(stack, demo, guest)
    assert seen["cpus"] == 1 and seen["mem_kb"] == guest["before"]["mem_kb"], seen
    assert seen["marker"] == MARKER


def test_4_rebuild_boots_the_new_image(stack, demo, guest, rng_image):
    shown = stack.openstack("server", "rebuild", "--image", rng_image["id"], "--wait",
                            guest["id"])
    assert "adminPass" in shown.stdout
    server = demo.wait_status(guest["id"], "ACTIVE", task_state=None)
    assert server["image"]["id"] == rng_image["id"]
    guest["boots"] = 1
    seen = facts(stack, demo, guest)
    assert seen["marker"] != MARKER, seen                    # a new vda
    assert VIRTIO_RNG in seen["virtio"], seen                # the new image's hardware
    assert seen["config_drive_ami"] == seen["metadata_ami"]
    assert seen["metadata_ami"] != guest["before"]["metadata_ami"]  # the new image's id
