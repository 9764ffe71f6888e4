"""The compute image cache: <instances_path>/_base, as Nova keeps it.

An image is downloaded from imaged once per host, however many servers boot
from it; each server's root disk is then a thin qcow2 overlay whose backing
file is the cached base. The steps of a fetch, in order:

    1. lock        a file lock per image: concurrent launches fetch once
    2. download    into _base/<sha1(image id)>.part
    3. verify      the bytes' sha512 (os_hash_value) and md5 (checksum) are
                   what imaged recorded at upload
    4. inspect     shared.imageformat's safety checks, again: the data is hostile
                   input until proven otherwise (a qcow2 with a backing file
                   or an external data file would make QEMU read host files),
                   and its content must be what its disk_format says
    5. convert     to raw, as Nova's force_raw_images (qemu-img with -f)
    6. rename      into place: a base either exists whole or not at all

Every use of a cached base re-runs the inspection (cheap: headers only), so
that a base changed behind our back is refused too. Templates for blank
ephemeral and swap disks live beside them (ephemeral_<GiB>_<fs>, swap_<MiB>).
The image cache manager deletes bases no server has used for a while.
"""
from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from computed.virt import qemu_img
from shared.imageformat import ImageSafetyError, check, check_file, inspect_file
from shared.units import GiB, MiB

LOG = logging.getLogger(__name__)
# Content a base may hold -> how QEMU reads it (an ISO is read as raw).
BASE_FORMATS = {"raw": "raw", "iso": "raw", "qcow2": "qcow2"}


class ImageCacheError(Exception):
    """The image cannot be used; the message says why (it becomes the
    server's fault message)."""


@dataclass(frozen=True)
class CachedImage:
    path: Path
    format: str        # raw or qcow2: the -F of every overlay on it
    virtual_size: int
    fetched: bool      # True when this call downloaded it (a cache miss)


def cache_name(image_id: str) -> str:
    """Nova's name for a cached base: sha1 of the image id."""
    return hashlib.sha1(image_id.encode()).hexdigest()


