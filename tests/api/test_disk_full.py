"""A full disk under every flow that writes data: an image upload (through
the real `openstack` client and over HTTP), a staged and a web-download
import, a volume made from an image and from another volume, a volume
uploaded to an image, a volume snapshot, a volume backup and a server
snapshot (createImage). Each must fail with a clear error, leave its
resource in a true state (the image queued, or deleted by whoever made it;
the volume or snapshot in error with the reason in its event; the backup in
error with its fail_reason; the source volume available, the server ACTIVE)
and leave nothing half-written: the data file system holds exactly what it
held before. Where it is cheap, the same request succeeds once there is
room again.

The module runs a stack of its own whose data directories (the image
store, the staging area, the volumes, the backups) are on a small tmpfs
mounted here, as an operator puts them on a file system of their own. The
databases stay on the state directory's file system: the failure must be
recorded somewhere. Filling the tmpfs to a few MiB of free space makes
each write start and then run out of room half way.

An empty volume is not among them: it is a sparse file that costs no room
until written (thin provisioning), so a full disk does not refuse it.
"""
from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from identity.bootstrap import Credentials
from pocketstack.services import SERVICES, initial_settings
from shared.config import ensure_config_file
from shared.units import MiB
from tests.api.test_volume_backups import start_backup, wait_backup
from tests.stack import Stack
from tests.support.compute import Compute
from tests.support.images import Images, _free_extra_offset, raw_bytes, serve_directory
from tests.support.volumes import VolumeApi, unique

DATA_SIZE = 160 * MiB       # the tmpfs holding the data directories
LEFT_FREE = 6 * MiB         # what a full disk still has: each write starts, then fails
PAYLOAD = 24 * MiB          # what each flow tries to write (more than LEFT_FREE)
CHUNK = 4 * MiB             # a backup object (one fits in LEFT_FREE, two do not)
VOLUME_FULL = "No space left on device: the volume storage has no room left for"
SERVICE = {service.name: service for service in SERVICES}


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    """A loopback web server for the web-download import."""
    folder = tmp_path_factory.mktemp("web")
    with serve_directory(folder) as base:
        yield base, folder


@pytest.fixture(scope="module")
def data_fs(tmp_path_factory) -> Iterator[Path]:
    """A tmpfs of DATA_SIZE bytes, unmounted and removed at the end."""
    mount = tmp_path_factory.mktemp("data-fs")
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DATA_SIZE},mode=0700",
                    "pocketstack-disk-full", str(mount)], check=True, capture_output=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "--lazy", str(mount)], check=False, capture_output=True)
        mount.rmdir()


@pytest.fixture(scope="module")
def full_stack(tmp_path_factory, stack, data_fs, web) -> Iterator[Stack]:
    """A stack whose image store, staging area, volumes and backups live on
    `data_fs` (its config files written before the first start)."""
    state = tmp_path_factory.mktemp("disk-full-stack")
    etc = state / "etc"
    etc.mkdir()
    own = Stack(state, stack.port_offset + _free_extra_offset(stack.port_offset, 65))
    passwords = Credentials.load_or_create(etc / "credentials").passwords
    web_port = web[0].rsplit(":", 1)[1]
    own_settings = {
        "imaged": {"store": {"filesystem_store_datadir": str(data_fs / "images")},
                   "import": {"staging_dir": str(data_fs / "staging"),
                              "allowed_ports": f"80,443,{web_port}"}},
        "volumed": {"volume": {"volumes_dir": str(data_fs / "volumes")},
                    "backup": {"backup_posix_path": str(data_fs / "backup"),
                               "backup_file_size": CHUNK}},
    }
    for name, extra in own_settings.items():
        service = SERVICE[name]
        settings = initial_settings(service, own.port_offset, passwords)
        for section, values in extra.items():
            settings.setdefault(section, {}).update(values)
        ensure_config_file(service.schema(), etc, settings)
    with own.running():
        yield own


@pytest.fixture(scope="module")
def images(full_stack) -> Images:
    return Images(full_stack, full_stack.token("demo"))


@pytest.fixture(scope="module")
def volumes(full_stack) -> VolumeApi:
    return VolumeApi(full_stack, "demo")


# --- the file system -----------------------------------------------------------------------

FILLER = "filler"   # the file that takes the room


def free_bytes(mount: Path) -> int:
    stats = os.statvfs(mount)
    return stats.f_bavail * stats.f_frsize


