"""Version discovery and the token API: POST/GET/HEAD/DELETE /v3/auth/tokens.

The sequence every `openstack` command runs: GET / (versions), then POST
/v3/auth/tokens with a password and a project; the token comes back in the
X-Subject-Token header and the body carries the roles, the expiry and the
catalog. GET and HEAD validate a token given in X-Subject-Token, DELETE
revokes it (a revocation event that every service learns of). The work is
identity/tokens.py; here the requests are parsed and the answers rendered.
"""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from identity import schemas, store, tokens
from identity.api import render
from identity.api.common import authorize, service
from identity.catalog import catalog_for
from identity.models import DEFAULT_DOMAIN_ID, DEFAULT_DOMAIN_NAME, Project
from shared.api import context, json_body
from shared.db import transaction
from shared.errors import BadRequest
from shared.openapi import describe
from shared.timeutil import iso
from shared.tokens import TokenData
from shared.validation import checked

API_VERSION = "v3.14"

bp = Blueprint("auth", __name__)


@bp.after_app_request
def keystone_headers(response: Response) -> Response:
    """What Keystone puts on every answer: Vary: X-Auth-Token (the answer
    depends on the token, so no cache may share it), and no Content-Type on a
    204, which has no body."""
    response.headers["Vary"] = "X-Auth-Token"
    if response.status_code == 204:
        response.headers.pop("Content-Type", None)
    return response


@bp.get("/")
def versions():
    response = jsonify({"versions": {"values": [version_document()]}})
    response.status_code = 300
    # Keystone names the one version it would pick in Location, as a 300 should.
    response.headers["Location"] = f"{render.base_url()}/v3/"
    return response


@bp.get("/v3")
@bp.get("/v3/")
def version():
    return jsonify({"version": version_document()})


@bp.post("/v3/auth/tokens")
@describe(request=schemas.AUTH, status="201")
def issue_token():
    body = checked(json_body(), schemas.AUTH).get("auth")
    if not isinstance(body, dict) or not isinstance(body.get("identity"), dict):
        raise BadRequest("The request body must hold auth.identity.")
    issued = tokens.issue(service(), context(), body["identity"], body.get("scope"))
    response = jsonify(_token_body(issued.data, issued.role_ids,
                                   issued.application_credential))
    response.status_code = 201
    response.headers["X-Subject-Token"] = issued.token
    return response


@bp.route("/v3/auth/tokens", methods=["GET", "HEAD"])
def validate_token():
    data = tokens.validate(service(), _subject_token())
    authorize("validate_token", {"token.user_id": data.user_id})
    subject_header = {"X-Subject-Token": request.headers["X-Subject-Token"]}
    # HEAD answers GET's headers (Content-Type, Content-Length) without the
    # body, as Keystone does: Flask drops the body of a HEAD response.
    response = jsonify(_token_body(data, tokens.role_ids(service(), data),
                                   tokens.application_credential(service(), data)))
    response.headers.update(subject_header)
    return response


@bp.delete("/v3/auth/tokens")
def revoke_token():
    data = tokens.validate(service(), _subject_token())
    authorize("revoke_token", {"token.user_id": data.user_id})
    tokens.revoke(service(), context(), data)
    return Response(status=204)


@bp.get("/v3/auth/catalog")
def auth_catalog():
    return jsonify({"catalog": catalog_for(service().conf, context().project_id),
                    "links": render.links("/v3/auth/catalog")})


@bp.get("/v3/auth/projects")
def auth_projects():
    ctx = context()
    with transaction(service().sessions, write=False) as session:
        project = session.get(Project, ctx.project_id) if ctx.project_id else None
        projects = [render.project(project)] if project else []
    return jsonify(render.collection("projects", projects, "/v3/auth/projects"))


@bp.get("/v3/OS-REVOKE/events")
def revoke_events():
    authorize("list_revoke_events")
    with transaction(service().sessions) as session:
        events = store.revocation_events(session)
    return jsonify(render.collection("events", [body for event in events
                                                for body in event.keystone_events()],
                                     "/v3/OS-REVOKE/events"))


def version_document() -> dict:
    return {"id": API_VERSION, "status": "stable", "updated": "2020-04-07T00:00:00Z",
            "links": [{"rel": "self", "href": f"{render.base_url()}/v3/"}],
            "media-types": [{"base": "application/json",
                             "type": "application/vnd.openstack.identity-v3+json"}]}


def _subject_token() -> str:
    subject = request.headers.get("X-Subject-Token")
    if not subject:
        raise BadRequest("The X-Subject-Token header names the token to act on.")
    return subject


def _token_body(data: TokenData, role_ids: dict[str, str],
                application_credential: dict | None = None) -> dict:
    domain = {"id": DEFAULT_DOMAIN_ID, "name": DEFAULT_DOMAIN_NAME}
    token: dict = {
        "methods": data.methods, "expires_at": iso(data.expires_at),
        "issued_at": iso(data.issued_at), "audit_ids": [data.audit_id],
        "user": {"id": data.user_id, "name": data.user_name, "domain": domain,
                 "password_expires_at": None},
    }
    if data.project_id:
        token["is_domain"] = False  # Keystone says so of project-scoped tokens only
        token["project"] = {"id": data.project_id, "name": data.project_name, "domain": domain}
        token["roles"] = [{"id": role_ids.get(name, name), "name": name} for name in data.roles]
        token["catalog"] = catalog_for(service().conf, data.project_id)
    if application_credential is not None:
        token["application_credential"] = application_credential
    return {"token": token}
