"""/v2.0/networks: list, create, show, update, delete."""
from __future__ import annotations

from flask import Blueprint, Response

from networkd import networks
from networkd.api.common import list_response, one, query, reading, writing
from networkd.attributes import POST, PUT, request_schema
from shared.api import json_body
from shared.openapi import describe

bp = Blueprint("networks", __name__, url_prefix="/v2.0")


@bp.get("/networks")
def list_networks():
    with reading() as call:
        items = networks.to_dicts(call, networks.list_visible(call, query()))
    return list_response("networks", items)


@bp.post("/networks")
@describe(request=request_schema(networks.RESOURCE, networks.ATTRS, POST))
def create_network():
    with writing() as call:
        network = networks.create(call, json_body())
        shown = networks.to_dict(call, network)
    return one("network", shown, 201)


@bp.get("/networks/<network_id>")
def show_network(network_id):
    with reading() as call:
        shown = networks.to_dict(call, networks.get(call, network_id))
    return one("network", shown)


@bp.put("/networks/<network_id>")
@describe(request=request_schema(networks.RESOURCE, networks.ATTRS, PUT))
def update_network(network_id):
    with writing() as call:
        shown = networks.to_dict(call, networks.update(call, network_id, json_body()))
    return one("network", shown)


@bp.delete("/networks/<network_id>")
def delete_network(network_id):
    with writing() as call:
        networks.delete(call, network_id)
    return Response(status=204)