class ImageCache:
    def __init__(self, instances_path: Path, force_raw: bool):
        self.base_dir = instances_path / "_base"
        self.lock_dir = instances_path / "locks"
        self.force_raw = force_raw

    def prepare(self) -> None:
        for directory in (self.base_dir, self.lock_dir):
            directory.mkdir(parents=True, exist_ok=True)

    def path_for(self, image_id: str) -> Path:
        return self.base_dir / cache_name(image_id)

    @contextmanager
    def _locked(self, name: str):
        """An flock on a file of its own: it excludes other threads (each
        opens its own file description) and other processes alike."""
        self.lock_dir.mkdir(parents=True, exist_ok=True)
        with open(self.lock_dir / f"{name}.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # --- images -------------------------------------------------------------------------
    def fetch(self, image: dict, download: Callable[[Path, str | None], dict]) -> CachedImage:
        """The cached base of `image` (imaged's record), fetched if missing.
        `download(path, hash_algorithm)` writes the data to path and returns
        its digests."""
        name = cache_name(image["id"])
        base = self.base_dir / name
        with self._locked(name):
            if base.exists():
                os.utime(base)  # in use: the cache manager must not age it out
                return self._recheck(base, fetched=False)
            part = base.with_name(name + ".part")
            converted = base.with_name(name + ".converted")
            try:
                digests = download(part, image.get("os_hash_algo"))
                verify_digests(image, digests)
                result = check_file(part, image.get("disk_format"))
                base_format = BASE_FORMATS.get(result.format)
                if base_format is None or (self.force_raw and base_format != "raw"):
                    qemu_img.convert(part, result.qemu_format, converted, "raw")
                    part.unlink()
                    check_file(converted, "raw")
                    converted.rename(base)
                else:
                    part.rename(base)
            except ImageSafetyError as exc:
                raise ImageCacheError(f"Image {image['id']} is unsafe and was refused: "
                                      f"{exc}") from None
            except qemu_img.QemuImgError as exc:
                raise ImageCacheError(f"Image {image['id']} could not be converted: "
                                      f"{exc}") from None
            finally:
                part.unlink(missing_ok=True)
                converted.unlink(missing_ok=True)
            return self._recheck(base, fetched=True)

    def _recheck(self, base: Path, fetched: bool) -> CachedImage:
        """Inspect a cached base before it backs a disk: raw or qcow2, and safe."""
        try:
            result = inspect_file(base)
            if result.format not in BASE_FORMATS:
                raise ImageSafetyError([f"a cached base must be raw or qcow2, not "
                                        f"{result.format}"])
            check(result, result.format)
        except ImageSafetyError as exc:
            raise ImageCacheError(f"The cached base {base.name} is unsafe and was "
                                  f"refused: {exc}") from None
        return CachedImage(base, BASE_FORMATS[result.format], result.virtual_size or 0,
                           fetched)

    # --- blank disk templates -----------------------------------------------------------
    def ephemeral_template(self, size_gb: int, fs_type: str) -> Path:
        """A raw sparse file of size_gb, formatted once (Nova's
        _base/ephemeral_<GiB>_<fs>); each server's disk.local is an overlay."""
        name = f"ephemeral_{size_gb}_{fs_type}"
        return self._template(name, size_gb * GiB, fs_type, "ephemeral0")

    def swap_template(self, size_mb: int) -> Path:
        return self._template(f"swap_{size_mb}", size_mb * MiB, "swap", "swap0")

    def _template(self, name: str, size: int, fs_type: str, label: str) -> Path:
        path = self.base_dir / name
        with self._locked(name):
            if path.exists():
                os.utime(path)
                return path
            part = path.with_name(name + ".part")
            try:
                with open(part, "wb") as handle:
                    handle.truncate(size)
                if fs_type != "none":
                    qemu_img.make_filesystem(part, fs_type, label)
                part.rename(path)
            finally:
                part.unlink(missing_ok=True)
        return path

    # --- the cache manager --------------------------------------------------------------
    def clean(self, in_use_image_ids: Iterable[str], in_use_templates: Iterable[str],
              remove_unused: bool, minimum_age: float) -> dict[str, list[str]]:
        """Touch what is in use; delete what has not been used for
        minimum_age seconds (if remove_unused). Returns what it did."""
        in_use = {cache_name(image_id) for image_id in in_use_image_ids} | \
            set(in_use_templates)
        report: dict[str, list[str]] = {"in_use": [], "removed": [], "kept": []}
        if not self.base_dir.is_dir():
            return report
        now = time.time()
        for path in sorted(self.base_dir.iterdir()):
            if path.name.endswith((".part", ".converted")) or not path.is_file():
                continue
            if path.name in in_use:
                os.utime(path)
                report["in_use"].append(path.name)
                continue
            with self._locked(path.name):
                age = now - path.stat().st_mtime
                if remove_unused and age >= minimum_age:
                    path.unlink(missing_ok=True)
                    report["removed"].append(path.name)
                    LOG.info("removed unused base %s (unused for %.0f s)", path.name, age)
                else:
                    report["kept"].append(path.name)
        return report


def verify_digests(image: dict, digests: dict[str, str]) -> None:
    """The downloaded data must be what imaged recorded: the multihash
    (os_hash_algo/os_hash_value) and the legacy md5 checksum, when present."""
    algorithm, expected = image.get("os_hash_algo"), image.get("os_hash_value")
    if algorithm and expected:
        if algorithm not in digests:
            raise ImageCacheError(f"Image {image['id']}: hash algorithm {algorithm} is "
                                  f"not available here")
        if digests[algorithm] != expected:
            raise ImageCacheError(f"Image {image['id']}: the downloaded data does not "
                                  f"match its {algorithm} hash (os_hash_value); refused")
    if image.get("checksum") and digests.get("md5") != image["checksum"]:
        raise ImageCacheError(f"Image {image['id']}: the downloaded data does not match "
                              f"its md5 checksum; refused")
    if not (algorithm and expected) and not image.get("checksum"):
        LOG.warning("image %s has no checksum: its data cannot be verified", image["id"])


def template_names(ephemeral_gb: int, swap_mb: int, fs_type: str) -> list[str]:
    names = []
    if ephemeral_gb:
        names.append(f"ephemeral_{ephemeral_gb}_{fs_type}")
    if swap_mb:
        names.append(f"swap_{swap_mb}")
    return names
