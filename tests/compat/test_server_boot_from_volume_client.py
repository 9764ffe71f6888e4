"""Boot from volume with the unmodified openstack client: `server create
--volume` boots an existing volume made from the tiny image, and `--image
--boot-from-volume SIZE` has computed make the volume from the image. The
guest's vda is the volume (over iSCSI, nothing of the image in the instance
directory); what the first server writes on vda is read by a second one
booted from the same volume; delete_on_termination decides whether the
volume outlives its server."""
from __future__ import annotations

import json
import time

import pytest

from tests.compat.test_server_client import as_json, wait_console, wait_field
from tests.support.compute import GIB, Compute, instances_dir, unique

pytestmark = [pytest.mark.compat, pytest.mark.e2e]
MARK_OFFSET_MIB = 512  # far past the tiny image's FAT: free space of the 1 GiB volume


@pytest.fixture
def names(stack):
    made: dict[str, list[str]] = {"servers": [], "volumes": [], "images": [],
                                  "snapshots": []}
    yield made
    for server in made["servers"]:
        stack.openstack("server", "delete", "--wait", server, check=False)
    for image in made["images"]:
        stack.openstack("image", "delete", image, check=False)
    for snapshot in made["snapshots"]:
        stack.openstack("volume", "snapshot", "delete", snapshot, check=False)
        wait_gone(stack, "volume snapshot", snapshot)
    for volume in made["volumes"]:
        stack.openstack("volume", "delete", volume, check=False)


def user_data(tmp_path, name: str, script: str) -> str:
    path = tmp_path / name
    path.write_text(script)
    return str(path)


