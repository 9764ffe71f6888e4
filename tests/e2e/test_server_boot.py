"""A real boot of the tiny image under TCG, through computed's API: what the
guest sees (its disks, config drive, user_data), what the host holds (the
instance directory as Nova lays it out, the image cache, the domain), the
events of the launch, and what terminate leaves (nothing but the image)."""
from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET

import pytest

from tests.support.compute import (
    GIB,
    b64,
    base_name,
    domain_exists,
    instances_dir,
    leftovers,
    unique,
    virsh,
)

pytestmark = pytest.mark.e2e

USER_DATA = """#!/bin/sh
echo "hello from $(hostname) via user_data"
exit 3
"""


@pytest.fixture(scope="module")
def keypair(demo):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519
    key = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    name = unique("boot-key")
    assert demo.call("POST", "/os-keypairs", json={"keypair": {
        "name": name, "public_key": key}}).status_code == 200
    yield name, key
    demo.call("DELETE", f"/os-keypairs/{name}")


@pytest.fixture(scope="module")
def booted(demo, keypair):
    made = demo.create(name="Boot Test_1", key_name=keypair[0], user_data=b64(USER_DATA),
                       metadata={"course": "iaas-101"})
    server = demo.wait_status(made["id"], "ACTIVE")
    demo.wait_console(server["id"], r"^POCKETSTACK-USERDATA: exit=\d+")
    return server


def test_the_guest_sees_root_and_ephemeral_of_the_flavors_sizes(demo, booted):
    console = demo.console(booted["id"])
    assert f"POCKETSTACK-DISKS: vda={GIB} vdb={GIB}" in console
    assert "POCKETSTACK-BOOTED" in console


def test_the_config_drive_gives_hostname_and_user_data(demo, booted):
    console = demo.console(booted["id"])
    assert "POCKETSTACK-CONFIGDRIVE: sr0" in console  # an IDE cdrom: vd* names stay
    assert "POCKETSTACK-HOSTNAME: boot-test-1" in console
    assert "hello from boot-test-1 via user_data" in console
    assert "POCKETSTACK-USERDATA: exit=3" in console


def test_the_config_drive_holds_metadata_and_the_key(stack, booted, keypair):
    iso = instances_dir(stack) / booted["id"] / "disk.config"
    listing = subprocess.run(["isoinfo", "-J", "-i", str(iso), "-x",
                              "/openstack/latest/meta_data.json"],
                             capture_output=True, text=True)
    assert listing.returncode == 0 and listing.stdout, \
        f"the config drive has no openstack/latest/meta_data.json: {listing.stderr}"
    meta = json.loads(listing.stdout)
    assert meta["uuid"] == booted["id"] and meta["hostname"] == "boot-test-1"
    assert meta["public_keys"] == {keypair[0]: keypair[1]}
    assert meta["meta"] == {"course": "iaas-101"}


def test_the_instance_directory_is_laid_out_as_novas(stack, demo, booted):
    directory = instances_dir(stack) / booted["id"]
    # Nova's files, and the guest's serial port as a unix socket (the serial
    # console's websocket proxy connects there; Nova uses a TCP port).
    assert sorted(p.name for p in directory.iterdir()) == [
        "console.log", "console.sock", "disk", "disk.config", "disk.local", "libvirt.xml"]
    info = json.loads(subprocess.run(
        ["qemu-img", "info", "-U", "-f", "qcow2", "--output=json", str(directory / "disk")],
        check=True, capture_output=True, text=True).stdout)
    base = instances_dir(stack) / "_base" / base_name(demo.image_id())
    assert info["backing-filename"] == str(base)
    assert info["backing-filename-format"] == "raw"  # -F always given; base converted
    assert info["virtual-size"] == GIB
    xml = (directory / "libvirt.xml").read_text()
    assert ET.fromstring(xml).get("type") == "qemu"  # TCG here: KVM is not usable
    assert "<acpi />" in xml and f'{directory / "console.log"}' in xml
    assert "auth_password" not in xml


def test_the_domain_is_tcg_with_pocketstack_metadata(booted):
    xml = virsh("dumpxml", booted["id"])
    assert "<domain type='qemu'" in xml
    assert "urn:pocketstack:compute:instance:1" in xml
    assert f"<name>instance-{booted['id'][:8]}</name>" in xml


def test_the_config_drive_is_in_the_running_domain_and_its_definition(booted):
    """The domain starts with its cdrom empty while the ISO is built; the
    ISO is then inserted both live and into the persistent definition, so
    a later start (a hard reboot, a power on) has it too."""
    for flags in ((), ("--inactive",)):
        cdroms = ET.fromstring(virsh("dumpxml", *flags, booted["id"])).findall(
            "devices/disk[@device='cdrom']")
        assert [disk.find("source").get("file").rsplit("/", 2)[-2:] for disk in cdroms] \
            == [[booted["id"], "disk.config"]], flags


def test_every_step_of_the_launch_is_an_event(demo, booted):
    events = demo.events(booted["id"], "")
    steps = ["compute.instance.create.requested", "compute.instance.create.start",
             "scheduler.select_destinations.end", "compute.instance.disks.created",
             "compute.instance.domain.started", "compute.instance.create.end"]
    assert [e for e in events if e in steps] == steps
    assert any(e.startswith("compute.instance.image_cache.") for e in events)
    # The config drive is built while the domain starts: either may end first.
    made = events.index("compute.instance.config_drive.created")
    assert events.index("compute.instance.disks.created") < made \
        < events.index("compute.instance.create.end")


def test_a_second_server_of_the_same_image_hits_the_cache(demo):
    made = demo.create()
    demo.wait_status(made["id"], "ACTIVE")
    assert "compute.instance.image_cache.hit" in demo.events(made["id"])
    demo.delete(made["id"])


def test_delete_leaves_only_the_image_and_its_cached_base(stack, demo, booted):
    image_id = demo.image_id()
    before = demo.call("GET", "/servers/detail").json()
    assert booted["id"] in {s["id"] for s in before["servers"]}
    demo.delete(booted["id"])
    assert leftovers(stack, booted["id"]) == []
    assert not domain_exists(booted["id"])
    assert not (instances_dir(stack) / f"{booted['id']}_del").exists()
    assert (instances_dir(stack) / "_base" / base_name(image_id)).exists()
    assert demo.image_id() == image_id
