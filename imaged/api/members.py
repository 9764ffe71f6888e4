"""/v2/images/{id}/members: sharing an image with other projects.

The owner adds a project (it starts pending); the member project answers
accepted or rejected (only the member may, not the owner); only accepted
images appear in the member's default image list. A member sees its own
membership only; the owner sees them all.
"""
from __future__ import annotations

from flask import Blueprint, jsonify

from imaged.api.images import _json
from imaged.api.lookup import visible_image
from imaged.api.render import member_view
from imaged.db.repository import DuplicateMember, Notice
from imaged.domain import rules
from imaged.domain.errors import Conflict, InvalidInput, MemberNotFound
from imaged.domain.image import Member
from imaged.runtime import Imaged, caller_of
from shared.api import context


def _notice(event_type: str, member: Member, ctx, owner: str | None) -> Notice:
    return Notice(event_type, member.image_id,
                  {"image_id": member.image_id, "member_id": member.member_id,
                   "status": member.status}, context=ctx, project_id=owner)


def members_blueprint(imaged: Imaged) -> Blueprint:
    bp = Blueprint("image_members", __name__)

    @bp.post("/v2/images/<image_id>/members")
    def add_member(image_id: str):
        ctx = context()
        image = visible_image(imaged, ctx, image_id)
        imaged.authorize("add_member", ctx, image)
        rules.check_can_share(image)
        member_id = _json().get("member")
        if not isinstance(member_id, str) or not member_id.strip():
            raise InvalidInput("The body must name the project to share with: "
                               '{"member": "<project id>"}.')
        rules.check_member_limit(len(imaged.repo.list_members(image.id)), imaged.limits)
        member = Member(image.id, member_id.strip())
        try:
            imaged.repo.add_member(member, [_notice("image.member.create", member, ctx,
                                                    image.owner)])
        except DuplicateMember:
            raise Conflict(f"Member {member.member_id} already exists for image "
                           f"{image.id}.") from None
        return jsonify(member_view(member))

    @bp.get("/v2/images/<image_id>/members")
    def list_members(image_id: str):
        ctx = context()
        image = visible_image(imaged, ctx, image_id)
        imaged.authorize("get_members", ctx, image)
        rules.check_can_share(image)
        members = imaged.repo.list_members(image.id)
        if not rules.is_owner(image, caller_of(ctx)):
            members = [m for m in members if m.member_id == ctx.project_id]
        return jsonify({"members": [member_view(m) for m in members],
                        "schema": "/v2/schemas/members"})

    def _member(image, member_id: str, ctx) -> Member:
        member = imaged.repo.get_member(image.id, member_id)
        visible = member is not None and (rules.is_owner(image, caller_of(ctx))
                                          or member_id == ctx.project_id)
        if not visible:
            raise MemberNotFound(image.id, member_id)
        return member

    @bp.get("/v2/images/<image_id>/members/<member_id>")
    def show_member(image_id: str, member_id: str):
        ctx = context()
        image = visible_image(imaged, ctx, image_id)
        imaged.authorize("get_member", ctx, image, member_id=member_id)
        return jsonify(member_view(_member(image, member_id, ctx)))

    @bp.put("/v2/images/<image_id>/members/<member_id>")
    def update_member(image_id: str, member_id: str):
        ctx = context()
        image = visible_image(imaged, ctx, image_id)
        member = _member(image, member_id, ctx)
        imaged.authorize("modify_member", ctx, image, member_id=member_id)
        member.status = rules.check_member_status(_json().get("status"))
        imaged.repo.update_member(member, [_notice("image.member.update", member, ctx,
                                                   image.owner)])
        return jsonify(member_view(member))

    @bp.delete("/v2/images/<image_id>/members/<member_id>")
    def delete_member(image_id: str, member_id: str):
        ctx = context()
        image = visible_image(imaged, ctx, image_id)
        member = _member(image, member_id, ctx)
        imaged.authorize("delete_member", ctx, image, member_id=member_id)
        imaged.repo.delete_member(image.id, member_id, [
            _notice("image.member.delete", member, ctx, image.owner)])
        return "", 204

    return bp
