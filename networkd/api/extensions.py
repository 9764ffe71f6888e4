"""GET /v2.0/extensions and /v2.0/extensions/<alias> (404 when absent)."""
from __future__ import annotations

from flask import Blueprint, jsonify

from networkd import extensions
from networkd.errors import HTTPNotFound

bp = Blueprint("network_extensions", __name__, url_prefix="/v2.0")


@bp.get("/extensions")
def list_extensions():
    return jsonify({"extensions": extensions.all_extensions()})


@bp.get("/extensions/<alias>")
def show_extension(alias):
    found = extensions.find(alias)
    if found is None:
        raise HTTPNotFound(f"Extension with alias {alias} does not exist")
    return jsonify({"extension": found})