def contents(mount: Path) -> dict[str, int]:
    """Every file and directory on the data file system, with its size in
    bytes (directories: -1), but the filler."""
    found = {}
    for root, directories, files in os.walk(mount):
        for name in directories:
            found[os.path.relpath(os.path.join(root, name), mount)] = -1
        for name in files:
            path = os.path.join(root, name)
            if path != str(mount / FILLER):
                found[os.path.relpath(path, mount)] = os.stat(path).st_blocks * 512
    return found


@contextlib.contextmanager
def disk_full(mount: Path, left: int = LEFT_FREE) -> Iterator[None]:
    """The file system filled to `left` bytes of free space while the block
    runs; on the way out, what it holds must be what it held before (nothing
    half-written), and the space is given back."""
    before = contents(mount)
    with open(mount / FILLER, "wb") as filler:
        os.posix_fallocate(filler.fileno(), 0, free_bytes(mount) - left)
    full = free_bytes(mount)
    assert full <= left
    try:
        yield
        assert contents(mount) == before
        assert free_bytes(mount) >= full, "a failed write kept some of the space it took"
    finally:
        (mount / FILLER).unlink()


def wait_until(probe, timeout: float = 60, interval: float = 0.2):
    """The first truthy value of probe(), or the last one after `timeout`."""
    deadline = time.monotonic() + timeout
    while not (value := probe()):
        if time.monotonic() > deadline:
            return value
        time.sleep(interval)
    return value


def settled_volume(volumes: VolumeApi, volume_id: str) -> dict:
    """The volume once it has left creating/downloading."""
    volume = wait_until(lambda: (lambda v: v if v["status"] not in (
        "creating", "downloading") else None)(volumes.show(volume_id)))
    assert volume, volumes.show(volume_id)
    return volume


def event_of(events: list[dict], event_type: str) -> dict:
    matching = [event for event in events if event["event_type"] == event_type]
    assert matching, [event["event_type"] for event in events]
    return matching[0]


# --- images ----------------------------------------------------------------------------------

def test_upload_to_a_full_store_is_413_and_the_image_is_queued_again(data_fs, images):
    """Glance's StorageFull: 413 "Image storage media is full", the image
    back to queued (upload again), no partial file in the store. The client
    reads the answer every time, though it sent its whole body after the
    refusal (a few tries: a connection closed on the unread rest of the
    body would reset under it now and then)."""
    image = images.new(disk_format="raw")
    with disk_full(data_fs):
        for _ in range(5):
            answer = images.upload(image["id"], raw_bytes(PAYLOAD))
            assert answer.status_code == 413, answer.text
            assert answer.json()["message"] == ("Image storage media is full. The image is "
                                                "queued again.")
            shown = images.show(image["id"])
            assert shown["status"] == "queued" and shown["size"] is None
            assert shown["checksum"] is None
        failed = event_of(images.events(image["id"]), "image.upload.failed")
        assert failed["payload"]["reason"] == "Image storage media is full."
    assert images.upload(image["id"], raw_bytes(PAYLOAD)).status_code == 204
    assert images.show(image["id"])["status"] == "active"
    assert images.delete(image["id"]).status_code == 204


def test_the_openstack_client_fails_on_a_full_store(full_stack, data_fs, tmp_path):
    """`openstack image create --file` on a full store: the client fails
    with the 413 (a plain-text error body shows by its reason only, with
    Glance as with imaged) and deletes the image it made, as openstacksdk
    does after a failed upload; nothing of the data stays in the store."""
    source = tmp_path / "disk.raw"
    source.write_bytes(raw_bytes(PAYLOAD))
    name = unique("full")
    with disk_full(data_fs):
        result = full_stack.openstack("image", "create", "--disk-format", "raw",
                                      "--container-format", "bare", "--file", str(source),
                                      name, check=False)
        assert result.returncode != 0, result.stdout
        assert "413" in result.stderr and "too large" in result.stderr.lower(), result.stderr
        listed = full_stack.openstack("image", "list", "--name", name, "-f", "value")
        assert listed.stdout.strip() == ""


def test_staging_on_a_full_disk_is_413_and_nothing_stays_staged(data_fs, images):
    """PUT /stage (glance-direct) into a full staging area: 413, the image
    queued again, the staging area empty."""
    image = images.new(disk_format="raw")
    with disk_full(data_fs):
        answer = images.request("PUT", f"/v2/images/{image['id']}/stage",
                                data=raw_bytes(PAYLOAD),
                                headers={"Content-Type": "application/octet-stream"})
        assert answer.status_code == 413, answer.text
        assert answer.json()["message"] == ("Staging failed: Image storage media is full. "
                                            "The image is queued again.")
        assert images.show(image["id"])["status"] == "queued"
    assert images.delete(image["id"]).status_code == 204


