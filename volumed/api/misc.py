"""Small read-only resources the clients ask for: availability zones and
the (empty) list of extensions."""
from __future__ import annotations

from flask import Blueprint, jsonify

from volumed.api.common import check_url_project

bp = Blueprint("volume_misc", __name__, url_prefix="/v3/<project_id>")


@bp.get("/os-availability-zone")
def availability_zones(project_id):
    check_url_project(project_id)
    return jsonify({"availabilityZoneInfo": [{"zoneName": "nova",
                                              "zoneState": {"available": True}}]})


@bp.get("/extensions")
def extensions(project_id):
    check_url_project(project_id)
    return jsonify({"extensions": []})
