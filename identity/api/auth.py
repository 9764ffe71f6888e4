"""Version discovery and the token API: POST/GET/HEAD/DELETE /v3/auth/tokens.

The sequence every `openstack` command runs: GET / (versions), then POST
/v3/auth/tokens with a password and a project; the token comes back in the
X-Subject-Token header and the body carries the roles, the expiry and the
catalog. GET and HEAD validate a token given in X-Subject-Token, DELETE
revokes it (a revocation event that every service learns of).
"""
from __future__ import annotations

import time

from flask import Blueprint, Response, jsonify, request

from shared.api import context, json_body
from shared.db import transaction
from shared.errors import BadRequest, NotFound, Unauthorized
from identity import store
from identity.api import render
from identity.catalog import catalog_for
from identity.models import DEFAULT_DOMAIN_ID, DEFAULT_DOMAIN_NAME, Project, User
from shared.timeutil import iso
from shared.revocation import RevocationEvent
from shared.service import Service
from shared.tokens import TokenData, TokenError

API_VERSION = "v3.14"
AUTH_FAILED = "The request you have made requires authentication: invalid username, password or project."


def version_document() -> dict:
    return {"id": API_VERSION, "status": "stable", "updated": "2020-04-07T00:00:00Z",
            "links": [{"rel": "self", "href": f"{render.base_url()}/v3/"}],
            "media-types": [{"base": "application/json",
                             "type": "application/vnd.openstack.identity-v3+json"}]}


def auth_blueprint(service: Service) -> Blueprint:
    bp = Blueprint("auth", __name__)
    conf = service.conf

    @bp.get("/")
    def versions():
        response = jsonify({"versions": {"values": [version_document()]}})
        response.status_code = 300
        return response

    @bp.get("/v3")
    @bp.get("/v3/")
    def version():
        return jsonify({"version": version_document()})

    @bp.post("/v3/auth/tokens")
    def issue_token():
        body = json_body().get("auth")
        if not isinstance(body, dict) or not isinstance(body.get("identity"), dict):
            raise BadRequest("The request body must hold auth.identity.")
        with transaction(service.sessions) as session:
            user, methods, token_expiry = _identify(session, body["identity"], service)
            project = _scope_project(session, body.get("scope"), user)
            roles = store.effective_roles(session, user.id, project.id) if project else []
            if project and not roles:
                _record_auth(service, session, user, "failure")
                raise Unauthorized(f"User {user.name} has no role on project {project.name}.")
            _record_auth(service, session, user, "success")
            now = time.time()
            expires = min(now + conf.token.expiration, token_expiry or float("inf"))
            data = TokenData(user_id=user.id, user_name=user.name,
                             project_id=project.id if project else "",
                             project_name=project.name if project else "",
                             roles=[r.name for r in roles], expires_at=expires,
                             issued_at=now, methods=methods)
            token = service.codec.encode(data)
            role_ids = {r.name: r.id for r in roles}
        response = jsonify(_token_body(data, role_ids, conf))
        response.status_code = 201
        response.headers["X-Subject-Token"] = token
        return response

    @bp.route("/v3/auth/tokens", methods=["GET", "HEAD"])
    def validate_token():
        data = _subject_token(service)
        service.policy.authorize("identity:validate_token",
                                 {"token.user_id": data.user_id}, context())
        if request.method == "HEAD":
            return Response(status=200, headers={"X-Subject-Token": request.headers["X-Subject-Token"]})
        with transaction(service.sessions, write=False) as session:
            role_ids = {r.name: r.id for r in store.effective_roles(
                session, data.user_id, data.project_id)} if data.project_id else {}
        response = jsonify(_token_body(data, role_ids, conf))
        response.headers["X-Subject-Token"] = request.headers["X-Subject-Token"]
        return response

    @bp.delete("/v3/auth/tokens")
    def revoke_token():
        data = _subject_token(service)
        service.policy.authorize("identity:revoke_token",
                                 {"token.user_id": data.user_id}, context())
        with transaction(service.sessions) as session:
            store.add_revocation(session, RevocationEvent(issued_before=time.time(),
                                                          audit_id=data.audit_id),
                                 conf.token.expiration)
            service.notifier.notify(context(), "identity.token.revoked", resource_type="token",
                                    resource_id=data.audit_id, project_id=data.project_id,
                                    payload={"user_id": data.user_id}, session=session)
        return Response(status=204)

    @bp.get("/v3/auth/catalog")
    def auth_catalog():
        ctx = context()
        return jsonify({"catalog": catalog_for(conf, ctx.project_id),
                        "links": render.links("/v3/auth/catalog")})

    @bp.get("/v3/auth/projects")
    def auth_projects():
        ctx = context()
        with transaction(service.sessions, write=False) as session:
            project = session.get(Project, ctx.project_id) if ctx.project_id else None
            projects = [render.project(project)] if project else []
        return jsonify(render.collection("projects", projects, "/v3/auth/projects"))

    @bp.get("/v3/OS-REVOKE/events")
    def revoke_events():
        service.policy.authorize("identity:list_revoke_events", {}, context())
        with transaction(service.sessions) as session:
            events = store.revocation_events(session)
        return jsonify({"events": [event.to_json() for event in events]})

    return bp


