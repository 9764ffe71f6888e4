"""The compute image cache with a fake download: verified, inspected,
converted, fetched once by concurrent launches, nothing half-made left,
and aged out when unused."""
from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

import pytest

from computed.imagecache import ImageCache, ImageCacheError, cache_name, template_names
from tests.unit.image_corpus import HAVE_TOOLS, bad_images, qemu_img

# make install provides qemu-img and genisoimage; without them this fails, never skips.
assert HAVE_TOOLS, "qemu-img and genisoimage are needed (make install)"
MIB = 1 << 20


def record(image_id: str, data: bytes, disk_format: str) -> dict:
    return {"id": image_id, "disk_format": disk_format, "os_hash_algo": "sha512",
            "os_hash_value": hashlib.sha512(data).hexdigest(),
            "checksum": hashlib.md5(data).hexdigest()}


def downloader(data: bytes, calls: list | None = None, delay: float = 0.0):
    def download(path: Path, algorithm: str | None) -> dict:
        if calls is not None:
            calls.append(path)
        time.sleep(delay)
        path.write_bytes(data)
        return {"md5": hashlib.md5(data).hexdigest(),
                algorithm: hashlib.new(algorithm, data).hexdigest()}
    return download


@pytest.fixture
def qcow2_bytes(tmp_path) -> bytes:
    path = tmp_path / "good.qcow2"
    qemu_img("create", "-q", "-f", "qcow2", path, "8M")
    return path.read_bytes()


def leftovers(cache: ImageCache) -> list[str]:
    return sorted(p.name for p in cache.base_dir.iterdir()
                  if p.name.endswith((".part", ".converted")))


def test_a_qcow2_image_becomes_a_raw_base_named_after_its_id(tmp_path, qcow2_bytes):
    cache = ImageCache(tmp_path / "instances", force_raw=True)
    cache.prepare()
    cached = cache.fetch(record("img-1", qcow2_bytes, "qcow2"), downloader(qcow2_bytes))
    assert cached.path == tmp_path / "instances" / "_base" / cache_name("img-1")
    assert cache_name("img-1") == hashlib.sha1(b"img-1").hexdigest()
    assert (cached.format, cached.virtual_size, cached.fetched) == ("raw", 8 * MIB, True)
    assert leftovers(cache) == []


def test_without_force_raw_a_qcow2_base_stays_qcow2(tmp_path, qcow2_bytes):
    cache = ImageCache(tmp_path / "instances", force_raw=False)
    cache.prepare()
    cached = cache.fetch(record("img-2", qcow2_bytes, "qcow2"), downloader(qcow2_bytes))
    assert cached.format == "qcow2"


def test_concurrent_launches_download_once(tmp_path, qcow2_bytes):
    cache = ImageCache(tmp_path / "instances", force_raw=True)
    cache.prepare()
    calls, results = [], []
    download = downloader(qcow2_bytes, calls, delay=0.3)

    def launch():
        results.append(cache.fetch(record("img-3", qcow2_bytes, "qcow2"), download))
    threads = [threading.Thread(target=launch) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert sorted(r.fetched for r in results) == [False, False, False, False, True]


def test_data_not_matching_its_hash_is_refused_and_removed(tmp_path, qcow2_bytes):
    cache = ImageCache(tmp_path / "instances", force_raw=True)
    cache.prepare()
    image = record("img-4", qcow2_bytes, "qcow2")
    with pytest.raises(ImageCacheError, match="does not match its sha512 hash"):
        cache.fetch(image, downloader(qcow2_bytes[:-1] + b"x"))
    assert not cache.path_for("img-4").exists() and leftovers(cache) == []


@pytest.mark.parametrize("kind", ["qcow2-backing-file", "qcow2-external-data-file",
                                  "qcow2-declared-raw", "vmdk-flat-extent-host-file"])
def test_unsafe_images_never_enter_the_cache(tmp_path, kind):
    hostile = next(i for i in bad_images(tmp_path / "corpus") if i.name == kind)
    data = hostile.path.read_bytes()
    cache = ImageCache(tmp_path / "instances", force_raw=True)
    cache.prepare()
    with pytest.raises(ImageCacheError, match="unsafe") as caught:
        cache.fetch(record("bad", data, hostile.disk_format), downloader(data))
    assert hostile.reason in str(caught.value)
    assert not cache.path_for("bad").exists() and leftovers(cache) == []


def test_a_base_changed_behind_our_back_is_refused(tmp_path, qcow2_bytes):
    cache = ImageCache(tmp_path / "instances", force_raw=True)
    cache.prepare()
    cached = cache.fetch(record("img-5", qcow2_bytes, "qcow2"), downloader(qcow2_bytes))
    hostile = next(i for i in bad_images(tmp_path / "corpus")
                   if i.name == "qcow2-backing-file")
    cached.path.write_bytes(hostile.path.read_bytes())
    with pytest.raises(ImageCacheError, match="cached base .* is unsafe"):
        cache.fetch(record("img-5", qcow2_bytes, "qcow2"), downloader(qcow2_bytes))


def test_templates_are_made_once_and_formatted(tmp_path):
    cache = ImageCache(tmp_path / "instances", force_raw=True)
    cache.prepare()
    first = cache.ephemeral_template(1, "ext4")
    assert first.name == "ephemeral_1_ext4" and first.stat().st_size == 1 << 30
    with open(first, "rb") as handle:
        handle.seek(1080)
        assert handle.read(2) == b"\x53\xef"  # the ext4 superblock's magic
    assert cache.ephemeral_template(1, "ext4") == first
    swap = cache.swap_template(64)
    with open(swap, "rb") as handle:
        handle.seek(4096 - 10)
        assert handle.read(10) == b"SWAPSPACE2"
    assert template_names(1, 64, "ext4") == ["ephemeral_1_ext4", "swap_64"]


def test_the_cache_manager_keeps_what_is_used_and_ages_out_the_rest(tmp_path, qcow2_bytes):
    cache = ImageCache(tmp_path / "instances", force_raw=True)
    cache.prepare()
    for image_id in ("used", "unused", "fresh"):
        cache.fetch(record(image_id, qcow2_bytes, "qcow2"), downloader(qcow2_bytes))
    old = time.time() - 7200
    for image_id in ("used", "unused"):
        os.utime(cache.path_for(image_id), (old, old))
    report = cache.clean(["used"], [], remove_unused=True, minimum_age=3600)
    assert report["removed"] == [cache_name("unused")]
    assert cache.path_for("used").exists() and cache.path_for("fresh").exists()
    assert cache.path_for("used").stat().st_mtime > old  # touched: in use
    kept = cache.clean([], [], remove_unused=False, minimum_age=0)
    assert kept["removed"] == []
