"""/v3/{project_id}/volumes: create, list, show, update, delete, metadata."""
from __future__ import annotations

import json

from flask import Blueprint, Response, jsonify, request

from shared.api import context, json_body
from shared.db import transaction
from shared.errors import BadRequest
from volumed import repo
from volumed.api import render
from volumed.api.common import authorize, check_url_project, paginate, read_scope, truthy
from volumed.domain.sizes import parse_size
from volumed.flows import Deps
from volumed.flows.change import delete_metadata_key, set_metadata, update_volume
from volumed.flows.create import CreateRequest, create_volume
from volumed.flows.delete import delete_volume

SORT_KEYS = {"created_at": lambda v: v.created_at, "updated_at": lambda v: v.updated_at,
             "id": lambda v: v.id, "name": lambda v: v.name, "size": lambda v: v.size,
             "status": lambda v: v.status}


def volumes_blueprint(deps: Deps, policy) -> Blueprint:
    bp = Blueprint("volumes", __name__, url_prefix="/v3/<project_id>")

    def render_volumes(volumes, detail: bool):
        ctx = context()
        with transaction(deps.sessions, write=False) as session:
            attachments = repo.attachments_of(session, [v.id for v in volumes])
            types = repo.type_names(session)
        if not detail:
            return [render.volume_summary(v) for v in volumes]
        return [render.volume_detail(v, attachments[v.id], types.get(v.volume_type_id), ctx)
                for v in volumes]

    def one(volume_id: str) -> dict:
        with transaction(deps.sessions, write=False) as session:
            volume = repo.get_volume(session, volume_id, read_scope())
        return render_volumes([volume], detail=True)[0]

    def listing(project_id: str, detail: bool):
        check_url_project(project_id)
        ctx = context()
        all_projects = truthy(request.args.get("all_tenants", "0"))
        if all_projects:
            authorize(policy, "get_all_tenants", project_id)
        authorize(policy, "get_all", project_id)
        with transaction(deps.sessions, write=False) as session:
            scope = request.args.get("project_id") if all_projects else ctx.project_id
            volumes = [v for v in repo.list_volumes(session, scope) if _matches_filters(v)]
        page, links = paginate(volumes, "volumes/detail" if detail else "volumes",
                               project_id, SORT_KEYS)
        body = {"volumes": render_volumes(page, detail)}
        if links:
            body["volumes_links"] = links
        return jsonify(body)

    @bp.get("/volumes")
    def list_volumes(project_id):
        return listing(project_id, detail=False)

    @bp.get("/volumes/detail")
    def list_volumes_detail(project_id):
        return listing(project_id, detail=True)

    @bp.get("/volumes/summary")
    def summary(project_id):
        check_url_project(project_id)
        authorize(policy, "get_all", project_id)
        with transaction(deps.sessions, write=False) as session:
            volumes = repo.list_volumes(session, context().project_id)
        metadata: dict[str, list] = {}
        for volume in volumes:
            for key, value in (volume.metadata_ or {}).items():
                metadata.setdefault(key, [])
                if value not in metadata[key]:
                    metadata[key].append(value)
        return jsonify({"volume-summary": {"total_count": len(volumes),
                                           "total_size": sum(v.size for v in volumes),
                                           "metadata": metadata}})

    @bp.post("/volumes")
    def create(project_id):
        check_url_project(project_id)
        authorize(policy, "create", project_id)
        spec = json_body().get("volume")
        if not isinstance(spec, dict):
            raise BadRequest("Missing required element 'volume' in request body.")
        metadata = spec.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise BadRequest("Invalid input received: metadata must be an object.")
        request_spec = CreateRequest(
            size=parse_size(spec.get("size"), allow_none=True),
            name=spec.get("name", spec.get("display_name")),
            description=spec.get("description", spec.get("display_description")),
            volume_type=spec.get("volume_type"),
            metadata={str(k): str(v) for k, v in metadata.items()},
            snapshot_id=spec.get("snapshot_id"), source_volid=spec.get("source_volid"),
            image_ref=spec.get("imageRef") or spec.get("image_id"),
            availability_zone=spec.get("availability_zone"))
        if spec.get("backup_id") or spec.get("consistencygroup_id") or spec.get("group_id"):
            raise BadRequest("Invalid input received: volumed has no backups or groups.")
        volume = create_volume(deps, context(), project_id, request_spec)
        response = jsonify({"volume": render_volumes([volume], detail=True)[0]})
        response.status_code = 202
        return response

    @bp.get("/volumes/<volume_id>")
    def show(project_id, volume_id):
        check_url_project(project_id)
        authorize(policy, "get", project_id)
        return jsonify({"volume": one(volume_id)})

    @bp.put("/volumes/<volume_id>")
    def update(project_id, volume_id):
        check_url_project(project_id)
        authorize(policy, "update", project_id)
        spec = json_body().get("volume")
        if not isinstance(spec, dict):
            raise BadRequest("Missing required element 'volume' in request body.")
        changes = {}
        for key, legacy in (("name", "display_name"), ("description", "display_description")):
            if key in spec or legacy in spec:
                changes[key] = spec.get(key, spec.get(legacy))
        if "metadata" in spec:
            if not isinstance(spec["metadata"], dict):
                raise BadRequest("Invalid input received: metadata must be an object.")
            changes["metadata"] = {str(k): str(v) for k, v in spec["metadata"].items()}
        if not changes:
            raise BadRequest("Invalid input received: nothing to update (name, description "
                             "or metadata).")
        update_volume(deps, context(), read_scope(), volume_id, changes)
        return jsonify({"volume": one(volume_id)})

    @bp.delete("/volumes/<volume_id>")
    def delete(project_id, volume_id):
        check_url_project(project_id)
        authorize(policy, "delete", project_id)
        force = truthy(request.args.get("force", "False"))
        if force:
            authorize(policy, "force_delete", project_id)
        delete_volume(deps, context(), read_scope(), volume_id,
                      cascade=truthy(request.args.get("cascade", "False")), force=force)
        return Response(status=202)

    # --- metadata ------------------------------------------------------------------
    @bp.get("/volumes/<volume_id>/metadata")
    def get_metadata(project_id, volume_id):
        check_url_project(project_id)
        authorize(policy, "get", project_id)
        return jsonify({"metadata": one(volume_id)["metadata"]})

    @bp.post("/volumes/<volume_id>/metadata")
    @bp.put("/volumes/<volume_id>/metadata")
    def change_metadata(project_id, volume_id):
        check_url_project(project_id)
        authorize(policy, "update", project_id)
        items = _metadata_body(json_body(), "metadata")
        result = set_metadata(deps, context(), read_scope(), volume_id, items,
                              replace=request.method == "PUT")
        return jsonify({"metadata": result})

    @bp.get("/volumes/<volume_id>/metadata/<key>")
    def get_metadata_key(project_id, volume_id, key):
        check_url_project(project_id)
        authorize(policy, "get", project_id)
        metadata = one(volume_id)["metadata"]
        if key not in metadata:
            from shared.errors import NotFound
            raise NotFound(f"Metadata key {key} of volume {volume_id} could not be found.")
        return jsonify({"meta": {key: metadata[key]}})

    @bp.put("/volumes/<volume_id>/metadata/<key>")
    def put_metadata_key(project_id, volume_id, key):
        check_url_project(project_id)
        authorize(policy, "update", project_id)
        items = _metadata_body(json_body(), "meta")
        if list(items) != [key]:
            raise BadRequest("Invalid input received: the body must hold exactly the key "
                             "of the URL.")
        set_metadata(deps, context(), read_scope(), volume_id, items, replace=False)
        return jsonify({"meta": items})

    @bp.delete("/volumes/<volume_id>/metadata/<key>")
    def delete_metadata(project_id, volume_id, key):
        check_url_project(project_id)
        authorize(policy, "update", project_id)
        delete_metadata_key(deps, context(), read_scope(), volume_id, key)
        return Response(status=200)

    return bp


def _metadata_body(body: dict, key: str) -> dict:
    items = body.get(key)
    if not isinstance(items, dict):
        raise BadRequest(f"Malformed request body: '{key}' must be an object.")
    return {str(k): str(v) for k, v in items.items()}


def _matches_filters(volume) -> bool:
    args = request.args
    if "name" in args and volume.name != args["name"]:
        return False
    if "name~" in args and args["name~"].lower() not in (volume.name or "").lower():
        return False
    if "status" in args and volume.status != args["status"]:
        return False
    if "bootable" in args and volume.bootable != truthy(args["bootable"]):
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
