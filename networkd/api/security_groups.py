"""/v2.0/security-groups and /v2.0/security-group-rules: list, create,
show, update (groups), delete. Listing either first makes the caller's
`default` group if it has none yet, as Neutron does."""
from __future__ import annotations

from flask import Blueprint, Response

from networkd import security_groups
from networkd.api.common import list_response, one, query, reading, writing
from networkd.attributes import POST, PUT, request_schema
from shared.api import json_body
from shared.openapi import describe

bp = Blueprint("security_groups", __name__, url_prefix="/v2.0")


def _ensure_default() -> None:
    """A writing transaction only when the default group is missing."""
    with reading() as call:
        project_id = security_groups.default_missing(call, query())
    if project_id is not None:
        with writing() as call:
            security_groups.ensure_default(call.session, project_id)


@bp.get("/security-groups")
def list_security_groups():
    _ensure_default()
    with reading() as call:
        items = security_groups.to_dicts(call, security_groups.list_visible(call, query()))
    return list_response("security_groups", items)


@bp.post("/security-groups")
@describe(request=request_schema(security_groups.GROUP, security_groups.GROUP_ATTRS, POST))
def create_security_group():
    with writing() as call:
        shown = security_groups.to_dict(call, security_groups.create(call, json_body()))
    return one("security_group", shown, 201)


@bp.get("/security-groups/<group_id>")
def show_security_group(group_id):
    with reading() as call:
        shown = security_groups.to_dict(call, security_groups.get(call, group_id))
    return one("security_group", shown)


@bp.put("/security-groups/<group_id>")
@describe(request=request_schema(security_groups.GROUP, security_groups.GROUP_ATTRS, PUT))
def update_security_group(group_id):
    with writing() as call:
        shown = security_groups.to_dict(call, security_groups.update(call, group_id,
                                                                     json_body()))
    return one("security_group", shown)


@bp.delete("/security-groups/<group_id>")
def delete_security_group(group_id):
    with writing() as call:
        security_groups.delete(call, group_id)
    return Response(status=204)


@bp.get("/security-group-rules")
def list_security_group_rules():
    _ensure_default()
    with reading() as call:
        items = security_groups.rules_to_dicts(call, security_groups.list_rules(call))
    return list_response("security_group_rules", items)


@bp.post("/security-group-rules")
@describe(request=request_schema(security_groups.RULE, security_groups.RULE_ATTRS, POST))
def create_security_group_rule():
    with writing() as call:
        shown = security_groups.rule_to_dict(call, security_groups.create_rule(call,
                                                                               json_body()))
    return one("security_group_rule", shown, 201)


@bp.get("/security-group-rules/<rule_id>")
def show_security_group_rule(rule_id):
    with reading() as call:
        shown = security_groups.rule_to_dict(call, security_groups.get_rule(call, rule_id))
    return one("security_group_rule", shown)


@bp.delete("/security-group-rules/<rule_id>")
def delete_security_group_rule(rule_id):
    with writing() as call:
        security_groups.delete_rule(call, rule_id)
    return Response(status=204)