def test_web_download_onto_a_full_disk_fails_its_task(data_fs, images, web):
    """web-download into a full staging area: the task fails saying so,
    the image goes back to queued with os_glance_failed_import."""
    base, folder = web
    (folder / "big.raw").write_bytes(raw_bytes(PAYLOAD))
    image = images.new(disk_format="raw")
    with disk_full(data_fs):
        answer = images.request("POST", f"/v2/images/{image['id']}/import", json={
            "method": {"name": "web-download", "uri": f"{base}/big.raw"}})
        assert answer.status_code == 202, answer.text
        task = wait_until(lambda: next((t for t in images.request(
            "GET", f"/v2/images/{image['id']}/tasks").json()["tasks"]
            if t["status"] in ("success", "failure")), None))
        assert task and task["status"] == "failure", task
        assert "Image storage media is full" in task["message"], task
        shown = wait_until(lambda: (lambda i: i if i["status"] == "queued" else None)(
            images.show(image["id"])))
        assert shown, images.show(image["id"])
        assert shown["os_glance_failed_import"] == "file"
    assert images.delete(image["id"]).status_code == 204


# --- volumes ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def source_image(images) -> dict:
    """A raw image of PAYLOAD bytes, none of them zero (nothing to skip)."""
    image = images.uploaded(raw_bytes(PAYLOAD), disk_format="raw")
    yield image
    images.delete(image["id"])


@pytest.fixture(scope="module")
def written_volume(data_fs, volumes) -> dict:
    """An available 1 GiB volume holding PAYLOAD bytes of data."""
    volume = volumes.create(size=1)
    with open(data_fs / "volumes" / f"volume-{volume['id']}", "r+b") as handle:
        handle.write(os.urandom(PAYLOAD))
    yield volume
    volumes.delete(volume["id"])


def assert_clear(reason: str, data_fs: Path, what: str) -> None:
    """The reason names the full disk and what did not fit, and no path of
    the host (it reaches the user's events)."""
    assert reason.startswith(f"{VOLUME_FULL} {what}"), reason
    assert str(data_fs) not in reason, reason


def test_a_volume_from_an_image_on_a_full_disk_is_in_error(data_fs, volumes, source_image):
    """The image's data does not fit: the volume goes to error with the
    reason in its volume.create.error event, and no file is left."""
    with disk_full(data_fs):
        made = volumes.create(size=1, imageRef=source_image["id"], wait=None)
        volume = settled_volume(volumes, made["id"])
        assert volume["status"] == "error"
        failed = event_of(volumes.events(resource_id=made["id"]), "volume.create.error")
        assert_clear(failed["payload"]["reason"], data_fs, f"volume-{made['id']}")
    volumes.delete(made["id"])
    volumes.wait_gone(made["id"])
    retried = volumes.create(size=1, imageRef=source_image["id"])
    assert retried["status"] == "available" and retried["bootable"] == "true"
    volumes.delete(retried["id"])
    volumes.wait_gone(retried["id"])


def test_a_clone_on_a_full_disk_is_in_error(data_fs, volumes, written_volume):
    """A copy of a volume (cp) runs out of room: the new volume is in
    error, the source stays available."""
    with disk_full(data_fs):
        made = volumes.create(size=1, source_volid=written_volume["id"], wait=None)
        volume = settled_volume(volumes, made["id"])
        assert volume["status"] == "error"
        failed = event_of(volumes.events(resource_id=made["id"]), "volume.create.error")
        assert_clear(failed["payload"]["reason"], data_fs, f"volume-{made['id']}")
        assert volumes.show(written_volume["id"])["status"] == "available"
    volumes.delete(made["id"])
    volumes.wait_gone(made["id"])


