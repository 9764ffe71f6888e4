"""The image cache without a server: the tee that fills it, what it refuses
to keep, and two fills of one image at once (imaged/cache/)."""
from __future__ import annotations

import hashlib
import io
import uuid

import pytest

from imaged.cache.entries import CacheEntries
from imaged.cache.fill import chunks_of, open_for_download, start_fill, tee
from imaged.domain.image import Image, Location
from imaged.store.base import ImageData, Store

DATA = bytes(range(256)) * 12_000        # about 3 MiB: several read blocks
URL = "cinder://0b7c6e4e-0000-4000-8000-000000000001"


class FakeVolumeStore(Store):
    """A remote store that hands over a file, as the volume store does."""
    name = "volume"
    schemes = ("cinder",)

    def __init__(self, data: bytes):
        self.data, self.reads = data, 0

    def open(self, url, offset=0, length=None):
        self.reads += 1
        handle = io.BytesIO(self.data)
        handle.seek(offset)
        available = len(self.data) - offset
        return ImageData(length=available if length is None else min(length, available),
                         file=handle, close=handle.close)

    def open_writer(self, image_id):
        raise NotImplementedError

    def size_of(self, url):
        return len(self.data)

    def delete(self, url):
        pass


@pytest.fixture
def entries(tmp_path) -> CacheEntries:
    return CacheEntries(tmp_path / "cache", max_size=10 << 20, stall_time=60)


def image_of(data: bytes = DATA, checksum: str | None = None) -> Image:
    return Image(id=str(uuid.uuid4()), owner="p", status="active", size=len(data),
                 checksum=checksum or hashlib.md5(data).hexdigest(),
                 locations=[Location(URL)])


def download(entries, store, image, offset=0, length=None) -> bytes:
    data = open_for_download(entries, store, image, URL, offset, length)
    try:
        return b"".join(chunks_of(data))
    finally:
        data.close()


def test_a_file_from_the_store_is_teed_into_the_cache_and_served_from_it(entries):
    store, image = FakeVolumeStore(DATA), image_of()
    assert download(entries, store, image) == DATA
    assert entries.index.get(image.id).size == len(DATA)
    assert download(entries, store, image) == DATA
    assert download(entries, store, image, 1000, 10) == DATA[1000:1010]
    assert store.reads == 1                            # the rest came from the cache
    assert entries.index.get(image.id).hits == 2


def test_a_client_that_goes_away_leaves_no_entry_and_no_partial_copy(entries):
    store, image = FakeVolumeStore(DATA), image_of()
    data = open_for_download(entries, store, image, URL, 0, None)
    chunks = data.chunks
    next(chunks)
    chunks.close()                                     # what the server does on a hang-up
    assert entries.index.get(image.id) is None
    assert list(entries.incomplete_dir.iterdir()) == []


def test_a_response_never_sent_leaves_nothing_and_the_next_download_fills(entries):
    store, image = FakeVolumeStore(DATA), image_of()
    unsent = open_for_download(entries, store, image, URL, 0, None)   # a HEAD, say
    unsent.chunks.close()
    unsent.close()
    assert list(entries.incomplete_dir.iterdir()) == []
    assert download(entries, store, image) == DATA
    assert entries.is_cached(image.id)


def test_data_that_is_not_the_images_is_never_kept(entries):
    store = FakeVolumeStore(DATA)
    image = image_of(checksum="0" * 32)
    assert download(entries, store, image) == DATA    # the download itself goes on
    assert entries.index.get(image.id) is None
    assert list(entries.incomplete_dir.iterdir()) == []
    assert list(entries.data_dir.iterdir()) == []


def test_one_image_is_copied_by_one_fill_at_a_time(entries):
    image = image_of()
    first = start_fill(entries, image, URL)
    assert first is not None
    assert start_fill(entries, image, URL) is None     # another worker: no copy, just serve
    assert b"".join(tee(iter([DATA[:1000], DATA[1000:]]), first)) == DATA
    assert first.committed and entries.is_cached(image.id)


def test_a_copy_of_another_location_is_dropped_at_lookup(entries):
    store, image = FakeVolumeStore(DATA), image_of()
    download(entries, store, image)
    image.locations = [Location(URL + "0")]
    assert entries.open(image, URL + "0") is None
    assert entries.index.get(image.id) is None
    assert not entries.data_path(image.id).exists()


def test_an_image_bigger_than_the_cache_is_not_cached(tmp_path):
    small = CacheEntries(tmp_path / "small", max_size=1000, stall_time=60)
    store, image = FakeVolumeStore(DATA), image_of()
    assert download(small, store, image) == DATA
    assert small.index.get(image.id) is None
