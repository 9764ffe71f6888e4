"""/v2/images/{id}/members: sharing an image with other projects.

The owner adds a project (it starts pending); the member project answers
accepted or rejected (only the member may, not the owner); only accepted
images appear in the member's default image list. A member sees its own
membership only; the owner sees them all. The rules are in imaged/images.py.
"""
from __future__ import annotations

from flask import Blueprint, jsonify

from imaged import images
from imaged.api import runtime, schemas
from imaged.api.images import json_object
from imaged.api.render import member_view, no_content
from shared.api import context
from shared.openapi import describe

bp = Blueprint("image_members", __name__)


@bp.post("/v2/images/<image_id>/members")
@describe(response=schemas.of("member"))
def add_member(image_id: str):
    member = images.add_member(runtime(), context(), image_id, json_object().get("member"))
    return jsonify(member_view(member))


@bp.get("/v2/images/<image_id>/members")
@describe(response=schemas.of("members"))
def list_members(image_id: str):
    members = images.list_members(runtime(), context(), image_id)
    return jsonify({"members": [member_view(m) for m in members],
                    "schema": "/v2/schemas/members"})


@bp.get("/v2/images/<image_id>/members/<member_id>")
@describe(response=schemas.of("member"))
def show_member(image_id: str, member_id: str):
    return jsonify(member_view(images.show_member(runtime(), context(), image_id, member_id)))


@bp.put("/v2/images/<image_id>/members/<member_id>")
@describe(response=schemas.of("member"))
def update_member(image_id: str, member_id: str):
    member = images.update_member(runtime(), context(), image_id, member_id,
                                  json_object().get("status"))
    return jsonify(member_view(member))


@bp.delete("/v2/images/<image_id>/members/<member_id>")
def delete_member(image_id: str, member_id: str):
    images.delete_member(runtime(), context(), image_id, member_id)
    return no_content()
