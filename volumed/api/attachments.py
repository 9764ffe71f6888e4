"""/v3/{project_id}/attachments (microversion 3.27+; os-complete 3.44+)."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from shared.api import context, json_body
from shared.db import transaction
from shared.errors import BadRequest
from shared.openapi import describe
from shared.validation import checked, nova_message
from volumed import repo
from volumed.api import microversion, render, schemas
from volumed.api.common import authorize, check_url_project, deps, read_scope
from volumed.flows import attach as attach_flow
from volumed.flows import detach as detach_flow

bp = Blueprint("attachments", __name__, url_prefix="/v3/<project_id>")


@bp.before_request
def _only_from_3_27():
    microversion.require(microversion.ATTACHMENTS)


@bp.get("/attachments")
def list_attachments(project_id):
    return _listing(project_id, detail=False)


@bp.get("/attachments/detail")
def list_attachments_detail(project_id):
    return _listing(project_id, detail=True)


@bp.get("/attachments/<attachment_id>")
def show(project_id, attachment_id):
    check_url_project(project_id)
    authorize("get", project_id)
    return jsonify(_one(attachment_id))


@bp.post("/attachments")
@describe(request=schemas.ATTACHMENT_CREATE)
def create(project_id):
    check_url_project(project_id)
    authorize("attach", project_id)
    checked(json_body(), schemas.ATTACHMENT_CREATE)
    spec = json_body().get("attachment")
    if not isinstance(spec, dict) or not spec.get("volume_uuid"):
        raise BadRequest("Invalid input received: 'attachment' with 'volume_uuid' "
                         "is required.")
    attachment, info = attach_flow.create_attachment(
        deps(), context(), read_scope(), spec["volume_uuid"], spec.get("instance_uuid"),
        spec.get("connector"), spec.get("mode") if spec.get("mode") != "null" else None)
    return jsonify(_one(attachment.id, info))


@bp.put("/attachments/<attachment_id>")
@describe(request=schemas.ATTACHMENT_UPDATE)
def update(project_id, attachment_id):
    check_url_project(project_id)
    authorize("attach", project_id)
    spec = json_body().get("attachment")
    if not isinstance(spec, dict) or not isinstance(spec.get("connector"), dict):
        raise BadRequest("Invalid input received: 'attachment' with a 'connector' "
                         "is required.")
    checked(json_body(), schemas.ATTACHMENT_UPDATE, message=nova_message)
    info = attach_flow.connect(deps(), context(), read_scope(), attachment_id,
                               spec["connector"])
    return jsonify(_one(attachment_id, info))


@bp.delete("/attachments/<attachment_id>")
def delete(project_id, attachment_id):
    check_url_project(project_id)
    authorize("attach", project_id)
    remaining = detach_flow.delete_attachment(deps(), context(), read_scope(), attachment_id)
    return jsonify({"attachments": [render.attachment_summary(a) for a in remaining]})


@bp.post("/attachments/<attachment_id>/action")
@describe(request=schemas.ATTACHMENT_ACTION)
def action(project_id, attachment_id):
    check_url_project(project_id)
    authorize("attach", project_id)
    body = json_body()
    if "os-complete" not in body:
        raise BadRequest("Invalid request: the only attachment action is os-complete.")
    microversion.require(microversion.ATTACHMENT_COMPLETE)
    attach_flow.complete(deps(), context(), read_scope(), attachment_id)
    return Response(status=204)


def _listing(project_id: str, detail: bool):
    check_url_project(project_id)
    authorize("get", project_id)
    wanted_volume = request.args.get("volume_id")
    wanted_instance = request.args.get("instance_id") or request.args.get("instance_uuid")
    with transaction(deps().sessions, write=False) as session:
        items = [a for a in repo.list_attachments(session, context().project_id)
                 if (not wanted_volume or a.volume_id == wanted_volume)
                 and (not wanted_instance or a.instance_uuid == wanted_instance)]
        if detail:
            return jsonify({"attachments": [render.attachment_detail(a, None) for a in items]})
        return jsonify({"attachments": [render.attachment_summary(a) for a in items]})


def _one(attachment_id: str, info: dict | None = None) -> dict:
    """An attachment's detail; its connection info too while it is exported
    (computed reads it again after a restart)."""
    with transaction(deps().sessions, write=False) as session:
        attachment = repo.get_attachment(session, attachment_id, read_scope())
        if info is None and attachment.attach_status in ("attaching", "attached") \
                and attachment.chap_username:
            info = attach_flow.connection_info(deps(), attachment)
        return {"attachment": render.attachment_detail(attachment, info)}
