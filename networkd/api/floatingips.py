"""/v2.0/floatingips: list, create, show, update (associate with a port,
or port_id null to disassociate), delete."""
from __future__ import annotations

from flask import Blueprint, Response

from networkd import floatingips
from networkd.api.common import list_response, one, query, reading, writing
from networkd.attributes import POST, PUT, request_schema
from shared.api import json_body
from shared.openapi import describe

bp = Blueprint("floatingips", __name__, url_prefix="/v2.0")


@bp.get("/floatingips")
def list_floatingips():
    with reading() as call:
        items = floatingips.to_dicts(call, floatingips.list_visible(call, query()))
    return list_response("floatingips", items)


@bp.post("/floatingips")
@describe(request=request_schema(floatingips.RESOURCE, floatingips.ATTRS, POST))
def create_floatingip():
    with writing() as call:
        shown = floatingips.to_dict(call, floatingips.create(call, json_body()))
    return one("floatingip", shown, 201)


@bp.get("/floatingips/<floatingip_id>")
def show_floatingip(floatingip_id):
    with reading() as call:
        shown = floatingips.to_dict(call, floatingips.get(call, floatingip_id))
    return one("floatingip", shown)


@bp.put("/floatingips/<floatingip_id>")
@describe(request=request_schema(floatingips.RESOURCE, floatingips.ATTRS, PUT))
def update_floatingip(floatingip_id):
    with writing() as call:
        shown = floatingips.to_dict(call, floatingips.update(call, floatingip_id, json_body()))
    return one("floatingip", shown)


@bp.delete("/floatingips/<floatingip_id>")
def delete_floatingip(floatingip_id):
    with writing() as call:
        floatingips.delete(call, floatingip_id)
    return Response(status=204)
