"""/v3/{project_id}/volumes: create, list, show, update, delete, metadata."""
from __future__ import annotations

import json

from flask import Blueprint, Response, jsonify, request

from shared.api import context, json_body
from shared.db import transaction
from shared.errors import BadRequest, NotFound
from shared.openapi import describe
from shared.strutils import bool_param
from shared.validation import checked
from volumed import repo
from volumed.api import microversion, render, schemas, validation
from volumed.api.common import (
    all_projects_asked,
    authorize,
    check_url_project,
    deps,
    flag,
    paginate,
    read_scope,
)
from volumed.domain.sizes import parse_size
from volumed.flows.change import delete_metadata_key, set_metadata, update_volume
from volumed.flows.create import CreateRequest, create_volume
from volumed.flows.delete import delete_volume

SORT_KEYS = {"created_at": lambda v: v.created_at, "updated_at": lambda v: v.updated_at,
             "id": lambda v: v.id, "name": lambda v: v.name, "size": lambda v: v.size,
             "status": lambda v: v.status}

bp = Blueprint("volumes", __name__, url_prefix="/v3/<project_id>")


@bp.get("/volumes")
def list_volumes(project_id):
    return _listing(project_id, detail=False)


@bp.get("/volumes/detail")
def list_volumes_detail(project_id):
    return _listing(project_id, detail=True)


@bp.get("/volumes/summary")
def summary(project_id):
    microversion.require(microversion.VOLUME_SUMMARY)
    check_url_project(project_id)
    authorize("get_all", project_id)
    with transaction(deps().sessions, write=False) as session:
        volumes = repo.list_volumes(session, context().project_id)
    return jsonify({"volume-summary": render.volumes_summary(volumes)})


@bp.post("/volumes")
@describe(request=schemas.VOLUME_CREATE)
def create(project_id):
    check_url_project(project_id)
    authorize("create", project_id)
    checked(json_body(), schemas.VOLUME_CREATE)
    spec = _object_body("volume")
    for name in ("name", "display_name", "description", "display_description"):
        validation.optional_text(spec, name, 65535 if "description" in name else 255)
    validation.optional_boolean(spec, "multiattach")
    metadata = validation.string_map("metadata", spec.get("metadata") or {})
    request_spec = CreateRequest(
        size=parse_size(spec.get("size"), allow_none=True),
        name=spec.get("name", spec.get("display_name")),
        description=spec.get("description", spec.get("display_description")),
        volume_type=spec.get("volume_type"),
        metadata={str(k): str(v) for k, v in metadata.items()},
        snapshot_id=spec.get("snapshot_id"), source_volid=spec.get("source_volid"),
        image_ref=spec.get("imageRef") or spec.get("image_id"),
        availability_zone=spec.get("availability_zone"))
    if spec.get("backup_id"):
        raise BadRequest("Invalid input received: creating a volume from a backup "
                         "(backup_id) needs microversion 3.47; volumed serves up to "
                         f"{microversion.text(microversion.MAX_VERSION)}. Restore the "
                         "backup instead (POST /backups/{id}/restore).")
    if spec.get("consistencygroup_id") or spec.get("group_id"):
        raise BadRequest("Invalid input received: volumed has no groups.")
    volume = create_volume(deps(), context(), project_id, request_spec)
    response = jsonify({"volume": render.volume_created(_rendered([volume], detail=True)[0])})
    response.status_code = 202
    return response


@bp.get("/volumes/<volume_id>")
def show(project_id, volume_id):
    check_url_project(project_id)
    authorize("get", project_id)
    return jsonify({"volume": _one(volume_id)})


@bp.put("/volumes/<volume_id>")
@describe(request=schemas.VOLUME_UPDATE)
def update(project_id, volume_id):
    check_url_project(project_id)
    authorize("update", project_id)
    spec = _object_body("volume")
    for name in ("name", "display_name", "description", "display_description"):
        validation.optional_text(spec, name, 65535 if "description" in name else 255)
    checked({"volume": spec}, schemas.VOLUME_UPDATE)
    changes = {}
    for key, legacy in (("name", "display_name"), ("description", "display_description")):
        if key in spec or legacy in spec:
            changes[key] = spec.get(key, spec.get(legacy))
    if "metadata" in spec:
        changes["metadata"] = validation.string_map("metadata", spec["metadata"])
    if not changes:
        raise BadRequest("Invalid input received: nothing to update (name, description "
                         "or metadata).")
    update_volume(deps(), context(), read_scope(), volume_id, changes)
    # As create: Cinder's extensions add their attributes to show and detail only.
    return jsonify({"volume": render.volume_created(_one(volume_id))})


@bp.delete("/volumes/<volume_id>")
def delete(project_id, volume_id):
    check_url_project(project_id)
    authorize("delete", project_id)
    force = flag("force")
    if force:
        authorize("force_delete", project_id)
    delete_volume(deps(), context(), read_scope(), volume_id,
                  cascade=flag("cascade"), force=force)
    return Response(status=202)


# --- metadata --------------------------------------------------------------------
@bp.get("/volumes/<volume_id>/metadata")
def get_metadata(project_id, volume_id):
    check_url_project(project_id)
    authorize("get", project_id)
    return jsonify({"metadata": _user_metadata(volume_id)})


