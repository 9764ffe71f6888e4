"""/v2.0/quotas: Neutron's quota API. GET / (admins: the projects with
limits of their own), GET /{project} (its limits), /{project}/details
(limit, used, reserved), /{project}/default, PUT /{project} (admins), and
DELETE /{project} (admins: back to the defaults)."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify

from networkd import quotas
from networkd.api.common import reading, runtime, writing
from networkd.attributes import PUT, request_schema
from networkd.call import Call
from shared.api import json_body
from shared.openapi import describe

bp = Blueprint("quotas", __name__, url_prefix="/v2.0/quotas")


def _defaults() -> dict[str, int]:
    return runtime().settings.quota_defaults


def _may_read(call: Call, project_id: str) -> None:
    """One's own project's quotas; another's with get_quota (admins)."""
    if project_id != call.project_id:
        call.access.check("get_quota", {"project_id": project_id})


@bp.get("")
def list_quotas():
    with reading() as call:
        call.access.check("get_quota", {"project_id": None})
        found = quotas.all_set(call.session, _defaults())
    return jsonify({"quotas": found})


@bp.get("/<project_id>")
def show_quota(project_id):
    with reading() as call:
        _may_read(call, project_id)
        found = quotas.limits(call.session, _defaults(), project_id)
    return jsonify({"quota": found})


@bp.get("/<project_id>/details")
@bp.get("/<project_id>/details.json")
def show_quota_details(project_id):
    with reading() as call:
        _may_read(call, project_id)
        found = quotas.details(call.session, _defaults(), project_id)
    return jsonify({"quota": found})


@bp.get("/<project_id>/default")
def show_quota_defaults(project_id):
    with reading() as call:
        _may_read(call, project_id)
    return jsonify({"quota": dict(_defaults())})


@bp.put("/<project_id>")
@describe(request=lambda: request_schema("quota", quotas.attrs(_defaults()), PUT,
                                         quotas.IGNORED))
def update_quota(project_id):
    with writing() as call:
        call.access.check("update_quota", {"project_id": project_id})
        found = quotas.update(call.session, _defaults(), project_id, json_body())
    return jsonify({"quota": found})


@bp.delete("/<project_id>")
def reset_quota(project_id):
    with writing() as call:
        call.access.check("delete_quota", {"project_id": project_id})
        quotas.reset(call.session, project_id)
    return Response(status=204)
