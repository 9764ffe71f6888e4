"""Version discovery: GET / and GET /v2.1 (no token needed).

The client reads "version" (the highest microversion computed speaks) and
"min_version" (2.1), and sends the highest both it and computed know
(api/microversion.py lists what each version changes here).
"""
from __future__ import annotations

from flask import Blueprint, jsonify

from computed.api.common import API_PREFIX, MAX_VERSION, MIN_VERSION, base_url, version_text

PUBLIC_PATHS = {"/", "/v2.1", "/v2.1/"}


def _v21() -> dict:
    """The version as GET / lists it (Nova lists no links to docs or media
    types there; GET /v2.1 adds them)."""
    return {"id": "v2.1", "status": "CURRENT", "version": version_text(MAX_VERSION),
            "min_version": version_text(MIN_VERSION), "updated": "2013-07-23T11:33:21Z",
            "links": [{"rel": "self", "href": f"{base_url()}{API_PREFIX}/"}]}


bp = Blueprint("versions", __name__)


@bp.get("/")
def versions():
    return jsonify({"versions": [_v21()]})


@bp.get(API_PREFIX)
@bp.get(f"{API_PREFIX}/")
def version():
    document = _v21()
    document["links"].append({"rel": "describedby", "type": "text/html",
                              "href": "http://docs.openstack.org/"})
    document["media-types"] = [{"base": "application/json",
                                "type": "application/vnd.openstack.compute+json;version=2.1"}]
    return jsonify({"version": document})