def _subject_token(service: Service) -> TokenData:
    subject = request.headers.get("X-Subject-Token")
    if not subject:
        raise BadRequest("The X-Subject-Token header names the token to act on.")
    try:
        data = service.codec.decode(subject)
    except TokenError as exc:
        raise NotFound(f"Could not find token: {exc}") from None
    with transaction(service.sessions) as session:
        if any(event.revokes(data) for event in store.revocation_events(session)):
            raise NotFound("Could not find token: it has been revoked.")
    return data


def _identify(session, identity: dict, service: Service) -> tuple[User, list[str], float | None]:
    """The user the auth request proves to be, by password or by token."""
    methods = identity.get("methods") or []
    if "password" in methods:
        spec = (identity.get("password") or {}).get("user") or {}
        _require_default_domain(spec.get("domain"))
        user = store.find_user(session, user_id=spec.get("id"), name=spec.get("name"))
        if user is None or not user.enabled or not store.password_matches(
                user, str(spec.get("password", ""))):
            if user is not None:
                _record_auth(service, session, user, "failure")
                session.commit()
            raise Unauthorized(AUTH_FAILED)
        return user, ["password"], None
    if "token" in methods:
        token = (identity.get("token") or {}).get("id", "")
        try:
            data = service.codec.decode(token)
        except TokenError as exc:
            raise Unauthorized(str(exc)) from None
        if any(event.revokes(data) for event in store.revocation_events(session)):
            raise Unauthorized("The token has been revoked.")
        user = session.get(User, data.user_id)
        if user is None or not user.enabled:
            raise Unauthorized(AUTH_FAILED)
        # A token made from a token never outlives the original.
        return user, ["token"], data.expires_at
    raise Unauthorized("Only the password and token auth methods are supported.")


def _scope_project(session, scope, user: User) -> Project | None:
    if scope in (None, "unscoped"):
        if user.default_project_id:
            return session.get(Project, user.default_project_id)
        return None
    spec = scope.get("project") if isinstance(scope, dict) else None
    if not isinstance(spec, dict):
        raise Unauthorized("Only project scope is supported (no domain or system scope).")
    _require_default_domain(spec.get("domain"))
    project = store.find_project(session, project_id=spec.get("id"), name=spec.get("name"))
    if project is None or not project.enabled:
        raise Unauthorized(AUTH_FAILED)
    return project


def _require_default_domain(domain) -> None:
    if not domain:
        return
    if domain.get("id") not in (None, DEFAULT_DOMAIN_ID) or \
            domain.get("name") not in (None, DEFAULT_DOMAIN_NAME):
        raise Unauthorized("PocketStack has one domain: Default (id 'default').")


def _record_auth(service: Service, session, user: User, outcome: str) -> None:
    service.notifier.notify(context(), "identity.authenticate", resource_type="user",
                            resource_id=user.id, project_id=user.default_project_id,
                            payload={"outcome": outcome, "user_name": user.name},
                            session=session)


def _token_body(data: TokenData, role_ids: dict[str, str], conf) -> dict:
    domain = {"id": DEFAULT_DOMAIN_ID, "name": DEFAULT_DOMAIN_NAME}
    token = {
        "methods": data.methods, "expires_at": iso(data.expires_at),
        "issued_at": iso(data.issued_at), "audit_ids": [data.audit_id], "is_domain": False,
        "user": {"id": data.user_id, "name": data.user_name, "domain": domain,
                 "password_expires_at": None},
    }
    if data.project_id:
        token["project"] = {"id": data.project_id, "name": data.project_name, "domain": domain}
        token["roles"] = [{"id": role_ids.get(name, name), "name": name} for name in data.roles]
        token["catalog"] = catalog_for(conf, data.project_id)
    return {"token": token}
