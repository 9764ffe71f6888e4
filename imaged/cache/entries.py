"""The cached copies themselves: files under the cache directory, described
by the index (index.py).

    <image_cache_dir>/cache.sqlite        the index (WAL mode: -wal and -shm beside it)
    <image_cache_dir>/data/<image id>     complete copies, served as they are
    <image_cache_dir>/incomplete/<id>     copies being written (fill.py)

The rules that make several workers safe on one directory: a copy is only
ever written under incomplete/, by the one worker that created that file
with O_EXCL; it is renamed into data/ (atomic on one filesystem) only when
it is complete and verified, and only then recorded in the index. A reader
trusts an entry only when the index has it *and* it still matches the
image (same location, size and checksum); a removal drops the index row
first and the file second, and a worker that already opened the file keeps
reading it (an unlinked file lives on until its last reader closes it).
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from imaged.cache.index import CachedEntry, CacheIndex
from imaged.domain.image import Image
from imaged.store.base import ImageData

# Image ids become file names: only what an image id can look like.
SAFE_ID = re.compile(r"^[A-Za-z0-9-]{1,36}$")


@dataclass(frozen=True)
class Removed:
    files: int = 0
    bytes: int = 0


class CacheEntries:
    def __init__(self, directory: Path, max_size: int, stall_time: float):
        self.directory = directory
        self.max_size = max_size
        self.stall_time = stall_time
        self.data_dir = directory / "data"
        self.incomplete_dir = directory / "incomplete"
        for folder in (self.data_dir, self.incomplete_dir):
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.index = CacheIndex(directory / "cache.sqlite")

    def data_path(self, image_id: str) -> Path:
        return self.data_dir / _checked(image_id)

    def incomplete_path(self, image_id: str) -> Path:
        return self.incomplete_dir / _checked(image_id)

    # -- reading -----------------------------------------------------------------------------
    def open(self, image: Image, location: str, offset: int = 0,
             length: int | None = None) -> ImageData | None:
        """The cached copy of the image from `offset` (and one more hit), or
        None when there is none that matches the image as it is now."""
        entry = self.index.get(image.id)
        if entry is None:
            return None
        if not matches(entry, image, location):
            self.remove(image.id)  # a copy of data the image no longer has
            return None
        try:
            handle = open(self.data_path(image.id), "rb", buffering=0)  # noqa: SIM115 - the read closes it
        except FileNotFoundError:
            self.index.remove(image.id)
            return None
        self.index.hit(image.id)
        return ImageData.of_file(handle, entry.size, offset, length)

    def is_cached(self, image_id: str) -> bool:
        return self.index.get(image_id) is not None

    # -- removing ----------------------------------------------------------------------------
    def remove(self, image_id: str) -> Removed:
        entry = self.index.get(image_id)
        if not self.index.remove(image_id):
            return Removed()
        self.data_path(image_id).unlink(missing_ok=True)
        return Removed(1, entry.size if entry else 0)

    def clear(self) -> int:
        return sum(self.remove(entry.image_id).files for entry in self.index.entries())

    def prune(self) -> Removed:
        """Remove least recently used copies until the cache holds no more
        than max_size bytes."""
        entries = self.index.entries()          # least recently used first
        total = sum(entry.size for entry in entries)
        files = removed = 0
        for entry in entries:
            if total <= self.max_size:
                break
            gone = self.remove(entry.image_id)
            total -= entry.size
            files, removed = files + gone.files, removed + gone.bytes
        return Removed(files, removed)

    def clean(self) -> Removed:
        """Remove what no download will ever finish or use: copies left
        under incomplete/ for longer than stall_time (a worker died while
        writing them), files in data/ the index does not know (older than
        stall_time, so that a copy being recorded right now is spared), and
        index rows whose file is gone."""
        deadline = time.time() - self.stall_time
        files = removed = 0
        known = {entry.image_id for entry in self.index.entries()}
        for folder, keep in ((self.incomplete_dir, set()), (self.data_dir, known)):
            for path in folder.iterdir():
                if path.name in keep:
                    continue
                try:
                    status = path.stat()
                    if status.st_mtime < deadline:
                        path.unlink()
                        files, removed = files + 1, removed + status.st_size
                except FileNotFoundError:
                    continue
        for image_id in known:
            if not self.data_path(image_id).exists():
                self.index.remove(image_id)
        return Removed(files, removed)


def matches(entry: CachedEntry, image: Image, location: str) -> bool:
    """Is this copy still the image's data? (The location may have been
    replaced, and an image's size and checksum say what its data is.)"""
    return (entry.location == location and entry.size == (image.size or 0)
            and (not image.checksum or entry.checksum == image.checksum))


def _checked(image_id: str) -> str:
    if not SAFE_ID.match(image_id):
        raise ValueError(f"{image_id!r} cannot be an image id")
    return image_id
