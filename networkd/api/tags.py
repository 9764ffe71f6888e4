"""/v2.0/<collection>/<id>/tags[/<tag>]: Neutron's tag API for every
taggable collection (networkd.tags.TAGGABLE)."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify

from networkd import tags
from networkd.api.common import reading, writing
from shared.api import json_body
from shared.openapi import describe

bp = Blueprint("tags", __name__, url_prefix="/v2.0/<collection>/<resource_id>/tags")


@bp.get("")
def list_tags(collection, resource_id):
    with reading() as call:
        found = tags.get_all(call, collection, resource_id)
    return jsonify({"tags": found})


@bp.put("")
@describe(request=tags.REPLACE_SCHEMA)
def replace_tags(collection, resource_id):
    with writing() as call:
        found = tags.replace(call, collection, resource_id, json_body())
    return jsonify({"tags": found})


@bp.delete("")
def delete_tags(collection, resource_id):
    with writing() as call:
        tags.remove_all(call, collection, resource_id)
    return Response(status=204)


@bp.get("/<tag>")
def check_tag(collection, resource_id, tag):
    with reading() as call:
        tags.check(call, collection, resource_id, tag)
    return Response(status=204)


@bp.put("/<tag>")
@describe(no_body=True)
def add_tag(collection, resource_id, tag):
    with writing() as call:
        tags.add(call, collection, resource_id, tag)
    return Response(status=201)


@bp.delete("/<tag>")
def delete_tag(collection, resource_id, tag):
    with writing() as call:
        tags.remove(call, collection, resource_id, tag)
    return Response(status=204)