@bp.post("/volumes/<volume_id>/metadata")
@bp.put("/volumes/<volume_id>/metadata")
@describe(request=schemas.VOLUME_METADATA)
def change_metadata(project_id, volume_id):
    check_url_project(project_id)
    authorize("update", project_id)
    items = _metadata_body(json_body(), "metadata")
    checked({"metadata": items}, schemas.VOLUME_METADATA)
    result = set_metadata(deps(), context(), read_scope(), volume_id, items,
                          replace=request.method == "PUT")
    return jsonify({"metadata": result})


@bp.get("/volumes/<volume_id>/metadata/<key>")
def get_metadata_key(project_id, volume_id, key):
    check_url_project(project_id)
    authorize("get", project_id)
    metadata = _user_metadata(volume_id)
    if key not in metadata:
        raise NotFound(f"Metadata key {key} of volume {volume_id} could not be found.")
    return jsonify({"meta": {key: metadata[key]}})


@bp.put("/volumes/<volume_id>/metadata/<key>")
@describe(request=schemas.VOLUME_META)
def put_metadata_key(project_id, volume_id, key):
    check_url_project(project_id)
    authorize("update", project_id)
    items = _metadata_body(json_body(), "meta")
    if list(items) != [key]:
        raise BadRequest("Invalid input received: the body must hold exactly the key "
                         "of the URL.")
    checked({"meta": items}, schemas.VOLUME_META)
    set_metadata(deps(), context(), read_scope(), volume_id, items, replace=False)
    return jsonify({"meta": items})


@bp.delete("/volumes/<volume_id>/metadata/<key>")
def delete_metadata(project_id, volume_id, key):
    check_url_project(project_id)
    authorize("update", project_id)
    delete_metadata_key(deps(), context(), read_scope(), volume_id, key)
    return Response(status=200)


# --- helpers -----------------------------------------------------------------------
def _listing(project_id: str, detail: bool):
    check_url_project(project_id)
    all_projects = all_projects_asked()
    authorize("get_all", project_id)
    scope = request.args.get("project_id") if all_projects else context().project_id
    with transaction(deps().sessions, write=False) as session:
        volumes = [v for v in repo.list_volumes(session, scope) if _matches_filters(v)]
    page, links = paginate(volumes, "volumes/detail" if detail else "volumes",
                           project_id, SORT_KEYS)
    body: dict = {"volumes": _rendered(page, detail)}
    if links:
        body["volumes_links"] = links
    return jsonify(body)


def _rendered(volumes, detail: bool) -> list[dict]:
    if not detail:
        return [render.volume_summary(v) for v in volumes]
    ctx = context()
    with transaction(deps().sessions, write=False) as session:
        attachments = repo.attachments_of(session, [v.id for v in volumes])
        admin_metadata = repo.admin_metadata_of(session, [v.id for v in volumes])
        types = repo.type_names(session)
    return [render.volume_detail(v, attachments[v.id], types.get(v.volume_type_id), ctx,
                                 admin_metadata[v.id])
            for v in volumes]


def _one(volume_id: str) -> dict:
    with transaction(deps().sessions, write=False) as session:
        volume = repo.get_volume(session, volume_id, read_scope())
    return _rendered([volume], detail=True)[0]


def _user_metadata(volume_id: str) -> dict:
    """The metadata sub-resource holds the users' keys only: the admin keys
    a volume's details show (readonly, attached_mode) are not in it, as in
    Cinder."""
    with transaction(deps().sessions, write=False) as session:
        return dict(repo.get_volume(session, volume_id, read_scope()).metadata_ or {})


def _object_body(key: str) -> dict:
    spec = json_body().get(key)
    if not isinstance(spec, dict):
        raise BadRequest(f"Missing required element '{key}' in request body.")
    return spec


def _metadata_body(body: dict, key: str) -> dict:
    items = body.get(key)
    if not isinstance(items, dict):
        raise BadRequest(f"Malformed request body: '{key}' must be an object.")
    return validation.string_map(key, items)


def _matches_filters(volume) -> bool:
    args = request.args
    bootable = _bootable_filter(args["bootable"]) if "bootable" in args else None
    if "name" in args and volume.name != args["name"]:
        return False
    if "name~" in args and args["name~"].lower() not in (volume.name or "").lower():
        return False
    if "status" in args and volume.status != args["status"]:
        return False
    if bootable is not None and volume.bootable != bootable:
        return False
    if "availability_zone" in args and volume.availability_zone != args["availability_zone"]:
        return False
    if "metadata" in args:
        try:
            wanted = json.loads(args["metadata"].replace("'", '"'))
        except ValueError:
            raise BadRequest("Invalid input received: metadata filter must be a JSON "
                             "object.") from None
        metadata = volume.metadata_ or {}
        if any(metadata.get(k) != str(v) for k, v in wanted.items()):
            return False
    return True


def _bootable_filter(value: str) -> bool:
    """?bootable=: from microversion 3.2 a strict boolean (400 otherwise);
    before it Cinder's older rule, which clients of that age rely on: 'False',
    'false' and 'FALSE' (and nothing) are false, any other text is true."""
    if microversion.at_least(microversion.VOLUME_LIST_BOOTABLE):
        return bool_param("bootable", value)
    return value not in ("", "False", "false", "FALSE")
