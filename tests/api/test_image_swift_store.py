"""The swift store (Glance's swift store) against a real single-node Swift:
the stack runs its own (pocketstack.conf [swift] enabled), whose proxy
validates tokens with identity through keystonemiddleware; imaged keeps
images in the container `glance` of its own project's account, large ones
as segments plus a manifest. What the store did is checked through Swift's
own API, as the account's owner.

One stack of this module's own, with two named stores: `swift` (the
default; images above 100 MiB in segments of 64 MiB) and `local` (file)."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
import requests

from shared.units import MiB
from tests.stack import pocketstack
from tests.support.images import Images, configured_stack, raw_bytes, wait_for
from tests.support.swift import objects, service_token, storage_url

BIG = 300 * MiB
CONTAINER = "glance"


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory, stack):
    local = tmp_path_factory.mktemp("local-store")
    api_conf = ("[image]\nshow_image_direct_url = true\n\n"
                "[store]\nenabled_backends = local:file, swift:swift\n"
                "default_backend = swift\n\n"
                "[store:swift]\nstore_description = OpenStack Swift\nweight = 10\n"
                "swift_store_large_object_size = 100\n"
                "swift_store_large_object_chunk_size = 64\n\n"
                f"[store:local]\nfilesystem_store_datadir = {local}\n")
    own = configured_stack(tmp_path_factory, stack, 16, api_conf, swift=True)
    yield own
    own.down()


@pytest.fixture(scope="module")
def demo(own_stack) -> Images:
    return Images(own_stack, own_stack.token("demo"))


def is_running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def image_data(size: int) -> bytes:
    return raw_bytes(4096) + os.urandom(size - 4096)


def test_stores_list_shows_swift_as_glance_does(own_stack):
    listed = own_stack.openstack("image", "stores", "list", "-f", "json").stdout
    assert '"swift"' in listed and '"local"' in listed
    token = own_stack.token("admin")
    detail = requests.get(f"{own_stack.url('imaged')}/v2/info/stores/detail",
                          headers={"X-Auth-Token": token}, timeout=30).json()["stores"]
    swift = next(store for store in detail if store["id"] == "swift")
    assert swift["type"] == "swift" and swift["default"] == "true" and swift["weight"] == 10
    assert swift["properties"] == {"container": CONTAINER, "large_object_size": 100 * MiB,
                                   "large_object_chunk_size": 64 * MiB}


def test_object_store_in_the_catalog(own_stack):
    token = own_stack.token("demo")
    url = storage_url(own_stack, token)
    project = requests.get(f"{own_stack.url('identity')}/v3/auth/tokens",
                           headers={"X-Auth-Token": token, "X-Subject-Token": token},
                           timeout=30).json()["token"]["project"]["id"]
    assert url == f"http://127.0.0.1:{own_stack.port('swift-proxy')}/v1/AUTH_{project}"


def test_small_image_is_one_object(own_stack, tmp_path):
    """Below swift_store_large_object_size: one object, named by the image
    id, no manifest, no segments; its location is the object's URL."""
    data = image_data(3 * MiB)
    path = tmp_path / "small.raw"
    path.write_bytes(data)
    image_id = own_stack.openstack("image", "create", "--disk-format", "raw",
                                   "--container-format", "bare", "--file", str(path),
                                   "small", "-f", "value", "-c", "id").stdout.strip()
    stored = objects(own_stack, CONTAINER, image_id)
    assert [(o["name"], o["bytes"]) for o in stored] == [(image_id, len(data))]
    image = Images(own_stack, own_stack.token("demo")).show(image_id)
    token = service_token(own_stack)
    assert image["direct_url"] == \
        f"swift+{storage_url(own_stack, token)}/{CONTAINER}/{image_id}"
    assert image["stores"] == "swift"
    own_stack.openstack("image", "delete", image_id)
    assert objects(own_stack, CONTAINER, image_id) == []


def test_big_image_in_segments_roundtrip_and_delete(own_stack, demo, tmp_path):
    """300 MiB through the real client: segments of 64 MiB and a manifest in
    the container while the image exists; the download (whole and a range
    across a segment boundary) gives the same bytes and checksums; delete
    leaves no segment."""
    data = image_data(BIG)
    path = tmp_path / "big.raw"
    path.write_bytes(data)
    image_id = own_stack.openstack("image", "create", "--disk-format", "raw",
                                   "--container-format", "bare", "--file", str(path),
                                   "big", "-f", "value", "-c", "id", timeout=900).stdout.strip()
    image = demo.show(image_id)
    assert image["status"] == "active" and image["size"] == BIG
    assert image["checksum"] == hashlib.md5(data).hexdigest()
    assert image["os_hash_value"] == hashlib.sha512(data).hexdigest()

    stored = {o["name"]: o["bytes"] for o in objects(own_stack, CONTAINER, image_id)}
    segments = sorted(name for name in stored if name != image_id)
    assert segments == [f"{image_id}-{n:05d}" for n in range(1, 6)]
    assert [stored[name] for name in segments] == [64 * MiB] * 4 + [BIG - 4 * 64 * MiB]
    token = service_token(own_stack)
    manifest = requests.head(f"{storage_url(own_stack, token)}/{CONTAINER}/{image_id}",
                             headers={"X-Auth-Token": token}, timeout=30)
    assert manifest.headers["X-Object-Manifest"] == f"{CONTAINER}/{image_id}-"

    downloaded = tmp_path / "down.raw"
    own_stack.openstack("image", "save", "--file", str(downloaded), image_id, timeout=900)
    got = downloaded.read_bytes()
    assert hashlib.md5(got).hexdigest() == image["checksum"]
    assert hashlib.sha512(got).hexdigest() == image["os_hash_value"]
    start, end = 64 * MiB - 1000, 64 * MiB + 999       # across segments 1 and 2
    ranged = demo.download(image_id, Range=f"bytes={start}-{end}")
    assert ranged.status_code == 206
    assert ranged.content == data[start:end + 1]

    own_stack.openstack("image", "delete", image_id)
    assert objects(own_stack, CONTAINER, image_id) == []


