"""GET / and GET /versions: which Image API versions imaged speaks.

The clients pick the highest v2.x entry and use its `self` link as the base
URL of every image call, so the link is built from the host the request came
to. The clients also read the list to decide what they may ask: glanceclient
refuses `cache-*` unless v2.14 is listed (v2.18 for clean and prune), and
`add-location` unless v2.17 is. So a version is listed only when what it
added is really there, as Glance does:

    v2.0-v2.7   images, members, tags, tasks, import, hidden images, multihash
    v2.8-v2.13  multi-store: /v2/info/stores, OpenStack-image-store-ids,
                import to several stores, copy-image, DELETE /v2/stores/...,
                /v2/info/usage
    v2.15       /v2/info/stores/detail
    v2.17       the locations API: GET/POST /v2/images/{id}/locations
    v2.14, v2.16, v2.18   the image cache API (/v2/cache; clean and prune
                in v2.18): only when [image_cache] image_cache_dir is set

imaged always has the multi-store calls (one store is a multi-store of
one), so only the cache changes the list.
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from imaged.api import runtime

ALWAYS = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15, 17)
WITH_CACHE = (14, 16, 18)


def listed_versions(cache_enabled: bool) -> list[tuple[str, str]]:
    """(id, status) pairs, newest first; the newest is CURRENT."""
    minors = sorted(ALWAYS + (WITH_CACHE if cache_enabled else ()), reverse=True)
    return [(f"v2.{minor}", "CURRENT" if index == 0 else "SUPPORTED")
            for index, minor in enumerate(minors)]


bp = Blueprint("versions", __name__)


def document() -> dict:
    href = request.host_url.rstrip("/") + "/v2/"
    cache_enabled = bool(runtime().conf.image_cache.image_cache_dir)
    return {"versions": [{"id": version, "status": status,
                          "links": [{"rel": "self", "href": href}]}
                         for version, status in listed_versions(cache_enabled)]}


@bp.get("/")
def root():
    response = jsonify(document())
    response.status_code = 300
    return response


@bp.get("/versions")
def versions_route():
    return jsonify(document())