def test_a_snapshot_on_a_full_disk_is_in_error(data_fs, volumes, written_volume):
    """The copy runs out of room: the snapshot goes to error with the
    reason in its snapshot.create.error event, the volume stays available,
    no half snapshot is left; with room again, a snapshot is made."""
    with disk_full(data_fs):
        made = volumes.snapshot(written_volume["id"], wait=None)
        snapshot = wait_until(lambda: (lambda s: s if s["status"] != "creating" else None)(
            volumes.call("GET", f"/snapshots/{made['id']}", expect=200).json()["snapshot"]))
        assert snapshot and snapshot["status"] == "error", snapshot
        failed = event_of(volumes.events(resource_id=made["id"]), "snapshot.create.error")
        assert_clear(failed["payload"]["reason"], data_fs, f"snapshot-{made['id']}")
        assert volumes.show(written_volume["id"])["status"] == "available"
    retried = volumes.snapshot(written_volume["id"])
    for snapshot_id in (made["id"], retried["id"]):
        volumes.call("DELETE", f"/snapshots/{snapshot_id}", expect=202)
        assert wait_until(lambda gone=snapshot_id: volumes.call(
            "GET", f"/snapshots/{gone}").status_code == 404)


def test_a_volume_uploaded_to_a_full_store_is_available_again(data_fs, volumes, images,
                                                               written_volume):
    """os-volume_upload_image (`openstack image create --volume`) onto a
    full image store: imaged refuses the 1 GiB upload half way and drains
    the rest, so volumed reads the 413 and says it in imaged's words; the
    image it made is deleted and the volume is available again."""
    with disk_full(data_fs):
        answer = volumes.action(written_volume["id"], "os-volume_upload_image",
                                {"image_name": unique("upload")}, expect=202)
        image_id = answer.json()["os-volume_upload_image"]["image_id"]
        assert wait_until(lambda: volumes.show(written_volume["id"])["status"] == "available")
        error = event_of(volumes.events(resource_id=written_volume["id"]),
                         "volume.upload_image.error")
        assert error["payload"]["reason"] == (
            "imaged refused the upload: HTTP 413 Image storage media is full. The image is "
            "queued again."), error
        assert images.get(image_id).status_code == 404


@pytest.mark.parametrize("left", [1 * MiB, LEFT_FREE], ids=["no-object-fits", "one-object-fits"])
def test_a_backup_onto_a_full_disk_is_in_error(data_fs, volumes, written_volume, left):
    """Cinder's posix driver on a full file system, failing at its first
    object or after one object was written: the backup goes to error with
    a fail_reason saying the repository is full, every object it wrote and
    its container are removed, and the volume is available again."""
    with disk_full(data_fs, left):
        made = start_backup(volumes, written_volume["id"]).json()["backup"]
        backup = wait_backup(volumes, made["id"], status="error")
        assert backup["fail_reason"] == ("No space left on device: the backup repository is "
                                         "full"), backup
        assert volumes.show(written_volume["id"])["status"] == "available"
    volumes.call("DELETE", f"/backups/{made['id']}", expect=202)
    assert wait_until(lambda: volumes.call("GET", f"/backups/{made['id']}").status_code == 404)


# --- a server snapshot -----------------------------------------------------------------------

@pytest.mark.e2e
def test_a_server_snapshot_onto_a_full_store_fails_and_the_server_goes_on(full_stack,
                                                                           data_fs):
    """createImage whose upload meets a full image store: the half-made
    image is deleted (as Nova deletes it), the server is ACTIVE again with
    no task, the action ends in Error and compute.instance.snapshot.error
    says why in imaged's words; computed's own copy of the disk is gone."""
    demo = Compute(full_stack, "demo")
    server = demo.create()
    try:
        demo.wait_status(server["id"], "ACTIVE", task_state=None)
        with disk_full(data_fs):
            taken = demo.action(server["id"], "createImage", {"name": unique("snap")})
            assert taken.status_code == 202, taken.text
            image_id = taken.headers["Location"].rsplit("/", 1)[1]
            images = Images(full_stack, demo.token)
            assert wait_until(lambda: images.get(image_id).status_code == 404, timeout=180)
            demo.wait_status(server["id"], "ACTIVE", task_state=None)
            actions = demo.call("GET", f"/servers/{server['id']}/os-instance-actions").json()
            snapshot = next(a for a in actions["instanceActions"]
                            if a["action"] == "createImage")
            assert snapshot["message"] == "Error"
            failed = requests.get(f"{full_stack.url('computed')}/pocketstack/v1/events",
                                  params={"resource_id": server["id"], "limit": "1000"},
                                  headers={"X-Auth-Token": demo.token}, timeout=30).json()
            error = event_of(failed["events"], "compute.instance.snapshot.error")
            assert error["payload"]["reason"] == (
                "imaged answered 413: Image storage media is full. The image is queued "
                "again."), error
            leftovers = full_stack.state_dir / "lib" / "instances" / "snapshots"
            assert not leftovers.exists() or list(leftovers.iterdir()) == []
    finally:
        demo.delete(server["id"])
