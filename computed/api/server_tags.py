"""/v2.1/servers/{id}/tags (microversion 2.26, `openstack server set --tag`,
`server unset --tag`), as Nova's server_tags.py:

    GET    /servers/{id}/tags          {"tags": [...]}
    PUT    /servers/{id}/tags          {"tags": [...]} replaces them all (200)
    DELETE /servers/{id}/tags          204
    GET    /servers/{id}/tags/{tag}    204, or 404 "Server <id> has no tag '<tag>'"
    PUT    /servers/{id}/tags/{tag}    201 with a Location (204 if it was there)
    DELETE /servers/{id}/tags/{tag}    204, or 404

Changes need the server active, paused, suspended or stopped (409
otherwise); a server holds at most 50 tags. Below 2.26 every route is 404.
"""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from computed.api import schemas
from computed.api.common import API_PREFIX, base_url, runtime
from computed.api.microversion import COMPUTE, TAGS
from computed.api.servers import load
from computed.db import server_extras
from computed.domain import states
from computed.domain.server_fields import MAX_TAGS, InvalidField, check_tags, tag_problem
from shared.api import context, json_body
from shared.db import transaction
from shared.errors import BadRequest, Conflict, NotFound
from shared.openapi import describe

bp = Blueprint("server_tags", __name__, url_prefix=API_PREFIX)

CHANGEABLE = (states.ACTIVE, states.PAUSED, states.SUSPENDED, states.STOPPED)


@bp.before_request
def _needs_2_26():
    COMPUTE.require(TAGS)


def _changeable(session, server_id: str, rule: str, action: str):
    instance = load(session, server_id, f"os-server-tags:{rule}")
    if instance.vm_state not in CHANGEABLE:
        raise Conflict(f"Cannot '{action}' instance {server_id} while it is in vm_state "
                       f"{instance.vm_state}")
    return instance


def _changed(session, instance) -> None:
    runtime().deps.event(context(), "compute.instance.update", instance, session=session)


@bp.get("/servers/<server_id>/tags")
def index(server_id):
    with transaction(runtime().deps.sessions, write=False) as session:
        load(session, server_id, "os-server-tags:index")
        return jsonify({"tags": server_extras.tags(session, server_id)})


@bp.get("/servers/<server_id>/tags/<tag>")
def show(server_id, tag):
    with transaction(runtime().deps.sessions, write=False) as session:
        load(session, server_id, "os-server-tags:show")
        if tag not in server_extras.tags(session, server_id):
            raise NotFound(f"Server {server_id} has no tag '{tag}'")
    return Response(status=204)


@bp.put("/servers/<server_id>/tags")
@describe(request=schemas.SERVER_TAGS)
def update_all(server_id):
    try:
        wanted = check_tags(json_body())
    except InvalidField as exc:
        raise BadRequest(str(exc)) from None
    schemas.checked_nova({"tags": wanted}, schemas.SERVER_TAGS)
    with transaction(runtime().deps.sessions) as session:
        instance = _changeable(session, server_id, "update_all", "update tags")
        result = server_extras.set_tags(session, server_id, wanted)
        _changed(session, instance)
    return jsonify({"tags": result})


@bp.put("/servers/<server_id>/tags/<tag>")
@describe(no_body=True)
def update(server_id, tag):
    body = request.get_json(silent=True, force=True) if request.get_data() else None
    if body is not None:  # Nova's schema: no body, or null
        raise BadRequest(f"Invalid input for field/attribute Server tag. Value: {body}. "
                         f"{body!r} is not of type 'null'")
    with transaction(runtime().deps.sessions) as session:
        instance = _changeable(session, server_id, "update", "update tag")
        problem = tag_problem(tag)
        if problem:
            raise BadRequest(f"Tag '{tag}' is invalid. It must be a non empty string "
                             f"without characters '/' and ','. Validation error message: "
                             f"{problem}")
        existing = server_extras.tags(session, server_id)
        if len(existing) >= MAX_TAGS:
            raise BadRequest(f"The number of tags exceeded the per-server limit {MAX_TAGS}")
        if tag in existing:
            return Response(status=204)
        server_extras.add_tag(session, server_id, tag)
        _changed(session, instance)
    response = Response(status=201)
    response.headers["Location"] = f"{base_url()}{API_PREFIX}/servers/{server_id}/tags/{tag}"
    return response


@bp.delete("/servers/<server_id>/tags")
def delete_all(server_id):
    with transaction(runtime().deps.sessions) as session:
        instance = _changeable(session, server_id, "delete_all", "delete tags")
        server_extras.set_tags(session, server_id, [])
        _changed(session, instance)
    return Response(status=204)


@bp.delete("/servers/<server_id>/tags/<tag>")
def delete(server_id, tag):
    with transaction(runtime().deps.sessions) as session:
        instance = _changeable(session, server_id, "delete", "delete tag")
        if not server_extras.remove_tag(session, server_id, tag):
            raise NotFound(f"Instance {server_id} has no tag '{tag}'.")
        _changed(session, instance)
    return Response(status=204)

