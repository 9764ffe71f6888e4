"""Version discovery: GET / and GET /v2.1 (no token needed).

The client reads "version" (the highest microversion) and "min_version";
computed speaks 2.1 only, so both are 2.1 and the client sends 2.1 shapes.
"""
from __future__ import annotations

from flask import Blueprint, jsonify

from computed.api.common import API_PREFIX, MAX_VERSION, MIN_VERSION, base_url, version_text

PUBLIC_PATHS = {"/", "/v2.1", "/v2.1/"}


def _v21() -> dict:
    return {"id": "v2.1", "status": "CURRENT", "version": version_text(MAX_VERSION),
            "min_version": version_text(MIN_VERSION), "updated": "2013-07-23T11:33:21Z",
            "links": [{"rel": "self", "href": f"{base_url()}{API_PREFIX}/"}],
            "media-types": [{"base": "application/json",
                             "type": "application/vnd.openstack.compute+json;version=2.1"}]}


bp = Blueprint("versions", __name__)


@bp.get("/")
def versions():
    return jsonify({"versions": [_v21()]})


@bp.get(API_PREFIX)
@bp.get(f"{API_PREFIX}/")
def version():
    return jsonify({"version": _v21()})
