"""Version discovery: GET / and GET /v3/ (no token needed).

The clients find volumed through the catalog URL .../v3/<project_id>, strip
the project and ask GET /v3/ which versions and microversions exist."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from volumed.api.microversion import MAX_VERSION, MIN_VERSION, text

PUBLIC_PATHS = {"/", "/v3", "/v3/"}


def _version() -> dict:
    base = request.host_url.rstrip("/")
    return {"id": "v3.0", "status": "CURRENT", "version": text(MAX_VERSION),
            "min_version": text(MIN_VERSION), "updated": "2023-08-31T00:00:00Z",
            "links": [{"rel": "describedby", "type": "text/html",
                       "href": "https://docs.openstack.org/"},
                      {"rel": "self", "href": f"{base}/v3/"}],
            "media-types": [{"base": "application/json",
                             "type": "application/vnd.openstack.volume+json;version=3"}]}


bp = Blueprint("volume_versions", __name__)


@bp.get("/")
def root():
    response = jsonify({"versions": [_version()]})
    response.status_code = 300
    return response


@bp.get("/v3")
@bp.get("/v3/")
def v3():
    return jsonify({"versions": [_version()]})
