"""Servers and Ceph, for real: the stack runs its own Ceph with the servers'
disks in it (pocketstack.conf [ceph] instance_disks: computed's [libvirt]
images_type = rbd) and imaged on the rbd store.

* a raw image in the rbd store: vda is a copy-on-write clone of the image's
  protected snapshot (rbd info shows the parent), vdb an RBD image too, an
  RBD volume of volumed is vdc; the guest writes to each and Ceph has it;
  QEMU reads all three with librbd, no iSCSI involved; the image cannot be
  deleted while the clone exists; terminate leaves the image and the volume
  and nothing else;
* a qcow2 image (not cloneable): fetched once into _base and imported into
  the pool (no parent); a snapshot of the server becomes an active image.
"""
from __future__ import annotations

import subprocess

import pytest
import requests

from tests.support.ceph import rbd_images, rbd_json, read_rbd
from tests.support.compute import (
    GIB,
    Compute,
    Images,
    b64,
    forget_node_secrets,
    instances_dir,
    leftovers,
    secret_usages,
    tgt_targets,
    unique,
)
from tests.support.images import configured_stack
from tests.support.orphans import node_uuid
from tests.support.volumes import VolumeApi

pytestmark = pytest.mark.e2e
TYPE = "ceph"
DISKS_LINE = rf"^POCKETSTACK-DISKS: vda={GIB} vdb={GIB}"


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory, stack):
    api_conf = ("[image]\nshow_image_direct_url = true\n\n"
                "[store]\nstores = file,rbd\ndefault_store = rbd\n")
    own = configured_stack(tmp_path_factory, stack, 55, api_conf, ceph=True,
                           ceph_instance_disks=True)
    own.openstack("volume", "type", "create", "--property", "volume_backend_name=rbd", TYPE,
                  cloud="pocketstack-admin")
    yield own
    node = node_uuid(own)
    own.down()
    forget_node_secrets(node)   # its RBD key (Nova's rbd_secret_uuid): the stack goes


@pytest.fixture(scope="module")
def demo(own_stack):
    client = Compute(own_stack, "demo")
    yield client
    client.cleanup()


@pytest.fixture(scope="module")
def raw_image(own_stack, demo, tmp_path_factory):
    """The tiny image as raw, in the rbd store: what Nova can clone."""
    tiny = demo.image_id()
    qcow2 = tmp_path_factory.mktemp("raw-image") / "tiny.qcow2"
    response = requests.get(f"{own_stack.url('imaged')}/v2/images/{tiny}/file",
                            headers={"X-Auth-Token": demo.token}, timeout=120)
    assert response.status_code == 200, response.text
    qcow2.write_bytes(response.content)
    raw = qcow2.with_suffix(".raw")
    subprocess.run(["qemu-img", "convert", "-f", "qcow2", "-O", "raw", str(qcow2), str(raw)],
                   check=True, timeout=300)
    images = Images(own_stack, demo.token)
    image = images.create(raw.read_bytes(), "raw", min_ram=64)
    assert image["status"] == "active" and image["stores"] == "rbd", image
    yield image
    images.delete(image["id"])


def test_vda_is_a_clone_vdb_and_a_volume_are_rbd_too(own_stack, demo, raw_image):
    volumes = VolumeApi(own_stack, "demo")
    volume = volumes.create(size=1, volume_type=TYPE)
    marker = unique("pocketstack-rbd")
    server = demo.create(image=raw_image["id"], user_data=b64(f"""#!/bin/sh
for disk in vdb vdc; do
  printf '{marker}-'$disk | dd of=/dev/$disk bs=512 conv=notrunc 2>/dev/null
done
sync
echo "read back: $(dd if=/dev/vdc bs=512 count=1 2>/dev/null | tr -d '\\000')"
"""), block_device_mapping_v2=[
        {"source_type": "volume", "destination_type": "volume", "uuid": volume["id"],
         "boot_index": -1, "delete_on_termination": False}])
    sid = server["id"]
    demo.wait_status(sid, "ACTIVE")
    demo.wait_console(sid, rf"{DISKS_LINE} vdc={GIB}\s*$")
    demo.wait_console(sid, rf"^read back: {marker}-vdc\s*$")

    # vda: a clone of the image's protected snapshot, nothing downloaded.
    parent = rbd_json(own_stack, "info", f"vms/{sid}_disk")["parent"]
    assert (parent["pool"], parent["image"], parent["snapshot"]) == \
        ("images", raw_image["id"], "snap")
    assert "compute.instance.image_cache.fetch.end" not in demo.events(sid)
    # vdb in Ceph too, with what the guest wrote; and the volume.
    assert sorted(rbd_images(own_stack, "vms")) == [f"{sid}_disk", f"{sid}_disk.local"]
    length = len(marker) + 4
    assert read_rbd(own_stack, "vms", f"{sid}_disk.local", 0, length).decode() == \
        f"{marker}-vdb"
    assert read_rbd(own_stack, "volumes", f"volume-{volume['id']}", 0, length).decode() == \
        f"{marker}-vdc"
    directory = instances_dir(own_stack) / sid
    xml = (directory / "libvirt.xml").read_text()
    for name in (f"vms/{sid}_disk", f"vms/{sid}_disk.local", f"volumes/volume-{volume['id']}"):
        assert f'protocol="rbd" name="{name}"' in xml
    assert 'protocol="iscsi"' not in xml and not (directory / "disk").exists()
    assert volume["id"] not in tgt_targets(own_stack)
    assert "pocketstack-disks/" in secret_usages()

    # Glance's InUseByStore: the image keeps its data while a clone exists.
    refused = requests.delete(f"{own_stack.url('imaged')}/v2/images/{raw_image['id']}",
                              headers={"X-Auth-Token": demo.token}, timeout=60)
    assert refused.status_code == 409, refused.text

    demo.delete(sid)
    volumes.wait(volume["id"], "available")
    assert leftovers(own_stack, sid, [volume["id"]]) == []
    assert rbd_images(own_stack, "vms") == []
    assert raw_image["id"] in rbd_images(own_stack, "images")
    assert f"volume-{volume['id']}" in rbd_images(own_stack, "volumes")
    volumes.delete(volume["id"])
    volumes.wait_gone(volume["id"])


def test_a_qcow2_image_is_imported_and_a_snapshot_becomes_an_image(own_stack, demo):
    server = demo.create()
    sid = server["id"]
    demo.wait_status(sid, "ACTIVE")
    demo.wait_console(sid, rf"{DISKS_LINE}\s*$")
    info = rbd_json(own_stack, "info", f"vms/{sid}_disk")
    assert "parent" not in info and info["size"] == GIB
    assert "compute.instance.image_cache.fetch.end" in demo.events(sid) or \
        "compute.instance.image_cache.hit" in demo.events(sid)

    taken = demo.action(sid, "createImage", {"name": unique("rbd-snap")})
    assert taken.status_code == 202, taken.text
    image_id = taken.headers["Location"].rsplit("/", 1)[-1]  # no body before 2.45
    images = Images(own_stack, demo.token)
    try:
        demo.wait_status(sid, "ACTIVE", task_state=None)
        snapshot = images.show(image_id)
        assert snapshot["status"] == "active" and snapshot["disk_format"] == "qcow2", snapshot
        assert snapshot["virtual_size"] == GIB
    finally:
        images.delete(image_id)
    demo.delete(sid)
    assert leftovers(own_stack, sid) == []
    assert rbd_images(own_stack, "vms") == []
