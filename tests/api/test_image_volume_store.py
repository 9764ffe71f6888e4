"""The volume store (Glance's cinder store): with `stores = file,volume` and
`default_store = volume`, an image's data lives in a volume of volumed,
written and read over real iSCSI (tgtd, CHAP, QEMU's initiator).

On a stack of this module's own, whose imaged-api.conf is written before
the first start."""
from __future__ import annotations

import configparser
import hashlib
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from shared.units import MiB
from tests.support.images import Images, configured_stack, raw_bytes
from tests.support.volumes import VolumeApi

CONFIG = ("[image]\nshow_image_direct_url = true\n\n"
          "[store]\nstores = file,volume\ndefault_store = volume\n")


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory, stack):
    own = configured_stack(tmp_path_factory, stack, 80, CONFIG)
    yield own
    own.down()


@pytest.fixture(scope="module")
def demo(own_stack) -> Images:
    """The image API as the demo user sees it on this module's stack."""
    return Images(own_stack, own_stack.token("demo"))


@pytest.fixture(scope="module")
def admin(own_stack) -> VolumeApi:
    return VolumeApi(own_stack, "admin")


def image_data(size: int) -> bytes:
    """Random bytes behind a plain-raw first sector (random bytes could now and
    then look like a partition table to the format inspector)."""
    return raw_bytes(4096) + os.urandom(size - 4096)


def all_volumes(admin: VolumeApi) -> dict[str, dict]:
    listing = admin.call("GET", "/volumes/detail", params={"all_tenants": 1}, expect=200)
    return {volume["id"]: volume for volume in listing.json()["volumes"]}


def volumed_conf(own_stack) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(own_stack.state_dir / "etc" / "volumed.conf")
    return parser


def volumes_dir(own_stack) -> Path:
    """Where volumed keeps its volume files ([volume] volumes_dir; empty:
    lib/volumes under the state directory)."""
    configured = volumed_conf(own_stack).get("volume", "volumes_dir", fallback="")
    return Path(configured) if configured else own_stack.state_dir / "lib" / "volumes"


def targets(own_stack) -> str:
    """What volumed's tgtd exports right now (tgtadm over its control port)."""
    control = volumed_conf(own_stack).get("volume", "target_control_port", fallback=None)
    assert control, "volumed.conf names no target_control_port"
    done = subprocess.run(["tgtadm", "-C", control, "--mode", "target", "--op", "show"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_an_image_lives_in_a_volume_and_goes_with_it(own_stack, demo, admin):
    data = image_data(5 * MiB + 123)            # not a whole number of sectors
    image = demo.uploaded(data)
    assert image["status"] == "active" and image["size"] == len(data)
    assert image["checksum"] == hashlib.md5(data).hexdigest()
    assert image["direct_url"].startswith("cinder://")
    volume_id = image["direct_url"].removeprefix("cinder://")

    # The volume: imaged's, in the service project, 1 GiB, detached again.
    volume = all_volumes(admin)[volume_id]
    assert volume["size"] == 1 and volume["status"] == "available"
    assert volume["name"] == f"image-{image['id']}"
    assert volume["metadata"]["glance_image_id"] == image["id"]
    assert volume["os-vol-tenant-attr:tenant_id"] != demo_project(own_stack)
    assert volume_id not in targets(own_stack)   # no export left after the upload
    # Its file holds the data (sparse, GiB-sized). A file that is not where
    # volumed keeps it fails here: the check is never skipped.
    volume_file = volumes_dir(own_stack) / f"volume-{volume_id}"
    assert volume_file.is_file(), f"volumed keeps no file {volume_file} for the image's volume"
    with open(volume_file, "rb") as handle:
        assert hashlib.md5(handle.read(len(data))).hexdigest() == image["checksum"]

    download = demo.download(image["id"])
    assert download.status_code == 200
    assert hashlib.md5(download.content).hexdigest() == image["checksum"]
    assert download.headers["Content-MD5"] == image["checksum"]
    assert volume_id not in targets(own_stack)   # detached after the download

    assert demo.delete(image["id"]).status_code == 204
    assert demo.get(image["id"]).status_code == 404
    assert volume_id not in all_volumes(admin)
    assert admin.call("GET", f"/volumes/{volume_id}").status_code == 404
    assert volume_id not in targets(own_stack)
    assert not volume_file.exists()


def test_range_and_concurrent_downloads(demo):
    data = image_data(2 * MiB)
    image = demo.uploaded(data)
    partial = demo.download(image["id"], Range="bytes=1000-1999")
    assert partial.status_code == 206 and partial.content == data[1000:2000]
    # A volume is attached once at a time: parallel reads take turns.
    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(lambda _: demo.download(image["id"]), range(3)))
    assert all(a.status_code == 200 and a.content == data for a in answers)
    assert demo.delete(image["id"]).status_code == 204


def test_refused_upload_leaves_no_volume(own_stack, demo, admin, tmp_path):
    before = set(all_volumes(admin))
    image = demo.new(disk_format="qcow2")
    answer = demo.upload(image["id"], image_data(MiB))  # raw data, declared qcow2
    assert answer.status_code == 400
    assert demo.show(image["id"])["status"] == "killed"
    assert set(all_volumes(admin)) == before
    staging = own_stack.state_dir / "lib" / "image-volume-staging"
    assert [p.name for p in staging.iterdir()] == []


def test_an_empty_image(demo):
    image = demo.uploaded(b"")
    assert image["size"] == 0 and image["direct_url"].startswith("cinder://")
    download = demo.download(image["id"])
    assert download.status_code == 200 and download.content == b""
    assert demo.delete(image["id"]).status_code == 204


def demo_project(own_stack) -> str:
    return own_stack.login("demo").json()["token"]["project"]["id"]
