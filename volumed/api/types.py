"""/v3/{project_id}/types: volume types. Every type lives on the same file
backend; a type is a label (and extra_specs) an admin can add. The default
type, __DEFAULT__, always exists."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify

from shared.api import json_body
from shared.db import transaction
from shared.errors import BadRequest
from shared.openapi import describe
from shared.strutils import bool_param
from shared.validation import checked, nova_message
from volumed import repo
from volumed.api import render, schemas, validation
from volumed.api.common import authorize, check_url_project, deps
from volumed.flows import types

bp = Blueprint("volume_types", __name__, url_prefix="/v3/<project_id>")


@bp.get("/types")
def list_types(project_id):
    check_url_project(project_id)
    authorize("get_type", project_id)
    with transaction(deps().sessions, write=False) as session:
        return jsonify({"volume_types": [render.volume_type(t)
                                         for t in repo.list_types(session)]})


@bp.get("/types/default")
def default_type(project_id):
    check_url_project(project_id)
    authorize("get_type", project_id)
    with transaction(deps().sessions, write=False) as session:
        found = render.volume_type(repo.get_type(session, deps().settings.default_type))
    # Cinder's type-access extension adds its field to a type it finds by
    # the id in the URL; "default" is none, so this answer goes without it.
    found.pop("os-volume-type-access:is_public")
    return jsonify({"volume_type": found})


@bp.get("/types/<type_id>")
def show_type(project_id, type_id):
    check_url_project(project_id)
    authorize("get_type", project_id)
    with transaction(deps().sessions, write=False) as session:
        return jsonify({"volume_type": render.volume_type(repo.get_type(session, type_id))})


@bp.post("/types")
@describe(request=schemas.TYPE_CREATE)
def create_type(project_id):
    check_url_project(project_id)
    authorize("manage_types", project_id)
    spec = checked(json_body(), schemas.TYPE_CREATE).get("volume_type")
    if not isinstance(spec, dict) or not spec.get("name"):
        raise BadRequest("Invalid input received: 'volume_type' with a 'name' is "
                         "required.")
    created = types.create_type(
        deps(), spec["name"], spec.get("description"),
        is_public=bool_param("os-volume-type-access:is_public",
                             spec.get("os-volume-type-access:is_public", True)),
        extra_specs={str(k): str(v) for k, v in (spec.get("extra_specs") or {}).items()})
    return jsonify({"volume_type": render.volume_type(created)})


@bp.put("/types/<type_id>")
@describe(request=schemas.TYPE_UPDATE)
def update_type(project_id, type_id):
    check_url_project(project_id)
    authorize("manage_types", project_id)
    spec = checked(json_body(), schemas.TYPE_UPDATE).get("volume_type") or {}
    changes = {key: spec[key] for key in ("name", "description") if key in spec}
    if "is_public" in spec:
        changes["is_public"] = bool_param("is_public", spec["is_public"])
    updated = render.volume_type(types.update_type(deps(), type_id, changes))
    # Cinder's type-access extension extends show, list and create, not update.
    updated.pop("os-volume-type-access:is_public")
    return jsonify({"volume_type": updated})


@bp.delete("/types/<type_id>")
def delete_type(project_id, type_id):
    check_url_project(project_id)
    authorize("manage_types", project_id)
    types.delete_type(deps(), type_id)
    return Response(status=202)


@bp.get("/types/<type_id>/extra_specs")
def extra_specs(project_id, type_id):
    check_url_project(project_id)
    authorize("get_type", project_id)
    with transaction(deps().sessions, write=False) as session:
        return jsonify({"extra_specs": dict(repo.get_type(session, type_id).extra_specs
                                            or {})})


@bp.post("/types/<type_id>/extra_specs")
@describe(request=schemas.TYPE_EXTRA_SPECS)
def set_extra_specs(project_id, type_id):
    check_url_project(project_id)
    authorize("manage_types", project_id)
    specs = json_body().get("extra_specs")
    if not isinstance(specs, dict):
        raise BadRequest("Invalid input received: 'extra_specs' must be an object.")
    specs = validation.string_map("extra_specs", specs)
    checked(json_body(), schemas.TYPE_EXTRA_SPECS, message=nova_message)
    merged = types.add_extra_specs(deps(), type_id, specs)
    return jsonify({"extra_specs": merged})
