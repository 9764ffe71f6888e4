"""Issuing, validating and revoking tokens: what POST/GET/DELETE
/v3/auth/tokens do, without HTTP.

Issue: prove who the user is (a password, or a token still valid), find the
project the token is scoped to, refuse a project where the user has no
role, and sign the token (shared.tokens) with the user's effective roles.
Every attempt on a known user is an identity.authenticate event, success or
failure. Validate: decode and check the revocation events. Revoke: a
revocation event for the token's audit id, which every service learns of.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy.orm import Session

from identity import store
from identity.models import DEFAULT_DOMAIN_ID, DEFAULT_DOMAIN_NAME, Project, User
from shared.context import RequestContext
from shared.db import transaction
from shared.errors import NotFound, Unauthorized
from shared.revocation import RevocationEvent
from shared.service import Service
from shared.tokens import TokenData, TokenError

AUTH_FAILED = ("The request you have made requires authentication: invalid username, "
               "password or project.")


@dataclass(frozen=True)
class IssuedToken:
    token: str
    data: TokenData
    role_ids: dict[str, str]  # role name -> id, for the token body


def issue(service: Service, ctx: RequestContext | None, identity: dict,
          scope: dict | str | None) -> IssuedToken:
    """A new token for the `identity` and `scope` of an auth request
    (Keystone's shapes). Raises Unauthorized (401) for a wrong password, an
    unknown, disabled or revoked subject, or a project with no role."""
    with transaction(service.sessions) as session:
        user, methods, token_expiry = _identify(service, ctx, session, identity)
        project = _scope_project(session, scope, user)
        roles = store.effective_roles(session, user.id, project.id) if project else []
        if project and not roles:
            _record_auth(service, ctx, session, user, "failure")
            raise Unauthorized(f"User {user.name} has no role on project {project.name}.")
        _record_auth(service, ctx, session, user, "success")
        now = time.time()
        expires = min(now + service.conf.token.expiration, token_expiry or float("inf"))
        data = TokenData(user_id=user.id, user_name=user.name,
                         project_id=project.id if project else "",
                         project_name=project.name if project else "",
                         roles=[r.name for r in roles], expires_at=expires,
                         issued_at=now, methods=methods)
        return IssuedToken(service.codec.encode(data), data, {r.name: r.id for r in roles})


def validate(service: Service, subject: str) -> TokenData:
    """What the token `subject` says; NotFound (404) if it is bad, expired or
    revoked (Keystone's answer for a subject token)."""
    try:
        data = service.codec.decode(subject)
    except TokenError as exc:
        raise NotFound(f"Could not find token: {exc}") from None
    with transaction(service.sessions) as session:
        if any(event.revokes(data) for event in store.revocation_events(session)):
            raise NotFound("Could not find token: it has been revoked.")
    return data


def role_ids(service: Service, data: TokenData) -> dict[str, str]:
    """The ids of the token's roles, by name, as they are now."""
    if not data.project_id:
        return {}
    with transaction(service.sessions, write=False) as session:
        return {r.name: r.id for r in store.effective_roles(session, data.user_id,
                                                            data.project_id)}


def revoke(service: Service, ctx: RequestContext | None, data: TokenData) -> None:
    """The token stops working everywhere (a revocation event by audit id)."""
    with transaction(service.sessions) as session:
        store.add_revocation(session, RevocationEvent(issued_before=time.time(),
                                                      audit_id=data.audit_id),
                             service.conf.token.expiration)
        service.notifier.notify(ctx, "identity.token.revoked", resource_type="token",
                                resource_id=data.audit_id, project_id=data.project_id,
                                payload={"user_id": data.user_id}, session=session)


def _identify(service: Service, ctx: RequestContext | None, session: Session,
              identity: dict) -> tuple[User, list[str], float | None]:
    """The user the auth request proves to be, by password or by token."""
    methods = identity.get("methods") or []
    if "password" in methods:
        spec = (identity.get("password") or {}).get("user") or {}
        _require_default_domain(spec.get("domain"))
        user = store.find_user(session, user_id=spec.get("id"), name=spec.get("name"))
        if user is None or not user.enabled or not store.password_matches(
                user, str(spec.get("password", ""))):
            if user is not None:
                _record_auth(service, ctx, session, user, "failure")
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


def _scope_project(session: Session, scope, user: User) -> Project | None:
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


def _record_auth(service: Service, ctx: RequestContext | None, session: Session, user: User,
                 outcome: str) -> None:
    service.notifier.notify(ctx, "identity.authenticate", resource_type="user",
                            resource_id=user.id, project_id=user.default_project_id,
                            payload={"outcome": outcome, "user_name": user.name},
                            session=session)