def wait_gone(stack, kind: str, name: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while stack.openstack(*kind.split(), "show", name, check=False).returncode == 0:
        if time.monotonic() > deadline:
            raise AssertionError(f"{kind} {name} is still there")
        time.sleep(1)


def hypervisor(stack) -> dict:
    """The host's usage, as an admin reads it (os-hypervisors/detail; the
    client's `hypervisor show` also wants os-aggregates, which computed has not)."""
    return Compute(stack, "admin").hypervisor()


def volume_backed_checks(stack, server: dict, volume_id: str) -> None:
    """What every volume-backed server shows: no image, the boot volume in
    its volumes, vda over iSCSI and no copy of the image on the host."""
    assert server["image"] == "N/A (booted from volume)"
    shown = as_json(stack.openstack("server", "show", server["id"], "-f", "json"))
    assert [v["id"] for v in shown["volumes_attached"]] == [volume_id]
    volume = as_json(stack.openstack("volume", "show", volume_id, "-f", "json"))
    assert volume["status"] == "in-use"
    assert volume["attachments"][0]["device"] == "/dev/vda"
    assert volume["attachments"][0]["server_id"] == server["id"]
    directory = instances_dir(stack) / server["id"]
    assert not (directory / "disk").exists()  # vda is the volume
    xml = (directory / "libvirt.xml").read_text()
    assert "protocol=\"iscsi\"" in xml and "<boot order=\"1\"" in xml


def test_boot_an_existing_volume_and_its_data_outlives_the_server(stack, names, tmp_path):
    bootvol, vm, vm2 = unique("bootvol"), unique("vm"), unique("vm2")
    names["servers"] += [vm, vm2]
    names["volumes"].append(bootvol)
    stack.openstack("volume", "create", "--image", "pocketstack-tiny", "--size", "1",
                    bootvol)
    wait_field(stack, "volume", bootvol, "status", "available", timeout=300)
    volume_id = stack.openstack("volume", "show", bootvol, "-f", "value", "-c",
                                "id").stdout.strip()
    before = hypervisor(stack)

    marker = unique("written-on-vda")
    writer = user_data(tmp_path, "write.sh", f"""#!/bin/sh
printf '{marker}' | dd of=/dev/vda bs=1M seek={MARK_OFFSET_MIB} conv=notrunc 2>/dev/null
sync
echo "wrote the marker"
""")
    server = as_json(stack.openstack("server", "create", "--volume", bootvol, "--flavor",
                                     "m1.nano", "--user-data", writer, "--wait", vm,
                                     "-f", "json"))
    assert server["status"] == "ACTIVE"
    volume_backed_checks(stack, server, volume_id)
    # The guest booted from the volume: vda is the 1 GiB volume, vdb the ephemeral disk.
    console = wait_console(stack, vm, r"^POCKETSTACK-USERDATA: exit=0")
    assert f"POCKETSTACK-DISKS: vda={GIB} vdb={GIB}" in console
    assert "wrote the marker" in console
    # The flavor's root disk is not taken from the host (Nova: volume-backed).
    during = hypervisor(stack)
    assert during["local_gb_used"] - before["local_gb_used"] == 1  # the ephemeral GiB only

    # Detaching the root volume is refused, as Nova refuses it.
    refused = stack.openstack("server", "remove", "volume", vm, bootvol, check=False)
    assert refused.returncode != 0 and "Cannot detach a root device volume" in refused.stderr

    stack.openstack("server", "delete", "--wait", vm)
    wait_field(stack, "volume", bootvol, "status", "available")  # delete_on_termination false

    reader = user_data(tmp_path, "read.sh", f"""#!/bin/sh
echo "read back: $(dd if=/dev/vda bs=1M skip={MARK_OFFSET_MIB} count=1 2>/dev/null \
| tr -d '\\000')"
""")
    server = as_json(stack.openstack("server", "create", "--volume", bootvol, "--flavor",
                                     "m1.nano", "--user-data", reader, "--wait", vm2,
                                     "-f", "json"))
    wait_console(stack, vm2, rf"^read back: {marker}\s*$")
    stack.openstack("server", "delete", "--wait", vm2)
    wait_field(stack, "volume", bootvol, "status", "available")


@pytest.mark.parametrize("delete_on_termination", [False, True])
def test_boot_from_volume_made_from_the_image(stack, names, delete_on_termination):
    vm = unique("bfv")
    names["servers"].append(vm)
    extra = ["--delete-on-termination"] if delete_on_termination else []
    server = as_json(stack.openstack("server", "create", "--image", "pocketstack-tiny",
                                     "--boot-from-volume", "1", *extra, "--flavor",
                                     "m1.nano", "--wait", vm, "-f", "json"))
    assert server["status"] == "ACTIVE"
    shown = as_json(stack.openstack("server", "show", vm, "-f", "json"))
    volume_id = shown["volumes_attached"][0]["id"]
    names["volumes"].append(volume_id)
    volume_backed_checks(stack, server, volume_id)
    volume = as_json(stack.openstack("volume", "show", volume_id, "-f", "json"))
    assert volume["size"] == 1 and str(volume["bootable"]).lower() == "true"
    assert volume["volume_image_metadata"]["image_name"] == "pocketstack-tiny"
    console = wait_console(stack, vm, r"^POCKETSTACK-BOOTED")
    assert f"POCKETSTACK-DISKS: vda={GIB} vdb={GIB}" in console
    listed = as_json(stack.openstack("server", "list", "--name", vm, "-f", "json"))
    assert listed[0]["Image"] == "N/A (booted from volume)"

    stack.openstack("server", "delete", "--wait", vm)
    found = stack.openstack("volume", "show", volume_id, "-f", "json", check=False)
    if delete_on_termination:
        assert found.returncode != 0 or json.loads(found.stdout)["status"] == "deleting"
    else:
        assert json.loads(found.stdout)["status"] == "available"


def test_snapshot_of_a_volume_backed_server(stack, names):
    """createImage as Nova's snapshot_volume_backed: a volume snapshot and an
    image without data whose properties map it back to a volume."""
    vm, snap = unique("bfv"), unique("snap")
    names["servers"].append(vm)
    names["images"].append(snap)
    stack.openstack("server", "create", "--image", "pocketstack-tiny", "--boot-from-volume",
                    "1", "--delete-on-termination", "--flavor", "m1.nano", "--wait", vm)
    volume_id = as_json(stack.openstack("server", "show", vm, "-f", "json"))[
        "volumes_attached"][0]["id"]
    names["volumes"].append(volume_id)  # its snapshot keeps it past the server's delete
    stack.openstack("server", "image", "create", "--name", snap, "--wait", vm)
    image = as_json(stack.openstack("image", "show", snap, "-f", "json"))
    assert image["status"] == "active" and image["size"] in (0, None)
    properties = image["properties"]
    assert properties["root_device_name"] == "/dev/vda"
    assert str(properties["bdm_v2"]).lower() == "true"
    mapping = properties["block_device_mapping"]
    mapping = json.loads(mapping) if isinstance(mapping, str) else mapping
    assert [(m["source_type"], m["destination_type"], m["boot_index"], m["device_name"])
            for m in mapping] == [("snapshot", "volume", 0, "/dev/vda")]
    snapshot = as_json(stack.openstack("volume", "snapshot", "show", mapping[0]["snapshot_id"],
                                       "-f", "json"))
    names["snapshots"].append(snapshot["id"])
    assert snapshot["volume_id"] == volume_id and snapshot["name"] == f"snapshot for {snap}"
    # Nova's proxy shows it too, made ACTIVE without data.
    shown = Compute(stack).call("GET", f"/images/{image['id']}").json()["image"]
    assert shown["status"] == "ACTIVE" and shown["OS-EXT-IMG-SIZE:size"] == 0
    assert shown["metadata"]["block_device_mapping"][0]["snapshot_id"] == snapshot["id"]


def test_a_volume_in_use_cannot_boot_a_second_server(stack, names, tmp_path):
    bootvol, vm, vm2 = unique("bootvol"), unique("vm"), unique("vm2")
    names["servers"] += [vm, vm2]
    names["volumes"].append(bootvol)
    stack.openstack("volume", "create", "--image", "pocketstack-tiny", "--size", "1",
                    bootvol)
    wait_field(stack, "volume", bootvol, "status", "available", timeout=300)
    stack.openstack("server", "create", "--volume", bootvol, "--flavor", "m1.nano",
                    "--wait", vm)
    second = stack.openstack("server", "create", "--volume", bootvol, "--flavor", "m1.nano",
                             vm2, check=False)
    assert second.returncode != 0
    # Nova's InvalidVolume around volumed's own 400 on the reservation.
    assert "Invalid volume: Invalid input received: Invalid volume: " in second.stderr
    assert "already has an attachment" in second.stderr and "(HTTP 400)" in second.stderr
    assert stack.openstack("server", "list", "--name", vm2, "-f", "value").stdout == ""
