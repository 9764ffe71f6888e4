"""Glance's image cache: whole copies of images whose data lives in a remote
store (http, volume), kept under image_cache_dir and served instead of the
store (see fill.py for which images and why, entries.py for the files and
how several workers share them, index.py for the SQLite index,
prefetcher.py for PUT /v2/cache/{image_id}).

Turned on by [image_cache] image_cache_dir in imaged-api.conf (empty: off).
Its default, image-cache under lib/ of the state directory, keeps it on:
a lab that points images at a web server or keeps them in volumes gets
fast repeated downloads, and one that uses the file store pays nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from imaged.cache.entries import CacheEntries
from imaged.cache.prefetcher import Prefetcher


@dataclass
class ImageCache:
    entries: CacheEntries
    prefetcher: Prefetcher


def image_cache_of(imaged) -> ImageCache | None:
    """The worker's image cache (None when it is turned off), built at the
    first call; its prefetcher thread starts with it."""
    extras = imaged.service.extras
    if "image_cache" not in extras:
        extras["image_cache"] = _build(imaged)
    return extras["image_cache"]


def cache_directory(conf, state_lib: Path) -> Path | None:
    name = conf.image_cache.image_cache_dir
    if not name:
        return None
    return Path(name) if Path(name).is_absolute() else state_lib / name


def _build(imaged) -> ImageCache | None:
    conf = imaged.conf.image_cache
    directory = cache_directory(imaged.conf, imaged.service.state.lib)
    if directory is None:
        return None
    entries = CacheEntries(directory, conf.image_cache_max_size, conf.image_cache_stall_time)
    prefetcher = Prefetcher(imaged, entries, conf.cache_prefetcher_interval)
    prefetcher.start()
    return ImageCache(entries, prefetcher)
