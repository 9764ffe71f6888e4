"""/v2.0/ports: list, create, show, update, delete."""
from __future__ import annotations

from flask import Blueprint, Response

from networkd import ports
from networkd.api.common import list_response, one, query, reading, writing
from networkd.attributes import POST, PUT, request_schema
from shared.api import json_body
from shared.openapi import describe

bp = Blueprint("ports", __name__, url_prefix="/v2.0")


@bp.get("/ports")
def list_ports():
    with reading() as call:
        items = ports.to_dicts(call, ports.list_visible(call, query()))
    return list_response("ports", items)


@bp.post("/ports")
@describe(request=request_schema(ports.RESOURCE, ports.ATTRS, POST))
def create_port():
    with writing() as call:
        port = ports.create(call, json_body())
        shown = ports.to_dict(call, port)
    return one("port", shown, 201)


@bp.get("/ports/<port_id>")
def show_port(port_id):
    with reading() as call:
        shown = ports.to_dict(call, ports.get(call, port_id))
    return one("port", shown)


@bp.put("/ports/<port_id>")
@describe(request=request_schema(ports.RESOURCE, ports.ATTRS, PUT))
def update_port(port_id):
    with writing() as call:
        shown = ports.to_dict(call, ports.update(call, port_id, json_body()))
    return one("port", shown)


@bp.delete("/ports/<port_id>")
def delete_port(port_id):
    with writing() as call:
        ports.delete(call, port_id)
    return Response(status=204)
