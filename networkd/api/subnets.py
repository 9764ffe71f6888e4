"""/v2.0/subnets: list, create, show, update, delete."""
from __future__ import annotations

from flask import Blueprint, Response

from networkd import subnets
from networkd.api.common import list_response, one, reading, writing
from networkd.attributes import POST, PUT, request_schema
from shared.api import json_body
from shared.openapi import describe

bp = Blueprint("subnets", __name__, url_prefix="/v2.0")


@bp.get("/subnets")
def list_subnets():
    with reading() as call:
        items = subnets.to_dicts(call, subnets.list_visible(call))
    return list_response("subnets", items)


@bp.post("/subnets")
@describe(request=request_schema(subnets.RESOURCE, subnets.ATTRS, POST))
def create_subnet():
    with writing() as call:
        subnet = subnets.create(call, json_body())
        shown = subnets.to_dict(call, subnet)
    return one("subnet", shown, 201)


@bp.get("/subnets/<subnet_id>")
def show_subnet(subnet_id):
    with reading() as call:
        shown = subnets.to_dict(call, subnets.get(call, subnet_id))
    return one("subnet", shown)


@bp.put("/subnets/<subnet_id>")
@describe(request=request_schema(subnets.RESOURCE, subnets.ATTRS, PUT))
def update_subnet(subnet_id):
    with writing() as call:
        shown = subnets.to_dict(call, subnets.update(call, subnet_id, json_body()))
    return one("subnet", shown)


@bp.delete("/subnets/<subnet_id>")
def delete_subnet(subnet_id):
    with writing() as call:
        subnets.delete(call, subnet_id)
    return Response(status=204)
