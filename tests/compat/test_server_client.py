"""The unmodified openstack client from PyPI, the whole way through: boot
the tiny image, read the console, attach and detach a volume, stop, start,
reboot, snapshot and boot the snapshot, delete and check that nothing but
the image (unchanged) and the volume (available) is left."""
from __future__ import annotations

import hashlib
import json
import re
import time

import pytest

from tests.support.compute import (
    BOOT_TIMEOUT,
    GIB,
    domain_exists,
    instances_dir,
    tgt_targets,
    unique,
)

pytestmark = [pytest.mark.compat, pytest.mark.e2e]


def as_json(result):
    return json.loads(result.stdout)


def wait_console(stack, server: str, pattern: str, timeout: float = BOOT_TIMEOUT) -> str:
    deadline = time.monotonic() + timeout
    while True:
        output = stack.openstack("console", "log", "show", server).stdout
        if re.search(pattern, output, re.MULTILINE):
            return output
        if time.monotonic() > deadline:
            raise AssertionError(f"{pattern!r} not on {server}'s console:\n{output[-2000:]}")
        time.sleep(2)


def wait_field(stack, kind: str, name: str, field: str, value: str, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while True:
        current = stack.openstack(kind, "show", name, "-f", "value", "-c", field).stdout.strip()
        if current == value:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{kind} {name}: {field} is {current!r}, not {value!r}")
        time.sleep(1)


@pytest.fixture
def names(stack):
    made = {"servers": [], "volumes": [], "images": []}
    yield made
    for server in made["servers"]:
        stack.openstack("server", "delete", "--wait", server, check=False)
    for volume in made["volumes"]:
        stack.openstack("volume", "delete", volume, check=False)
    for image in made["images"]:
        stack.openstack("image", "delete", image, check=False)


def test_the_whole_server_flow_with_the_real_client(stack, names, tmp_path):
    tiny = as_json(stack.openstack("image", "show", "pocketstack-tiny", "-f", "json"))
    vm, vol, snap, vm2 = unique("vm"), unique("vol"), unique("snap"), unique("vm2")
    names["servers"] += [vm, vm2]
    names["volumes"].append(vol)
    names["images"].append(snap)

    server = as_json(stack.openstack("server", "create", "--image", "pocketstack-tiny",
                                     "--flavor", "m1.nano", "--wait", vm, "-f", "json"))
    assert server["status"] == "ACTIVE"
    assert server["flavor"].startswith("m1.nano") and "pocketstack-tiny" in server["image"]
    console = wait_console(stack, vm, r"^POCKETSTACK-BOOTED")
    assert f"POCKETSTACK-DISKS: vda={GIB} vdb={GIB}" in console
    listed = as_json(stack.openstack("server", "list", "-f", "json"))
    assert {(s["Name"], s["Status"]) for s in listed} >= {(vm, "ACTIVE")}

    # A volume, attached while the server runs: the guest sees vdc.
    stack.openstack("volume", "create", "--size", "1", vol)
    wait_field(stack, "volume", vol, "status", "available")
    attached = as_json(stack.openstack("server", "add", "volume", vm, vol, "-f", "json"))
    assert attached["Device"] == "/dev/vdc"
    wait_field(stack, "volume", vol, "status", "in-use")
    wait_console(stack, vm, rf"^POCKETSTACK-DISKS: vda={GIB} vdb={GIB} vdc={GIB}\s*$")
    volume_id = stack.openstack("volume", "show", vol, "-f", "value", "-c", "id").stdout.strip()
    assert volume_id in tgt_targets(stack)
    stack.openstack("server", "remove", "volume", vm, vol)
    wait_field(stack, "volume", vol, "status", "available")
    assert volume_id not in tgt_targets(stack)

    # Power: stop, start, reboot.
    stack.openstack("server", "stop", vm)
    wait_field(stack, "server", vm, "status", "SHUTOFF")
    stack.openstack("server", "start", vm)
    wait_field(stack, "server", vm, "status", "ACTIVE")
    stack.openstack("server", "reboot", "--hard", "--wait", vm)
    wait_field(stack, "server", vm, "status", "ACTIVE")

    # A snapshot, and a second server booted from it.
    image = as_json(stack.openstack("server", "image", "create", "--name", snap, "--wait", vm,
                                    "-f", "json"))
    assert image["status"] == "active"
    assert image["properties"]["image_type"] == "snapshot"
    assert image["properties"]["base_image_ref"] == tiny["id"]
    assert stack.openstack("server", "show", vm, "-f", "value", "-c", "status").stdout.strip() \
        == "ACTIVE"
    second = as_json(stack.openstack("server", "create", "--image", snap, "--flavor", "m1.nano",
                                     "--wait", vm2, "-f", "json"))
    assert second["status"] == "ACTIVE"
    console = wait_console(stack, vm2, r"^POCKETSTACK-BOOTED")
    assert f"POCKETSTACK-DISKS: vda={GIB} vdb={GIB}" in console

    # Delete: nothing left but the image (unchanged) and the volume (available).
    ids = [as_json(stack.openstack("server", "show", name, "-f", "json"))["id"]
           for name in (vm, vm2)]
    stack.openstack("server", "delete", "--wait", vm, vm2)
    for server_id in ids:
        assert not (instances_dir(stack) / server_id).exists()
        assert not domain_exists(server_id)
    assert stack.openstack("volume", "show", vol, "-f", "value", "-c", "status").stdout.strip() \
        == "available"
    after = as_json(stack.openstack("image", "show", "pocketstack-tiny", "-f", "json"))
    assert after["checksum"] == tiny["checksum"] and after["status"] == "active"
    saved = tmp_path / "tiny.qcow2"
    stack.openstack("image", "save", "--file", str(saved), "pocketstack-tiny")
    assert hashlib.md5(saved.read_bytes()).hexdigest() == tiny["checksum"]


def test_keypair_and_server_lookups_by_name(stack, names, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519
    key_file = tmp_path / "key.pub"
    key_file.write_text(ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode() + "\n")
    key, vm = unique("key"), unique("named")
    names["servers"].append(vm)
    stack.openstack("keypair", "create", "--public-key", str(key_file), key)
    stack.openstack("server", "create", "--image", "pocketstack-tiny", "--flavor", "m1.nano",
                    "--key-name", key, "--property", "lab=1", vm)
    shown = as_json(stack.openstack("server", "show", vm, "-f", "json"))
    assert shown["key_name"] == key and shown["properties"] == {"lab": "1"}
    missing = stack.openstack("server", "show", unique("nobody"), check=False)
    assert missing.returncode != 0 and "No Server found" in missing.stderr
    stack.openstack("server", "delete", "--wait", vm)
    stack.openstack("keypair", "delete", key)
    flavors = as_json(stack.openstack("flavor", "list", "-f", "json"))
    assert "m1.nano" in {f["Name"] for f in flavors}
    limits = {item["Name"]: item["Value"] for item in as_json(
        stack.openstack("limits", "show", "--absolute", "-f", "json"))}
    assert limits["max_total_cores"] == 20 and "total_cores_used" in limits
