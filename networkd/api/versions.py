"""GET /: the versions document (no token needed). The clients take the
catalog URL and append v2.0 themselves; this is for people and tools."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

PUBLIC_PATHS = {"/", "/v2.0", "/v2.0/"}

bp = Blueprint("network_versions", __name__)


def _version() -> dict:
    return {"id": "v2.0", "status": "CURRENT",
            "links": [{"href": f"{request.host_url.rstrip('/')}/v2.0/", "rel": "self"}]}


@bp.get("/")
def root():
    return jsonify({"versions": [_version()]})


@bp.get("/v2.0")
@bp.get("/v2.0/")
def v2():
    """The resources of v2.0, as Neutron lists them at its root."""
    base = f"{request.host_url.rstrip('/')}/v2.0"
    collections = ["networks", "subnets", "ports", "routers", "floatingips",
                   "security-groups", "security-group-rules", "quotas"]
    return jsonify({"resources": [
        {"name": name.rstrip("s").replace("-", "_"), "collection": name,
         "links": [{"href": f"{base}/{name}", "rel": "self"}]} for name in collections]})
