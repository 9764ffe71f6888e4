"""/v3/{project_id}/backups: create, list (summary and detail), show,
update (3.9+), delete, restore, and the admin's os-reset_status and
os-force_delete actions (cinder/api/contrib/backups.py, v3/backups.py).

Bodies are checked as Cinder's JSON schemas check them
(cinder/api/schemas/backups.py; ours are in volumed.api.schemas, published in
the OpenAPI document): unknown keys, a volume_id that is not a UUID, a flag
that is not a boolean are 400, and nothing is recorded. The checks by hand
come first, in the words clients have seen; the schema refuses the rest."""
from __future__ import annotations

import uuid

from flask import Blueprint, Response, jsonify, request

from shared.api import context, json_body
from shared.db import transaction
from shared.errors import BadRequest
from shared.openapi import describe
from shared.strutils import bool_param
from shared.validation import checked, nova_message
from volumed import repo
from volumed.api import backup_views, microversion, schemas
from volumed.api.common import (
    check_url_project,
    deps,
    flag,
    must_see,
    paginate,
    read_scope,
    runtime,
)
from volumed.flows.backups import (
    BackupRequest,
    create_backup,
    delete_backup,
    reset_backup_status,
    restore_backup,
    update_backup,
)

bp = Blueprint("backups", __name__, url_prefix="/v3/<project_id>")

SORT_KEYS = {"created_at": lambda b: b.created_at, "updated_at": lambda b: b.updated_at,
             "id": lambda b: b.id, "status": lambda b: b.status, "size": lambda b: b.size,
             "container": lambda b: b.container, "volume_id": lambda b: b.volume_id}
# Query keys that page or sort, not filter (cinder/api/common.py).
PAGING_KEYS = ("marker", "limit", "offset", "sort", "sort_key", "sort_dir")
# What a non-admin may filter backups on (Cinder's resource_filters.json).
USER_FILTERS = ("name", "status", "volume_id")
CREATE_KEYS = ("volume_id", "container", "description", "incremental", "force", "name",
               "snapshot_id")


def authorize(rule: str, project_id: str | None = None) -> None:
    """Ask policy for one of Cinder's backup rules (full name)."""
    ctx = context()
    runtime().policy.authorize(rule, {"project_id": project_id or ctx.project_id}, ctx)


def may(rule: str, project_id: str) -> bool:
    ctx = context()
    return runtime().policy.allows(rule, {"project_id": project_id}, ctx)


@bp.get("/backups")
def list_backups(project_id):
    return _listing(project_id, detail=False)


@bp.get("/backups/detail")
def list_backups_detail(project_id):
    return _listing(project_id, detail=True)


@bp.post("/backups")
@describe(request=schemas.BACKUP_CREATE)
def create(project_id):
    check_url_project(project_id)
    spec = _object(json_body(), "backup")
    allowed = CREATE_KEYS + (("metadata",) if microversion.at_least(
        microversion.BACKUP_METADATA) else ())
    _no_other_keys(spec, allowed, "backup")
    if "volume_id" not in spec:
        raise BadRequest("Invalid input for field/attribute backup. 'volume_id' is a "
                         "required property.")
    authorize("backup:create", project_id)
    wanted = BackupRequest(
        volume_id=_uuid(spec["volume_id"], "volume_id"),
        name=_text(spec, "name"), description=_text(spec, "description"),
        container=_text(spec, "container"),
        incremental=bool_param("incremental", spec.get("incremental", False)),
        force=bool_param("force", spec.get("force", False)),
        snapshot_id=_uuid(spec["snapshot_id"], "snapshot_id")
        if spec.get("snapshot_id") is not None else None,
        metadata=_metadata(spec.get("metadata")))
    checked(json_body(), schemas.BACKUP_CREATE, message=nova_message)
    backup = create_backup(deps(), context(), read_scope(), wanted)
    return jsonify({"backup": backup_views.summary(backup)}), 202


@bp.get("/backups/<backup_id>")
def show(project_id, backup_id):
    check_url_project(project_id)
    authorize("backup:get", project_id)
    with transaction(deps().sessions, write=False) as session:
        backup = repo.get_backup(session, backup_id, read_scope())
        dependents = repo.dependent_counts(session, [backup.id]).get(backup.id, 0)
    return jsonify({"backup": backup_views.detail(
        backup, dependents, may("backup:backup_project_attribute", project_id))})


@bp.put("/backups/<backup_id>")
@describe(request=schemas.BACKUP_UPDATE)
def update(project_id, backup_id):
    check_url_project(project_id)
    microversion.require(microversion.BACKUP_UPDATE)
    spec = json_body().get("backup")
    if spec is None:
        spec = {}
    spec = _object({"backup": spec}, "backup")
    with_metadata = microversion.at_least(microversion.BACKUP_METADATA)
    _no_other_keys(spec, ("name", "description") + (("metadata",) if with_metadata else ()),
                   "backup")
    authorize("backup:update", project_id)
    changes: dict = {key: _text(spec, key) for key in ("name", "description") if key in spec}
    if "metadata" in spec:
        changes["metadata"] = _metadata(spec["metadata"]) or {}
    checked(json_body(), schemas.BACKUP_UPDATE, message=nova_message)
    backup = update_backup(deps(), context(), read_scope(), backup_id, changes)
    return jsonify({"backup": backup_views.summary(backup)})


