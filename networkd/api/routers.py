"""/v2.0/routers: list, create, show, update, delete, and the interface
actions PUT /routers/{id}/add_router_interface and remove_router_interface."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify

from networkd import routers
from networkd.api.common import list_response, one, reading, writing
from networkd.attributes import POST, PUT, request_schema
from shared.api import json_body
from shared.openapi import describe

bp = Blueprint("routers", __name__, url_prefix="/v2.0")


@bp.get("/routers")
def list_routers():
    with reading() as call:
        items = routers.to_dicts(call, routers.list_visible(call))
    return list_response("routers", items)


@bp.post("/routers")
@describe(request=request_schema(routers.RESOURCE, routers.ATTRS, POST))
def create_router():
    with writing() as call:
        shown = routers.to_dict(call, routers.create(call, json_body()))
    return one("router", shown, 201)


@bp.get("/routers/<router_id>")
def show_router(router_id):
    with reading() as call:
        shown = routers.to_dict(call, routers.get(call, router_id))
    return one("router", shown)


@bp.put("/routers/<router_id>")
@describe(request=request_schema(routers.RESOURCE, routers.ATTRS, PUT))
def update_router(router_id):
    with writing() as call:
        shown = routers.to_dict(call, routers.update(call, router_id, json_body()))
    return one("router", shown)


@bp.delete("/routers/<router_id>")
def delete_router(router_id):
    with writing() as call:
        routers.delete(call, router_id)
    return Response(status=204)


@bp.put("/routers/<router_id>/add_router_interface")
@describe(request=routers.INTERFACE_SCHEMA)
def add_router_interface(router_id):
    with writing() as call:
        info = routers.add_interface(call, router_id, json_body())
    return jsonify(info)


@bp.put("/routers/<router_id>/remove_router_interface")
@describe(request=routers.INTERFACE_SCHEMA)
def remove_router_interface(router_id):
    with writing() as call:
        info = routers.remove_interface(call, router_id, json_body())
    return jsonify(info)