def test_import_into_a_named_store_with_the_client(own_stack, demo, tmp_path):
    """The client names the store in the import flow (this client's `image
    create` has no --store): stage, then `openstack image import --store
    swift` (glance-direct); the image lands in Swift as one object."""
    data = image_data(2 * MiB)
    path = tmp_path / "staged.raw"
    path.write_bytes(data)
    image_id = demo.new(name="staged", disk_format="raw", container_format="bare")["id"]
    own_stack.openstack("image", "stage", "--file", str(path), image_id)
    # The image first: --store takes any number of values.
    own_stack.openstack("image", "import", image_id, "--method", "glance-direct", "--store",
                        "swift")
    image = wait_for(lambda: (lambda i: i if i["status"] == "active" else None)(
        demo.show(image_id)), timeout=60)
    assert image["stores"] == "swift"
    # One object of the image's size (the import may have converted the data).
    assert [(o["name"], o["bytes"]) for o in objects(own_stack, CONTAINER, image_id)] == \
        [(image_id, image["size"])]
    own_stack.openstack("image", "delete", image_id)


def test_swift_outage_during_upload_leaves_no_orphans(own_stack, demo):
    """The proxy is stopped while segments are being written: the upload
    fails, the image does not become active (queued again), and once Swift is back (a
    second `up` starts what is missing) every segment written is removed."""
    image = demo.new(name="outage", disk_format="raw", container_format="bare")
    image_id = image["id"]
    proxy_pid = int((own_stack.state_dir / "run" / "swift" / "proxy.pid").read_text())
    sent = {"bytes": 0}

    def body():
        block = raw_bytes(4096) + os.urandom(MiB - 4096)
        for _ in range(BIG // MiB):
            yield block
            sent["bytes"] += len(block)
            if sent["bytes"] == 150 * MiB:       # two segments are in Swift by now
                wait_for(lambda: len(objects(own_stack, CONTAINER, image_id)) >= 2,
                         timeout=60)
                os.kill(proxy_pid, 15)

    answer = requests.put(f"{own_stack.url('imaged')}/v2/images/{image_id}/file",
                          data=body(), headers=demo.headers(
                              **{"Content-Type": "application/octet-stream"}), timeout=600)
    assert answer.status_code >= 500 or answer.status_code in (400, 409, 410), answer.text
    # Back to queued, as Glance does after a store failure: upload again later.
    assert demo.show(image_id)["status"] == "queued"
    result = own_stack.up()                      # restarts the proxy, nothing else
    assert "swift-proxy" in result.stdout and "started" in result.stdout
    assert wait_for(lambda: objects(own_stack, CONTAINER, image_id) == [], timeout=60)
    demo.delete(image_id)


def test_swift_refuses_a_token_identity_does_not_know(own_stack):
    token = own_stack.token("demo")
    url = storage_url(own_stack, token)
    forged = token[:-8] + ("A" * 8 if not token.endswith("A" * 8) else "B" * 8)
    for bad in (forged, "not-a-token"):
        answer = requests.get(url, headers={"X-Auth-Token": bad}, timeout=30)
        assert answer.status_code == 401, (bad, answer.status_code, answer.text)
    assert requests.get(url, timeout=30).status_code == 401
    assert requests.get(url, headers={"X-Auth-Token": token}, timeout=30).status_code in \
        (200, 204)


def test_another_project_cannot_read_the_images_container(own_stack, demo):
    image = demo.uploaded(image_data(MiB), name="private", disk_format="raw",
                          container_format="bare")
    service = storage_url(own_stack, service_token(own_stack))
    for user in ("demo", "admin"):
        token = own_stack.token(user)
        listing = requests.get(f"{service}/{CONTAINER}", headers={"X-Auth-Token": token},
                               timeout=30)
        read = requests.get(f"{service}/{CONTAINER}/{image['id']}",
                            headers={"X-Auth-Token": token}, timeout=30)
        assert (listing.status_code, read.status_code) == (403, 403), user
    demo.delete(image["id"])


def test_pocketstack_status_and_down_stop_swift(own_stack):
    shown = pocketstack(own_stack.state_dir, "status", check=False).stdout
    for name in ("swift-memcached", "swift-account", "swift-container", "swift-object",
                 "swift-proxy"):
        assert any(line.split()[:2] == [name, "up"] for line in shown.splitlines()), shown
    pids = [int(p.read_text()) for p in (own_stack.state_dir / "run" / "swift").glob("*.pid")]
    assert len(pids) == 5
    own_stack.down()
    assert wait_for(lambda: not any(is_running(pid) for pid in pids), timeout=30)
    assert not list((own_stack.state_dir / "run" / "swift").glob("*.pid"))
