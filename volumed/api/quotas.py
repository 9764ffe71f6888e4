"""Quotas and limits: GET /limits, and /os-quota-sets/{project} (show with
?usage=True, defaults, update and reset for admins)."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from shared.api import context, json_body
from shared.db import transaction
from shared.errors import BadRequest, Forbidden
from volumed import repo
from volumed.api.common import authorize, check_url_project, truthy
from volumed.domain import quotas
from volumed.flows import Deps

# Resources Cinder lists that volumed does not have: always 0 allowed.
ABSENT = {"backups": 0, "backup_gigabytes": 0, "groups": 0}


def quotas_blueprint(deps: Deps, policy) -> Blueprint:
    bp = Blueprint("volume_quotas", __name__, url_prefix="/v3/<project_id>")
    defaults = deps.settings.quota_defaults

    def limits_of(session, target: str) -> dict:
        return repo.limits(session, target, defaults)

    def may_see(target: str) -> None:
        ctx = context()
        if target != ctx.project_id and not ctx.is_admin:
            raise Forbidden("Policy does not allow showing the quotas of another project.")
        authorize(policy, "show_quotas", target)

    def quota_set(limits: dict, usage: quotas.Usage | None, target: str | None) -> dict:
        body = {"id": target} if target else {}
        for resource in quotas.RESOURCES:
            if usage is None:
                body[resource] = limits[resource]
            else:
                body[resource] = {"limit": limits[resource], "in_use": usage[resource],
                                  "reserved": 0, "allocated": 0}
        body["per_volume_gigabytes"] = deps.settings.per_volume_gigabytes if usage is None \
            else {"limit": deps.settings.per_volume_gigabytes, "in_use": 0, "reserved": 0,
                  "allocated": 0}
        for resource, value in ABSENT.items():
            body[resource] = value if usage is None else {
                "limit": value, "in_use": 0, "reserved": 0, "allocated": 0}
        return body

    @bp.get("/limits")
    def limits(project_id):
        check_url_project(project_id)
        authorize(policy, "show_quotas", project_id)
        with transaction(deps.sessions, write=False) as session:
            limit = limits_of(session, project_id)
            used = repo.usage(session, project_id)
        return jsonify({"limits": {"rate": [], "absolute": {
            "maxTotalVolumes": limit["volumes"], "maxTotalSnapshots": limit["snapshots"],
            "maxTotalVolumeGigabytes": limit["gigabytes"],
            "maxTotalBackups": 0, "maxTotalBackupGigabytes": 0,
            "totalVolumesUsed": used.volumes, "totalSnapshotsUsed": used.snapshots,
            "totalGigabytesUsed": used.gigabytes, "totalBackupsUsed": 0,
            "totalBackupGigabytesUsed": 0}}})

    @bp.get("/os-quota-sets/<target>")
    def show(project_id, target):
        check_url_project(project_id)
        may_see(target)
        with transaction(deps.sessions, write=False) as session:
            usage = repo.usage(session, target) if truthy(request.args.get("usage", "False")) \
                else None
            return jsonify({"quota_set": quota_set(limits_of(session, target), usage, target)})

    @bp.get("/os-quota-sets/<target>/defaults")
    def show_defaults(project_id, target):
        check_url_project(project_id)
        may_see(target)
        return jsonify({"quota_set": quota_set(dict(defaults), None, target)})

    @bp.put("/os-quota-sets/<target>")
    def update(project_id, target):
        check_url_project(project_id)
        authorize(policy, "update_quotas", target)
        spec = json_body().get("quota_set")
        if not isinstance(spec, dict):
            raise BadRequest("Missing required element 'quota_set' in request body.")
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
            if number < -1:
                raise BadRequest(f"Invalid input received: Quota '{key}' must be -1 or "
                                 f"more.")
            wanted[key] = number
        with transaction(deps.sessions) as session:
            usage = repo.usage(session, target)
            for key, number in wanted.items():
                if number != -1 and number < usage[key]:
                    raise BadRequest(f"Invalid input received: Quota limit {number} for "
                                     f"{key} must be equal or greater than existing "
                                     f"resources. Current usage is {usage[key]}.")
                repo.set_limit(session, target, key, number)
            result = quota_set(limits_of(session, target), None, None)
        return jsonify({"quota_set": result})

    @bp.delete("/os-quota-sets/<target>")
    def reset(project_id, target):
        check_url_project(project_id)
        authorize(policy, "update_quotas", target)
        with transaction(deps.sessions) as session:
            repo.clear_limits(session, target)
        return Response(status=200)

    return bp
