"""/v2/cache: Glance's cache management API (Image API 2.14, clean and prune
2.18), admin only. The cache itself is in imaged/cache/.

    GET    /v2/cache              cached_images and queued_images
    PUT    /v2/cache/{image_id}   queue an active image for the prefetcher (202)
    DELETE /v2/cache/{image_id}   drop its copy and its place in the queue (204)
    DELETE /v2/cache              clear; x-image-cache-clear-target: cache, queue
                                  or both (also: empty or absent) (204)
    POST   /v2/cache/clean        remove copies stalled longer than image_cache_stall_time
    POST   /v2/cache/prune        remove least recently used copies down to image_cache_max_size

With the cache turned off (image_cache_dir empty) every call is 404, as in
Glance, once the policy has allowed the caller.
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from imaged.api import runtime
from imaged.cache import ImageCache, image_cache_of
from imaged.cache.prefetcher import forget_gone_images
from imaged.domain import status as st
from imaged.domain.errors import ImageNotFound, InvalidInput
from imaged.domain.image import Image
from imaged.images import visible_image
from imaged.runtime import Imaged
from shared.api import context
from shared.errors import NotFound

CLEAR_TARGETS = {"": ("cache", "queue"), "both": ("cache", "queue"),
                 "cache": ("cache",), "queue": ("queue",)}


bp = Blueprint("image_cache", __name__)


def allowed(rule: str, image: Image | None = None) -> ImageCache:
    """The cache, once policy allows the caller (404 when it is turned off)."""
    imaged = runtime()
    imaged.authorize(rule, context(), image)
    cache = image_cache_of(imaged)
    if cache is None:
        raise NotFound("Caching via API is not supported at this site "
                       "([image_cache] image_cache_dir is empty).")
    return cache


@bp.get("/v2/cache")
def list_cache():
    cache = allowed("cache_list")
    forget_gone_images(runtime(), cache.entries)
    return jsonify({"cached_images": [e.view() for e in cache.entries.index.entries()],
                    "queued_images": cache.entries.index.queued()})


@bp.put("/v2/cache/<image_id>")
def queue_image(image_id: str):
    imaged = runtime()
    image = _image(imaged, image_id)
    if image is None:
        raise ImageNotFound(image_id)    # before the policy, as Glance
    cache = allowed("cache_image", image)
    if image.status != st.ACTIVE:
        raise InvalidInput(f"Only images with status active can be targeted for "
                           f"queueing (image {image_id} is {image.status}).")
    if (image.size or 0) > cache.entries.max_size:
        raise InvalidInput(f"Image {image_id} ({image.size} bytes) is bigger than the "
                           f"whole cache may be (image_cache_max_size = "
                           f"{cache.entries.max_size}).")
    cache.entries.index.queue(image_id)
    cache.prefetcher.wake()
    return "", 202


@bp.delete("/v2/cache/<image_id>")
def delete_cached_image(image_id: str):
    imaged = runtime()
    image = _image(imaged, image_id)
    known = image_cache_of(imaged)
    if image is None and (known is None or not _in_cache(known, image_id)):
        raise ImageNotFound(image_id)    # before the policy, as Glance
    cache = allowed("cache_delete", image)
    index = cache.entries.index
    cache.entries.remove(image_id)
    index.dequeue(image_id)
    return "", 204


@bp.delete("/v2/cache")
def clear_cache():
    cache = allowed("cache_delete")
    target = request.headers.get("x-image-cache-clear-target", "").strip().lower()
    if target not in CLEAR_TARGETS:
        raise InvalidInput("If provided 'x-image-cache-clear-target' must be 'cache', "
                           "'queue', 'both' or empty.")
    if "cache" in CLEAR_TARGETS[target]:
        cache.entries.clear()
    if "queue" in CLEAR_TARGETS[target]:
        cache.entries.index.clear_queue()
    return "", 204


@bp.post("/v2/cache/clean")
def clean_cache():
    removed = allowed("cache_clean").entries.clean()
    return jsonify({"total_files_cleaned": removed.files,
                    "total_bytes_cleaned": removed.bytes})


@bp.post("/v2/cache/prune")
def prune_cache():
    removed = allowed("cache_prune").entries.prune()
    return jsonify({"total_files_pruned": removed.files,
                    "total_bytes_pruned": removed.bytes})


def _image(imaged: Imaged, image_id: str) -> Image | None:
    """The image as the caller sees it, or None (none, deleted, or another
    project's that the caller may not see): Glance looks the image up as the
    caller before asking its admin-only policy, so a project that cannot see
    an image gets 404 where a member of the owner gets 403."""
    image = imaged.repo.get(image_id) if len(image_id) <= 36 else None
    if image is None or image.status in (st.DELETED, st.PENDING_DELETE):
        return None
    try:
        return visible_image(imaged, context(), image_id)
    except ImageNotFound:
        return None


def _in_cache(cache: ImageCache, image_id: str) -> bool:
    index = cache.entries.index
    return index.get(image_id) is not None or image_id in index.queued()
