"""Quotas and limits: GET /limits, and /os-quota-sets/{project} (show with
?usage=True, defaults, update and reset for admins)."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify

from shared.api import context, json_body
from shared.db import transaction
from shared.errors import BadRequest, Forbidden
from shared.openapi import describe
from shared.validation import checked, nova_message
from volumed import repo
from volumed.api import render, schemas
from volumed.api.common import authorize, check_url_project, deps, flag
from volumed.domain import quotas
from volumed.flows.quotas import clear_limits, set_limits

bp = Blueprint("volume_quotas", __name__, url_prefix="/v3/<project_id>")
# Cinder's MAX_INT: a larger limit is no limit the database can hold.
MAX_QUOTA = schemas.MAX_INT


@bp.get("/limits")
def limits(project_id):
    check_url_project(project_id)
    authorize("show_quotas", project_id)
    with transaction(deps().sessions, write=False) as session:
        limit = repo.limits(session, project_id, deps().settings.quota_defaults)
        used = repo.usage(session, project_id)
    return jsonify({"limits": render.absolute_limits(limit, used)})


@bp.get("/os-quota-sets/<target>")
def show(project_id, target):
    check_url_project(project_id)
    _may_see(target)
    with_usage = flag("usage")
    with transaction(deps().sessions, write=False) as session:
        usage = repo.usage(session, target) if with_usage else None
        limit = repo.limits(session, target, deps().settings.quota_defaults)
    return jsonify({"quota_set": render.quota_set(
        limit, usage, target, deps().settings.per_volume_gigabytes)})


@bp.get("/os-quota-sets/<target>/defaults")
def show_defaults(project_id, target):
    check_url_project(project_id)
    _may_see(target)
    settings = deps().settings
    return jsonify({"quota_set": render.quota_set(
        dict(settings.quota_defaults), None, target, settings.per_volume_gigabytes)})


@bp.put("/os-quota-sets/<target>")
@describe(request=schemas.QUOTA_UPDATE)
def update(project_id, target):
    check_url_project(project_id)
    authorize("update_quotas", target)
    spec = json_body().get("quota_set")
    if not isinstance(spec, dict):
        raise BadRequest("Missing required element 'quota_set' in request body.")
    wanted = _wanted_limits(spec)
    checked(json_body(), schemas.QUOTA_UPDATE, message=nova_message)
    result = set_limits(deps(), target, wanted)
    return jsonify({"quota_set": render.quota_set(
        result, None, None, deps().settings.per_volume_gigabytes)})


@bp.delete("/os-quota-sets/<target>")
def reset(project_id, target):
    check_url_project(project_id)
    authorize("update_quotas", target)
    clear_limits(deps(), target)
    return Response(status=200)


def _may_see(target: str) -> None:
    ctx = context()
    if target != ctx.project_id and not ctx.is_admin:
        raise Forbidden("Policy does not allow showing the quotas of another project.")
    authorize("show_quotas", target)


def _wanted_limits(spec: dict) -> dict[str, int]:
    """The limits a quota_set body asks for: known resources, whole numbers
    from -1 (no limit) up."""
    wanted = {}
    for key, value in spec.items():
        if key in ("tenant_id", "id"):
            continue
        if key not in quotas.RESOURCES:
            raise BadRequest(f"Bad key(s) in quota set: {key} (volumed has quotas for "
                             f"{', '.join(quotas.RESOURCES)}).")
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise BadRequest(f"Invalid input received: Quota '{key}' must be an "
                             f"integer.") from None
        if not -1 <= number <= MAX_QUOTA:
            raise BadRequest(f"Invalid input received: Quota '{key}' must be from -1 "
                             f"to {MAX_QUOTA}.")
        wanted[key] = number
    return wanted
