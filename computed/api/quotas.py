"""/v2.1/os-quota-sets/{project}: the quotas a project has (read only).

computed's quotas are the stack's [quota] options, the same for every
project, so only the read calls exist: show, show with usage (/detail) and
the defaults. `openstack quota show` reads them beside volumed's and
networkd's. What a project has and uses is worked out by compute_api.
"""
from __future__ import annotations

from flask import Blueprint, jsonify

from computed import compute_api
from computed.api.common import API_PREFIX, authorize, runtime
from computed.api.microversion import NO_PROXIES, at_least
from shared.api import context

bp = Blueprint("quotas", __name__, url_prefix=API_PREFIX)

# What 2.36 took out of quota sets (nova-network's resources).
NETWORK_QUOTAS = ("fixed_ips", "floating_ips", "security_group_rules", "security_groups")


def _quotas(project_id: str) -> dict[str, tuple[int, int]]:
    limits = compute_api.quota_set(runtime().deps, project_id)
    if at_least(NO_PROXIES):
        for name in NETWORK_QUOTAS:
            limits.pop(name, None)
    return limits


@bp.get("/os-quota-sets/<project_id>")
def show(project_id: str):
    authorize("os-quota-sets:show", context(), project_id)
    limits = _quotas(project_id)
    return jsonify({"quota_set": {"id": project_id,
                                  **{name: limit for name, (limit, _) in limits.items()}}})


@bp.get("/os-quota-sets/<project_id>/detail")
def detail(project_id: str):
    authorize("os-quota-sets:detail", context(), project_id)
    limits = _quotas(project_id)
    return jsonify({"quota_set": {"id": project_id, **{
        name: {"limit": limit, "in_use": used, "reserved": 0}
        for name, (limit, used) in limits.items()}}})


@bp.get("/os-quota-sets/<project_id>/defaults")
def defaults(project_id: str):
    authorize("os-quota-sets:defaults", context(), project_id)
    limits = _quotas(project_id)
    return jsonify({"quota_set": {"id": project_id,
                                  **{name: limit for name, (limit, _) in limits.items()}}})
