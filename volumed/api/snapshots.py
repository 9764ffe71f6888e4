"""/v3/{project_id}/snapshots: create, list, show, update, delete, and the
admin's os-reset_status / os-force_delete actions."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from shared.api import context, json_body
from shared.db import transaction
from shared.errors import BadRequest
from shared.openapi import describe
from shared.strutils import bool_param
from shared.validation import checked, nova_message
from volumed import repo
from volumed.api import render, schemas
from volumed.api.common import (
    all_projects_asked,
    authorize,
    check_url_project,
    deps,
    must_see,
    paginate,
    read_scope,
)
from volumed.flows.snapshots import (
    create_snapshot,
    delete_snapshot,
    reset_snapshot_status,
    set_snapshot_metadata,
    update_snapshot,
)

SORT_KEYS = {"created_at": lambda s: s.created_at, "updated_at": lambda s: s.updated_at,
             "id": lambda s: s.id, "name": lambda s: s.name, "size": lambda s: s.size,
             "status": lambda s: s.status}

bp = Blueprint("snapshots", __name__, url_prefix="/v3/<project_id>")


@bp.get("/snapshots")
def list_snapshots(project_id):
    return _listing(project_id, detail=False)


@bp.get("/snapshots/detail")
def list_snapshots_detail(project_id):
    return _listing(project_id)


@bp.post("/snapshots")
@describe(request=schemas.SNAPSHOT_CREATE)
def create(project_id):
    check_url_project(project_id)
    authorize("create_snapshot", project_id)
    checked(json_body(), schemas.SNAPSHOT_CREATE)
    spec = json_body().get("snapshot")
    if not isinstance(spec, dict) or not spec.get("volume_id"):
        raise BadRequest("Invalid input received: 'snapshot' with 'volume_id' is "
                         "required.")
    metadata = spec.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise BadRequest("Invalid input received: metadata must be an object.")
    snapshot = create_snapshot(
        deps(), context(), project_id, spec["volume_id"],
        name=spec.get("name", spec.get("display_name")),
        description=spec.get("description", spec.get("display_description")),
        metadata={str(k): str(v) for k, v in metadata.items()},
        force=bool_param("force", spec.get("force", False)))
    response = jsonify({"snapshot": render.snapshot_detail(snapshot, extended=False)})
    response.status_code = 202
    return response


@bp.get("/snapshots/<snapshot_id>")
def show(project_id, snapshot_id):
    check_url_project(project_id)
    authorize("get_snapshot", project_id)
    return jsonify({"snapshot": _one(snapshot_id)})


@bp.put("/snapshots/<snapshot_id>")
@describe(request=schemas.SNAPSHOT_UPDATE)
def update(project_id, snapshot_id):
    check_url_project(project_id)
    authorize("update_snapshot", project_id)
    spec = json_body().get("snapshot")
    if not isinstance(spec, dict):
        raise BadRequest("Missing required element 'snapshot' in request body.")
    changes = {}
    for key, legacy in (("name", "display_name"), ("description", "display_description")):
        if key in spec or legacy in spec:
            changes[key] = spec.get(key, spec.get(legacy))
    if not changes:   # Cinder's schema: at least one of them
        raise BadRequest("Invalid input for field/attribute snapshot. Value: {}. {} does not "
                         "have enough properties (name, description).")
    checked(json_body(), schemas.SNAPSHOT_UPDATE, message=nova_message)
    update_snapshot(deps(), context(), read_scope(), snapshot_id, changes)
    return jsonify({"snapshot": _one(snapshot_id, extended=False)})


@bp.delete("/snapshots/<snapshot_id>")
def delete(project_id, snapshot_id):
    check_url_project(project_id)
    authorize("delete_snapshot", project_id)
    delete_snapshot(deps(), context(), read_scope(), snapshot_id)
    return Response(status=202)


@bp.get("/snapshots/<snapshot_id>/metadata")
def get_metadata(project_id, snapshot_id):
    check_url_project(project_id)
    authorize("get_snapshot", project_id)
    return jsonify({"metadata": _one(snapshot_id)["metadata"]})


@bp.post("/snapshots/<snapshot_id>/metadata")
@bp.put("/snapshots/<snapshot_id>/metadata")
@describe(request=schemas.SNAPSHOT_METADATA)
def set_metadata(project_id, snapshot_id):
    check_url_project(project_id)
    authorize("update_snapshot", project_id)
    items = json_body().get("metadata")
    if not isinstance(items, dict):
        raise BadRequest("Malformed request body: 'metadata' must be an object.")
    checked(json_body(), schemas.SNAPSHOT_METADATA, message=nova_message)
    metadata = set_snapshot_metadata(deps(), context(), read_scope(), snapshot_id, items,
                                     replace=request.method == "PUT")
    return jsonify({"metadata": metadata})


@bp.post("/snapshots/<snapshot_id>/action")
@describe(request=schemas.ADMIN_ACTION)
def action(project_id, snapshot_id):
    check_url_project(project_id)
    body = json_body()
    if "os-reset_status" not in body and "os-force_delete" not in body:
        raise BadRequest("Invalid request: snapshot actions are os-reset_status and "
                         "os-force_delete.")
    checked(body, schemas.ADMIN_ACTION, message=nova_message)
    if "os-reset_status" in body or "os-force_delete" in body:
        must_see(repo.get_snapshot, snapshot_id)
    if "os-reset_status" in body:
        authorize("reset_status", project_id)
        reset_snapshot_status(deps(), context(), snapshot_id,
                              (body["os-reset_status"] or {}).get("status"))
        return Response(status=202)
    if "os-force_delete" in body:
        authorize("force_delete", project_id)
        delete_snapshot(deps(), context(), None, snapshot_id, force=True)
        return Response(status=202)
    raise BadRequest("Invalid request: snapshot actions are os-reset_status and "
                     "os-force_delete.")


def _listing(project_id: str, detail: bool = True):
    check_url_project(project_id)
    authorize("get_snapshot", project_id)
    all_projects = all_projects_asked()
    with transaction(deps().sessions, write=False) as session:
        items = repo.list_snapshots(session, None if all_projects else project_id)
    args = request.args
    items = [s for s in items
             if ("name" not in args or s.name == args["name"])
             and ("status" not in args or s.status == args["status"])
             and ("volume_id" not in args or s.volume_id == args["volume_id"])]
    page, links = paginate(items, "snapshots", project_id, SORT_KEYS)
    view = render.snapshot_detail if detail else render.snapshot_summary
    body: dict = {"snapshots": [view(s) for s in page]}
    if links:
        body["snapshots_links"] = links
    return jsonify(body)


def _one(snapshot_id: str, extended: bool = True) -> dict:
    with transaction(deps().sessions, write=False) as session:
        return render.snapshot_detail(repo.get_snapshot(session, snapshot_id, read_scope()),
                                      extended)
