"""The rbd store (Glance's rbd store) against a real single-node Ceph: the
stack runs its own (pocketstack.conf [ceph] enabled), imaged keeps images
as RBD images with a protected snapshot `snap` in the pool `images`, as
client.glance. What the store did is checked with Ceph's own `rbd` tool.

One stack of this module's own, with two named stores: `ceph` (rbd, the
default) and `local` (file)."""
from __future__ import annotations

import hashlib
import os
import re
import signal
import uuid

import pytest
import requests

from shared.units import MiB
from tests.support.ceph import cluster_fsid, rbd, rbd_images, rbd_json
from tests.support.images import (
    Images,
    configured_stack,
    raw_bytes,
    send_truncated_upload,
    wait_for,
)

BIG = 300 * MiB
OP_TIMEOUT = 10     # seconds a write waits for a cluster that went away


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory, stack):
    local = tmp_path_factory.mktemp("local-store")
    api_conf = ("[image]\nshow_image_direct_url = true\n\n"
                "[store]\nenabled_backends = local:file, ceph:rbd\ndefault_backend = ceph\n\n"
                "[store:ceph]\nstore_description = Ceph RBD, pool images\n"
                f"rados_op_timeout = {OP_TIMEOUT}\n\n"
                f"[store:local]\nfilesystem_store_datadir = {local}\n")
    own = configured_stack(tmp_path_factory, stack, 15, api_conf, ceph=True)
    yield own
    own.down()


@pytest.fixture(scope="module")
def demo(own_stack) -> Images:
    return Images(own_stack, own_stack.token("demo"))


def image_data(size: int) -> bytes:
    """Random bytes behind a plain-raw first sector (so the format inspector
    sees raw)."""
    return raw_bytes(4096) + os.urandom(size - 4096)


def leftovers(own_stack) -> list[str]:
    """RBD images in the pool that no image of imaged points at (the tiny
    image, registered by `up`, is the one expected)."""
    tiny = own_stack.openstack("image", "show", "pocketstack-tiny", "-f", "value", "-c", "id",
                               cloud="pocketstack-admin").stdout.strip()
    return [name for name in rbd_images(own_stack, "images") if name != tiny]


