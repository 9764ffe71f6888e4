"""Issuing, validating and revoking tokens: what POST/GET/DELETE
/v3/auth/tokens do, without HTTP.

Issue: prove who the user is (a password, a token still valid, or an
application credential), find the project the token is scoped to, refuse a
project where the user has no role, and sign the token (shared.tokens) with
the user's effective roles. An application credential chooses the project
itself and gives only its roles (identity.appcreds); a token made from such
a token keeps both.
Every attempt on a known user is an identity.authenticate event, success or
failure. Validate: decode and check the revocation events. Revoke: a
revocation event for the token's audit id, which every service learns of.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy.orm import Session

from identity import appcreds, store
from identity.models import (
    DEFAULT_DOMAIN_ID,
    DEFAULT_DOMAIN_NAME,
    ApplicationCredential,
    Project,
    User,
)
from shared.context import RequestContext
from shared.db import transaction
from shared.errors import Forbidden, NotFound, Unauthorized
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
    application_credential: dict | None = None  # the token body's, if made with one


def issue(service: Service, ctx: RequestContext | None, identity: dict,
          scope: dict | str | None) -> IssuedToken:
    """A new token for the `identity` and `scope` of an auth request
    (Keystone's shapes). Raises Unauthorized (401) for a wrong password, an
    unknown, disabled or revoked subject, or a project with no role."""
    with transaction(service.sessions) as session:
        user, methods, token_expiry, credential = _identify(service, ctx, session, identity,
                                                            scope)
        project: Project | None
        if credential is not None:
            project = _enabled_project(session, credential.project_id)
            roles = appcreds.token_roles(session, credential)
        else:
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
                         issued_at=now, methods=methods,
                         application_credential_id=credential.id if credential else None)
        return IssuedToken(service.codec.encode(data), data, {r.name: r.id for r in roles},
                           credential_body(credential))


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


def application_credential(service: Service, data: TokenData) -> dict | None:
    """The token body's "application_credential" of a token made with one
    (None for other tokens); NotFound if it was deleted meanwhile."""
    if not data.application_credential_id:
        return None
    with transaction(service.sessions, write=False) as session:
        credential = session.get(ApplicationCredential, data.application_credential_id)
        if credential is None:
            raise NotFound("Could not find token: its application credential was deleted.")
        return credential_body(credential)


def credential_body(credential: ApplicationCredential | None) -> dict | None:
    """{id, name, restricted}, as Keystone's render_token writes it."""
    if credential is None:
        return None
    return {"id": credential.id, "name": credential.name,
            "restricted": not credential.unrestricted}


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


def _identify(service: Service, ctx: RequestContext | None, session: Session, identity: dict,
              scope) -> tuple[User, list[str], float | None, ApplicationCredential | None]:
    """The user the auth request proves to be, by password, by token or by
    application credential; the expiry the token may not pass; the
    application credential that binds its scope and roles, if any."""
    methods = identity.get("methods") or []
    if appcreds.METHOD in methods:
        proof = appcreds.authenticate(session, identity.get(appcreds.METHOD), scope)
        return proof.user, [appcreds.METHOD], proof.credential.expires_at, proof.credential
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
        return user, ["password"], None, None
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
        credential = None
        if data.application_credential_id:
            # It stays within the application credential's bounds.
            if scope is not None:
                raise Forbidden("You are not authorized to perform the requested action: "
                                "Using an application credential token to create a scoped "
                                "token is not allowed.")
            credential = session.get(ApplicationCredential, data.application_credential_id)
            if credential is None:
                raise Unauthorized("The token has been revoked.")
        # A token made from a token never outlives the original.
        methods = ["token", appcreds.METHOD] if credential else ["token"]
        return user, methods, data.expires_at, credential
    raise Unauthorized("Only the password, token and application_credential auth methods "
                       "are supported.")


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


def _enabled_project(session: Session, project_id: str) -> Project:
    project = session.get(Project, project_id)
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