@bp.delete("/backups/<backup_id>")
def delete(project_id, backup_id):
    check_url_project(project_id)
    authorize("backup:delete", project_id)
    delete_backup(deps(), context(), read_scope(), backup_id)
    return Response(status=202)


@bp.post("/backups/<backup_id>/restore")
@describe(request=schemas.BACKUP_RESTORE)
def restore(project_id, backup_id):
    check_url_project(project_id)
    body = json_body()
    _no_other_keys(body, ("restore",), "body")
    if "restore" not in body:
        raise BadRequest("Invalid input for field/attribute body. 'restore' is a required "
                         "property.")
    spec = _object({"restore": body["restore"] or {}}, "restore")
    _no_other_keys(spec, ("volume_id", "name"), "restore")
    authorize("backup:restore", project_id)
    volume_id = spec.get("volume_id")
    volume_id = _uuid(volume_id, "volume_id") if volume_id is not None else None
    name = _text(spec, "name")
    checked(body, schemas.BACKUP_RESTORE, message=nova_message)
    answer = restore_backup(deps(), context(), read_scope(), backup_id, volume_id, name)
    return jsonify(backup_views.restore(answer)), 202


@bp.post("/backups/<backup_id>/action")
@describe(request=schemas.ADMIN_ACTION)
def action(project_id, backup_id):
    check_url_project(project_id)
    body = json_body()
    if "os-reset_status" not in body and "os-force_delete" not in body:
        raise BadRequest("Invalid request: backup actions are os-reset_status and "
                         "os-force_delete.")
    checked(body, schemas.ADMIN_ACTION, message=nova_message)
    if "os-reset_status" in body or "os-force_delete" in body:
        must_see(repo.get_backup, backup_id)
    if "os-reset_status" in body:
        authorize("volume_extension:backup_admin_actions:reset_status", project_id)
        reset_backup_status(deps(), context(), backup_id,
                            (body["os-reset_status"] or {}).get("status"))
        return Response(status=202)
    if "os-force_delete" in body:
        authorize("volume_extension:backup_admin_actions:force_delete", project_id)
        delete_backup(deps(), context(), None, backup_id, force=True)
        return Response(status=202)
    raise BadRequest("Invalid request: backup actions are os-reset_status and "
                     "os-force_delete.")


# --- helpers -----------------------------------------------------------------------------
def _listing(project_id: str, detail: bool):
    check_url_project(project_id)
    authorize("backup:get_all", project_id)
    ctx = context()
    filters = {k: v for k, v in request.args.items() if k not in PAGING_KEYS}
    all_projects = flag("all_tenants") if "all_tenants" in filters else False
    filters.pop("all_tenants", None)
    if not ctx.is_admin:
        unknown = [key for key in filters if key not in USER_FILTERS]
        if unknown and microversion.at_least(microversion.RESOURCE_FILTER):
            raise BadRequest(f"Invalid filters {','.join(unknown)} are found in query "
                             f"options.")
        filters = {k: v for k, v in filters.items() if k in USER_FILTERS}
    scope = filters.pop("project_id", None) if ctx.is_admin and all_projects \
        else ctx.project_id
    with transaction(deps().sessions, write=False) as session:
        items = [b for b in repo.list_backups(session, scope)
                 if all(str(getattr(b, key, None)) == value for key, value in filters.items()
                        if key in USER_FILTERS)]
        sort_keys = dict(SORT_KEYS)
        if microversion.at_least(microversion.BACKUP_SORT_NAME):
            sort_keys["name"] = lambda b: b.name
        page, links = paginate(items, "backups/detail" if detail else "backups",
                               project_id, sort_keys)
        dependents = repo.dependent_counts(session, [b.id for b in page]) if detail else {}
    show_project = may("backup:backup_project_attribute", project_id)
    body: dict = {"backups": [backup_views.detail(b, dependents.get(b.id, 0), show_project)
                              if detail else backup_views.summary(b) for b in page]}
    if links:
        body["backups_links"] = links
    return jsonify(body)


def _object(body: dict, key: str) -> dict:
    value = body.get(key)
    if not isinstance(value, dict):
        raise BadRequest(f"Invalid input for field/attribute {key}. Value: {value!r}. "
                         f"{value!r} is not of type 'object'")
    return value


def _no_other_keys(spec: dict, allowed: tuple[str, ...], where: str) -> None:
    extra = sorted(key for key in spec if key not in allowed)
    if extra:
        quoted = ", ".join(f"'{key}'" for key in extra)
        raise BadRequest(f"Invalid input for field/attribute {where}. Additional properties "
                         f"are not allowed ({quoted} {'was' if len(extra) == 1 else 'were'} "
                         f"unexpected)")


def _uuid(value: object, field: str) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise BadRequest(f"Invalid input for field/attribute {field}. Value: {value}. "
                         f"'{value}' is not a 'uuid'") from None


def _text(spec: dict, key: str, limit: int = 255) -> str | None:
    value = spec.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequest(f"Invalid input for field/attribute {key}. Value: {value!r}. "
                         f"{value!r} is not of type 'string'")
    if len(value) > limit:
        raise BadRequest(f"Invalid input for field/attribute {key}. Value: {value}. "
                         f"'{value}' is too long")
    return value.strip() if key in ("name", "description") else value


def _metadata(value: object) -> dict | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and 0 < len(k) <= 255 and len(v) <= 255
            for k, v in value.items()):
        raise BadRequest("Invalid input for field/attribute metadata. Keys and values must "
                         "be strings of at most 255 characters (keys not empty).")
    return dict(value)