def test_300_mib_up_down_range_and_delete(own_stack, demo):
    data = image_data(BIG)
    image = demo.uploaded(data)
    assert image["status"] == "active" and image["size"] == BIG
    assert image["checksum"] == hashlib.md5(data).hexdigest()
    assert image["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert image["stores"] == "ceph"
    # Glance's location: rbd://<fsid>/<pool>/<image>/<snapshot>
    assert image["direct_url"] == f"rbd://{cluster_fsid(own_stack)}/images/{image['id']}/snap"

    info = rbd_json(own_stack, "info", f"images/{image['id']}")
    assert info["size"] == BIG
    snaps = rbd_json(own_stack, "snap", "ls", f"images/{image['id']}")
    assert [snap["name"] for snap in snaps] == ["snap"]
    assert rbd_json(own_stack, "info", f"images/{image['id']}@snap")["protected"] == "true"

    with demo.request("GET", f"/v2/images/{image['id']}/file", stream=True) as whole:
        assert whole.status_code == 200
        assert int(whole.headers["Content-Length"]) == BIG
        digest = hashlib.md5()
        for chunk in whole.iter_content(4 * MiB):
            digest.update(chunk)
    assert digest.hexdigest() == image["checksum"]
    start = 123 * MiB + 17                   # across RBD objects (8 MiB each)
    part = demo.download(image["id"], Range=f"bytes={start}-{start + 20 * MiB}")
    assert part.status_code == 206
    assert part.content == data[start:start + 20 * MiB + 1]
    tail = demo.download(image["id"], Range="bytes=-1000")
    assert tail.status_code == 206 and tail.content == data[-1000:]

    assert demo.delete(image["id"]).status_code == 204
    assert image["id"] not in rbd_images(own_stack, "images")
    assert leftovers(own_stack) == []


def test_delete_refused_while_a_clone_exists(own_stack, demo):
    data = image_data(3 * MiB)
    image = demo.uploaded(data)
    clone = f"volumes/clone-{uuid.uuid4().hex[:8]}"
    rbd(own_stack, "clone", f"images/{image['id']}@snap", clone)
    try:
        refused = demo.delete(image["id"])
        assert refused.status_code == 409, refused.text
        assert "in use" in refused.text and "clone" in refused.text
        # Nothing changed: active, snapshot still protected, data still served.
        assert demo.show(image["id"])["status"] == "active"
        assert rbd_json(own_stack, "info", f"images/{image['id']}@snap")["protected"] == "true"
        assert demo.download(image["id"]).content == data
        # The real client says the delete failed.
        result = own_stack.openstack("image", "delete", image["id"], check=False)
        assert result.returncode != 0 and "409" in result.stdout + result.stderr
    finally:
        rbd(own_stack, "rm", clone)
    assert demo.delete(image["id"]).status_code == 204
    assert image["id"] not in rbd_images(own_stack, "images")


def test_a_dropped_upload_leaves_no_rbd_image(own_stack, demo):
    image = demo.new()
    send_truncated_upload(own_stack, demo.token, image["id"], 64 * MiB,
                          image_data(12 * MiB))
    assert wait_for(lambda: demo.show(image["id"])["status"] == "queued")
    assert image["id"] not in rbd_images(own_stack, "images")
    assert demo.delete(image["id"]).status_code == 204


def test_the_openstack_client_and_the_stores(own_stack, tmp_path):
    listed = own_stack.openstack("image", "stores", "list", "-f", "json",
                                 cloud="pocketstack-admin")
    assert '"ceph"' in listed.stdout and '"local"' in listed.stdout
    detail = requests.get(own_stack.url("imaged") + "/v2/info/stores/detail", timeout=30,
                          headers={"X-Auth-Token": own_stack.token("admin")}).json()
    ceph = next(store for store in detail["stores"] if store["id"] == "ceph")
    assert ceph["type"] == "rbd" and ceph["default"] == "true"
    assert ceph["properties"] == {"chunk_size": 8 * MiB, "pool": "images",
                                  "thin_provisioning": False,
                                  "fsid": cluster_fsid(own_stack)}

    data = image_data(5 * MiB)
    path = tmp_path / "disk.raw"
    path.write_bytes(data)
    name = f"rbd-{uuid.uuid4().hex[:8]}"
    own_stack.openstack("image", "create", "--disk-format", "raw", "--container-format",
                        "bare", "--file", str(path), name)
    image_id = own_stack.openstack("image", "show", name, "-f", "value",
                                   "-c", "id").stdout.strip()
    assert image_id in rbd_images(own_stack, "images")
    saved = tmp_path / "back.raw"
    own_stack.openstack("image", "save", "--file", str(saved), name)
    assert saved.read_bytes() == data
    own_stack.openstack("image", "delete", name)
    assert image_id not in rbd_images(own_stack, "images")


def test_ceph_outage_during_upload_leaves_no_orphan(own_stack, demo):
    """The OSD is killed while the image is being written: the write fails
    after rados_op_timeout, the image is queued again (as Glance restores
    it after a store failure), and the half-written RBD image, which Ceph
    was not there to have removed, is removed once a second `up` started
    the OSD again. Last in the module: Ceph is down in the middle of it."""
    image = demo.new()
    image_id = image["id"]
    osd_pid = int((own_stack.state_dir / "run" / "ceph" / "osd.0.pid").read_text())
    sent = {"bytes": 0}

    def body():
        block = image_data(MiB)
        for _ in range(BIG // MiB):
            yield block
            sent["bytes"] += len(block)
            if sent["bytes"] == 100 * MiB:
                assert image_id in rbd_images(own_stack, "images")
                os.kill(osd_pid, signal.SIGKILL)

    answer = demo.request("PUT", f"/v2/images/{image_id}/file", data=body(),
                          headers={"Content-Type": "application/octet-stream"})
    assert answer.status_code >= 500, answer.text
    assert demo.show(image_id)["status"] == "queued"
    result = own_stack.up()                      # starts the OSD again, nothing else
    assert re.search(r"^ceph-osd\s+started", result.stdout, re.MULTILINE), result.stdout
    assert wait_for(lambda: image_id not in rbd_images(own_stack, "images"), timeout=120)
    assert not list((own_stack.state_dir / "lib" / "image-rbd-cleanup").glob("*/*.cleanup"))
    assert demo.delete(image_id).status_code == 204
    assert leftovers(own_stack) == []
