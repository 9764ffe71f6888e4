"""POST /v3/{project_id}/volumes/{id}/action: one action per request, named
by the body's only key ({"os-extend": {"new_size": 2}}). Each action is a
function of (project_id, volume_id, argument) in ACTIONS."""
from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Response, jsonify

from shared.api import context, json_body
from shared.errors import BadRequest
from shared.openapi import describe
from shared.strutils import bool_param
from shared.validation import checked, nova_message
from volumed import repo
from volumed.api import microversion, schemas
from volumed.api.common import authorize, check_url_project, deps, must_see, read_scope
from volumed.api.validation import invalid
from volumed.domain.sizes import parse_size
from volumed.flows import attach as attach_flow
from volumed.flows import detach as detach_flow
from volumed.flows.change import extend_volume, reset_status, retype, set_bootable
from volumed.flows.delete import delete_volume
from volumed.flows.readonly import update_readonly_flag
from volumed.flows.revert import revert_to_snapshot
from volumed.flows.upload import upload_to_image

bp = Blueprint("volume_actions", __name__, url_prefix="/v3/<project_id>")


@bp.post("/volumes/<volume_id>/action")
@describe(request=schemas.VOLUME_ACTION)
def action(project_id, volume_id):
    check_url_project(project_id)
    body = json_body()
    if len(body) != 1:
        raise BadRequest("Invalid request: the body must name exactly one action.")
    name, argument = next(iter(body.items()))
    handler = ACTIONS.get(name)
    if handler is None:
        raise BadRequest(f"Invalid request: volumed does not support the action "
                         f"{name!r} (supported: {', '.join(sorted(ACTIONS))}).")
    checked(body, schemas.VOLUME_ACTION, message=nova_message)
    return handler(project_id, volume_id, argument)


def _accepted() -> Response:
    return Response(status=202)


def extend(project_id, volume_id, body):
    authorize("extend", project_id)
    new_size = parse_size((body or {}).get("new_size"), field="new_size")
    extend_volume(deps(), context(), read_scope(), volume_id, new_size,
                  attached=microversion.at_least(microversion.VOLUME_EXTEND_INUSE))
    return _accepted()


def reset(project_id, volume_id, body):
    must_see(repo.get_volume, volume_id)
    authorize("reset_status", project_id)
    reset_status(deps(), context(), volume_id, body or {})
    return _accepted()


def force_delete(project_id, volume_id, body):
    must_see(repo.get_volume, volume_id)
    authorize("force_delete", project_id)
    delete_volume(deps(), context(), None, volume_id, force=True)
    return _accepted()


def upload(project_id, volume_id, body):
    authorize("upload_to_image", project_id)
    return jsonify(upload_to_image(deps(), context(), read_scope(), volume_id, body or {})), 202


def reserve(project_id, volume_id, body):
    authorize("attach", project_id)
    attach_flow.reserve(deps(), context(), read_scope(), volume_id)
    return _accepted()


def unreserve(project_id, volume_id, body):
    authorize("attach", project_id)
    attach_flow.unreserve(deps(), context(), read_scope(), volume_id)
    return _accepted()


def initialize_connection(project_id, volume_id, body):
    authorize("attach", project_id)
    info = attach_flow.initialize_connection(deps(), context(), read_scope(), volume_id,
                                             (body or {}).get("connector"))
    return jsonify({"connection_info": info})


def terminate_connection(project_id, volume_id, body):
    authorize("attach", project_id)
    detach_flow.terminate_connection(deps(), context(), read_scope(), volume_id,
                                     (body or {}).get("connector"))
    return _accepted()


def attach(project_id, volume_id, body):
    authorize("attach", project_id)
    attach_flow.attach(deps(), context(), read_scope(), volume_id, body or {})
    return _accepted()


def detach(project_id, volume_id, body):
    authorize("attach", project_id)
    detach_flow.detach(deps(), context(), read_scope(), volume_id,
                       (body or {}).get("attachment_id"))
    return _accepted()


def begin_detaching(project_id, volume_id, body):
    authorize("attach", project_id)
    detach_flow.begin_detaching(deps(), context(), read_scope(), volume_id)
    return _accepted()


def roll_detaching(project_id, volume_id, body):
    authorize("attach", project_id)
    detach_flow.roll_detaching(deps(), context(), read_scope(), volume_id)
    return _accepted()


def bootable(project_id, volume_id, body):
    authorize("update", project_id)
    if not isinstance(body, dict) or "bootable" not in body:
        raise BadRequest("Invalid input received: os-set_bootable needs 'bootable'.")
    set_bootable(deps(), context(), read_scope(), volume_id,
                 bool_param("bootable", body["bootable"]))
    return Response(status=200)


def change_type(project_id, volume_id, body):
    authorize("update", project_id)
    if not isinstance(body, dict) or not body.get("new_type"):
        raise BadRequest("Invalid input received: os-retype needs 'new_type'.")
    retype(deps(), context(), read_scope(), volume_id, body["new_type"])
    return _accepted()


def readonly_flag(project_id, volume_id, body):
    authorize("update_readonly_flag", project_id)
    if not isinstance(body, dict) or "readonly" not in body:
        raise BadRequest("Invalid input for field/attribute os-update_readonly_flag. "
                         "'readonly' is a required property.")
    update_readonly_flag(deps(), context(), read_scope(), volume_id,
                         bool_param("readonly", body["readonly"]))
    return _accepted()


def revert(project_id, volume_id, body):
    """3.40: back to the volume's latest snapshot (404 below, as an action
    Cinder's version does not have)."""
    microversion.require(microversion.VOLUME_REVERT)
    if not isinstance(body, dict):
        raise invalid("revert", body, f"{body!r} is not of type 'object'")
    snapshot_id = body.get("snapshot_id")
    if snapshot_id is not None and not isinstance(snapshot_id, str):
        raise invalid("snapshot_id", snapshot_id,
                      f"{snapshot_id!r} is not of type 'string', 'null'")
    authorize("revert_to_snapshot", project_id)
    revert_to_snapshot(deps(), context(), read_scope(), volume_id, snapshot_id)
    return _accepted()


ACTIONS: dict[str, Callable] = {
    "os-extend": extend, "os-reset_status": reset, "os-force_delete": force_delete,
    "os-volume_upload_image": upload, "os-reserve": reserve, "os-unreserve": unreserve,
    "os-initialize_connection": initialize_connection,
    "os-terminate_connection": terminate_connection, "os-attach": attach,
    "os-detach": detach, "os-begin_detaching": begin_detaching,
    "os-roll_detaching": roll_detaching, "os-set_bootable": bootable,
    "os-retype": change_type, "os-update_readonly_flag": readonly_flag,
    "revert": revert,
}
