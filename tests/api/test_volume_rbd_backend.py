"""volumed's rbd backend against a real single-node Ceph: a volume type whose
extra spec volume_backend_name is `rbd` puts its volumes in the pool
`volumes` as RBD images; snapshots are RBD snapshots; a volume from a
snapshot, or from an image in imaged's rbd store, is a copy-on-write clone
(seen with Ceph's own `rbd info`: its parent); an attachment answers an rbd
connection_info, not iSCSI; backups, restores and uploads to an image read
and write the RBD image in place.

One stack of this module's own, with its Ceph, imaged on the rbd store."""
from __future__ import annotations

import os
import uuid

import pytest

from shared.units import MiB
from tests.api.test_volume_backups import wait_backup
from tests.support.ceph import rbd_images, rbd_json, read_rbd
from tests.support.images import Images, configured_stack, raw_bytes, wait_for
from tests.support.volumes import VolumeApi, connector

TYPE = "ceph"


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory, stack):
    api_conf = ("[image]\nshow_image_direct_url = true\n\n"
                "[store]\nstores = file,rbd\ndefault_store = rbd\n")
    own = configured_stack(tmp_path_factory, stack, 35, api_conf, ceph=True)
    own.openstack("volume", "type", "create", "--property", "volume_backend_name=rbd", TYPE,
                  cloud="pocketstack-admin")
    yield own
    own.down()


@pytest.fixture(scope="module")
def demo(own_stack) -> VolumeApi:
    return VolumeApi(own_stack, "demo")


def parent_of(own_stack, volume_id: str) -> dict | None:
    return rbd_json(own_stack, "info", f"volumes/volume-{volume_id}").get("parent")


def test_volumes_snapshots_and_clones_are_rbd(own_stack, demo):
    volume = demo.create(size=1, volume_type=TYPE)
    assert f"volume-{volume['id']}" in rbd_images(own_stack, "volumes")
    assert rbd_json(own_stack, "info", f"volumes/volume-{volume['id']}")["size"] == 1 << 30

    snapshot = demo.snapshot(volume["id"])
    snaps = rbd_json(own_stack, "snap", "ls", f"volumes/volume-{volume['id']}")
    assert [snap["name"] for snap in snaps] == [f"snapshot-{snapshot['id']}"]

    child = demo.create(size=2, volume_type=TYPE, snapshot_id=snapshot["id"])
    parent = parent_of(own_stack, child["id"])
    assert parent and (parent["pool"], parent["image"], parent["snapshot"]) == \
        ("volumes", f"volume-{volume['id']}", f"snapshot-{snapshot['id']}")
    assert rbd_json(own_stack, "info", f"volumes/volume-{child['id']}")["size"] == 2 << 30

    # The clone first: Ceph keeps a snapshot that clones were made from.
    demo.delete(child["id"])
    demo.wait_gone(child["id"])
    demo.call("DELETE", f"/snapshots/{snapshot['id']}", expect=202)
    assert wait_for(lambda: demo.call("GET", f"/snapshots/{snapshot['id']}").status_code == 404,
                    timeout=60)
    demo.delete(volume["id"])
    demo.wait_gone(volume["id"])
    assert rbd_images(own_stack, "volumes") == []


def test_a_volume_from_an_rbd_image_is_a_clone_and_holds_the_image(own_stack, demo):
    images = Images(own_stack, own_stack.token("demo"))
    data = raw_bytes(4096) + os.urandom(3 * MiB)
    image = images.uploaded(data)
    volume = demo.create(size=1, volume_type=TYPE, imageRef=image["id"])
    assert volume["bootable"] == "true"
    parent = parent_of(own_stack, volume["id"])
    assert parent and (parent["pool"], parent["image"], parent["snapshot"]) == \
        ("images", image["id"], "snap")
    # The image cannot go while a volume is cloned from it (Glance's InUseByStore).
    refused = images.delete(image["id"])
    assert refused.status_code == 409 and "in use" in refused.text
    demo.delete(volume["id"])
    demo.wait_gone(volume["id"])
    assert images.delete(image["id"]).status_code == 204
    assert image["id"] not in rbd_images(own_stack, "images")


def test_an_attachment_is_an_rbd_connection(own_stack, demo):
    volume = demo.create(size=1, volume_type=TYPE)
    attachment = demo.attach(volume["id"], connector(), instance=str(uuid.uuid4()))
    info = attachment["connection_info"]
    assert info["driver_volume_type"] == "rbd"
    assert info["name"] == f"volumes/volume-{volume['id']}"
    assert info["hosts"] == ["127.0.0.1"] and info["ports"] == [str(own_stack.port("ceph-mon-v1"))]
    assert (info["auth_enabled"], info["auth_username"], info["secret_type"]) == \
        (True, "cinder", "ceph")
    uuid.UUID(info["secret_uuid"])
    assert "target_iqn" not in info and "auth_password" not in info
    demo.complete(attachment["id"])
    assert demo.show(volume["id"])["status"] == "in-use"
    demo.detach(attachment["id"])
    assert demo.wait(volume["id"], "available")
    demo.delete(volume["id"])
    demo.wait_gone(volume["id"])
    assert rbd_images(own_stack, "volumes") == []


def test_backup_restore_and_upload_read_and_write_ceph_in_place(own_stack, demo):
    """Backups and uploads of an rbd volume read it through librbd (no
    export, no iSCSI); a restore writes into an rbd volume the same way."""
    images = Images(own_stack, own_stack.token("demo"))
    data = raw_bytes(4096) + os.urandom(3 * MiB)
    image = images.uploaded(data)
    volume = demo.create(size=1, volume_type=TYPE, imageRef=image["id"])
    backup = demo.call("POST", "/backups", json={"backup": {"volume_id": volume["id"]}},
                       expect=202).json()["backup"]
    assert wait_backup(demo, backup["id"])["size"] == 1
    target = demo.create(size=1, volume_type=TYPE)
    demo.call("POST", f"/backups/{backup['id']}/restore",
              json={"restore": {"volume_id": target["id"]}}, expect=202)
    demo.wait(target["id"], "available")
    assert read_rbd(own_stack, "volumes", f"volume-{target['id']}", 0, len(data)) == data

    answer = demo.action(volume["id"], "os-volume_upload_image", {
        "image_name": "from-rbd", "disk_format": "raw", "container_format": "bare"},
        expect=202).json()["os-volume_upload_image"]
    demo.wait(volume["id"], "available")
    assert wait_for(lambda: images.show(answer["image_id"])["status"] == "active", timeout=120)
    part = images.download(answer["image_id"], Range=f"bytes=0-{len(data) - 1}")
    assert part.status_code == 206 and part.content == data

    images.delete(answer["image_id"])
    demo.call("DELETE", f"/backups/{backup['id']}", expect=202)
    for made in (target, volume):
        demo.delete(made["id"])
        demo.wait_gone(made["id"])
    assert wait_for(lambda: demo.call("GET", f"/backups/{backup['id']}").status_code == 404)
    assert images.delete(image["id"]).status_code == 204
