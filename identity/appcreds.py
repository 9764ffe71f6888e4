"""Application credentials: what /v3/users/{user_id}/application_credentials
and the "application_credential" auth method do, without HTTP.

A user makes one with a project-scoped token: it is bound to that project,
holds the roles asked for (with the roles they imply) or else every role of
the token, and must hold only roles the token has. Its secret is shown once
and kept as a bcrypt hash. Logging in with it (id + secret, or name + user +
secret) gives a token scoped to its project with those of its roles the user
still has. A restricted one (the default) may not make or delete application
credentials or EC2 credentials. Deleting it ends the tokens made with it: a
revocation event naming it, which every service learns of. Keystone's
keystone/application_credential and keystone/api/users.py are the reference.
"""
from __future__ import annotations

import base64
import datetime as dt
import secrets
import time
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from identity import store
from identity.models import (
    DEFAULT_DOMAIN_ID,
    ApplicationCredential,
    ApplicationCredentialRole,
    Assignment,
    Project,
    Role,
    User,
)
from shared.context import RequestContext
from shared.db import transaction
from shared.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized
from shared.events import Notifier
from shared.revocation import RevocationEvent
from shared.tokens import TokenData

METHOD = "application_credential"
SECRET_BYTES = 64  # Keystone's: 64 random bytes, URL-safe base64 without padding
INVALID = "Invalid application credential: "
BAD_SECRET = ("The request you have made requires authentication: invalid application "
              "credential id or secret.")
NOT_FOR_MANAGING = ("You are not authorized to perform the requested action: Using method "
                    "'application_credential' is not allowed for managing additional "
                    "application credentials.")
TIMESTAMP_FORMAT = ("Timestamp not in expected format. The server could not comply with the "
                    "request since it is either malformed or otherwise incorrect. The client "
                    "is assumed to be in error.")
EXPIRED = ("The 'expires_at' must not be before now. The server could not comply with the "
           "request since it is either malformed or otherwise incorrect. The client is "
           "assumed to be in error.")


@dataclass(frozen=True)
class AppCred:
    """An application credential with its roles; the secret only right
    after it was made."""
    row: ApplicationCredential
    roles: list[Role]
    secret: str | None = None


@dataclass(frozen=True)
class Proof:
    """What an application credential login proves: the user, the
    credential, its project and the roles the token gets."""
    user: User
    credential: ApplicationCredential
    project: Project
    roles: list[Role] = field(default_factory=list)


def generate_secret() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(SECRET_BYTES)).rstrip(b"=").decode()


def parse_expiry(value) -> float | None:
    """expires_at of a request (ISO 8601, UTC when it names no zone) as a
    timestamp; None for none. 400 when malformed or already past, with
    Keystone's messages."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequest(TIMESTAMP_FORMAT)
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(TIMESTAMP_FORMAT) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    if moment.timestamp() <= time.time():
        raise BadRequest(EXPIRED)
    return moment.timestamp()


def check_unrestricted(session: Session, caller: TokenData) -> None:
    """403 when the caller's token was made with a restricted application
    credential (Keystone's _check_unrestricted_application_credential)."""
    if not caller.application_credential_id:
        return
    credential = session.get(ApplicationCredential, caller.application_credential_id)
    if credential is None or not credential.unrestricted:
        raise Forbidden(NOT_FOR_MANAGING)


class ApplicationCredentials:
    def __init__(self, sessions: sessionmaker, notifier: Notifier, *, password_hash_rounds: int,
                 token_lifetime: float):
        self.sessions = sessions
        self.notifier = notifier
        self.rounds = password_hash_rounds
        self.token_lifetime = token_lifetime

    def create(self, ctx: RequestContext, caller: TokenData, user_id: str,
               spec: dict) -> AppCred:
        """A new application credential of the caller on the caller's
        project. spec: name (required), description, secret (generated when
        absent), expires_at, roles ([{id} or {name}]), unrestricted,
        access_rules (none: not supported). 403 for a restricted caller or
        another user, 400 for a bad field or a role the token lacks, 404
        for an unknown role name, 409 for a name the user already uses."""
        with transaction(self.sessions) as session:
            check_unrestricted(session, caller)
            if caller.user_id != user_id:
                raise Forbidden("You are not authorized to perform the requested action: "
                                "Cannot create an application credential for another user.")
            if not caller.project_id:
                raise Forbidden("An application credential is made with a token scoped to "
                                "the project it will be for.")
            fields = _checked_fields(spec)
            roles = _requested_roles(session, spec.get("roles"), caller)
            _require_assigned(session, roles, user_id, caller.project_id)
            secret = spec.get("secret") or generate_secret()
            row = ApplicationCredential(id=store.new_id(), user_id=user_id,
                                        project_id=caller.project_id,
                                        secret_hash=store.hash_password(secret, self.rounds),
                                        **fields)
            session.add(row)
            try:
                session.flush()
            except IntegrityError:
                raise Conflict("Conflict occurred attempting to store application_credential "
                               f"- Duplicate entry found with name {fields['name']}.") from None
            for role in roles:
                session.add(ApplicationCredentialRole(application_credential_id=row.id,
                                                      role_id=role.id))
            self._event(ctx, session, "identity.application_credential.created", row)
            return AppCred(row, roles, secret)

    def list_for_user(self, user_id: str, name: str | None = None) -> list[AppCred]:
        """The user's application credentials, by name (only the one with
        that name when given)."""
        with transaction(self.sessions, write=False) as session:
            query = select(ApplicationCredential).where(
                ApplicationCredential.user_id == user_id).order_by(ApplicationCredential.name)
            if name is not None:
                query = query.where(ApplicationCredential.name == name)
            return [AppCred(row, roles_of(session, row)) for row in session.scalars(query)]

    def owner_of(self, credential_id: str) -> str | None:
        """The user an application credential belongs to (policy asks about
        the owner, not about the user named in the path); None if unknown."""
        with transaction(self.sessions, write=False) as session:
            row = session.get(ApplicationCredential, credential_id)
            return row.user_id if row is not None else None

    def get(self, credential_id: str) -> AppCred:
        with transaction(self.sessions, write=False) as session:
            row = _lookup(session, credential_id)
            return AppCred(row, roles_of(session, row))

    def delete(self, ctx: RequestContext, caller: TokenData, credential_id: str) -> None:
        """Delete it; the tokens made with it stop working everywhere. 403
        for a restricted caller, 404 if there is none."""
        with transaction(self.sessions) as session:
            check_unrestricted(session, caller)
            row = _lookup(session, credential_id)
            session.delete(row)
            store.add_revocation(session, RevocationEvent(
                issued_before=time.time(), application_credential_id=row.id),
                self.token_lifetime)
            self._event(ctx, session, "identity.application_credential.deleted", row)

    def _event(self, ctx: RequestContext | None, session: Session, event_type: str,
               row: ApplicationCredential) -> None:
        self.notifier.notify(ctx, event_type, resource_type="application_credential",
                             resource_id=row.id, project_id=row.project_id,
                             payload={"user_id": row.user_id, "name": row.name},
                             session=session)


# --- logging in with one (identity.tokens calls these inside its transaction) -----------
def authenticate(session: Session, spec, scope) -> Proof:
    """Check an auth request's "application_credential" object: the
    credential by id, or by name with its user (id, or name and domain);
    the secret; the expiry; the user and the project enabled; at least one
    of its roles still held. An application credential cannot ask for a
    scope (401). Unknown id or user: 404, as Keystone answers."""
    if not isinstance(spec, dict):
        raise BadRequest(_expecting("id or name", "application credential"))
    if scope is not None:
        raise Unauthorized("Error authenticating with application credential: Application "
                           "credentials cannot request a scope.")
    credential = _find_for_login(session, spec)
    if credential.expires_at is not None and credential.expires_at <= time.time():
        raise Unauthorized(BAD_SECRET)
    user = session.get(User, credential.user_id)
    if user is None or not store.password_matches_hash(credential.secret_hash,
                                                        str(spec.get("secret") or "")):
        raise Unauthorized(BAD_SECRET)
    if not user.enabled:
        raise Unauthorized(f"The request you have made requires authentication: user "
                           f"{user.id} is disabled.")
    project = session.get(Project, credential.project_id)
    if project is None or not project.enabled:
        raise Unauthorized(f"The request you have made requires authentication: project "
                           f"{credential.project_id} is disabled.")
    return Proof(user, credential, project, token_roles(session, credential))


def token_roles(session: Session, credential: ApplicationCredential) -> list[Role]:
    """The credential's roles the user still has on its project (Keystone's
    _get_application_credential_roles): a role taken away is not in the
    token, even though the credential still names it."""
    held = store.with_implied(session, store.assigned_role_ids(
        session, credential.user_id, credential.project_id))
    return [role for role in roles_of(session, credential) if role.id in held]


def roles_of(session: Session, row: ApplicationCredential) -> list[Role]:
    ids = session.scalars(select(ApplicationCredentialRole.role_id).where(
        ApplicationCredentialRole.application_credential_id == row.id))
    return list(session.scalars(select(Role).where(Role.id.in_(list(ids))).order_by(Role.name)))


def forget_for_role(session: Session, role_id: str, token_lifetime: float) -> None:
    """A role is being deleted: like Keystone, delete the application
    credentials of every user who has it on a project, on that project, and
    end their tokens."""
    pairs = {(row.user_id, row.project_id) for row in session.scalars(
        select(Assignment).where(Assignment.role_id == role_id))}
    for user_id, project_id in pairs:
        for row in session.scalars(select(ApplicationCredential).where(
                ApplicationCredential.user_id == user_id,
                ApplicationCredential.project_id == project_id)):
            session.delete(row)
            store.add_revocation(session, RevocationEvent(
                issued_before=time.time(), application_credential_id=row.id), token_lifetime)


def _find_for_login(session: Session, spec: dict) -> ApplicationCredential:
    if spec.get("id"):
        return _lookup(session, str(spec["id"]))
    name = spec.get("name")
    if not name:
        raise BadRequest(_expecting("name or ID", "application credential"))
    user_spec = spec.get("user")
    if not isinstance(user_spec, dict):
        raise BadRequest(_expecting("user", "application credential"))
    user_id = user_spec.get("id")
    if not user_id:
        domain = user_spec.get("domain")
        if not isinstance(domain, dict):
            raise BadRequest(_expecting("domain", "user"))
        if domain.get("id") not in (None, DEFAULT_DOMAIN_ID) or \
                domain.get("name") not in (None, "Default"):
            raise Unauthorized("PocketStack has one domain: Default (id 'default').")
        user = store.find_user(session, name=user_spec.get("name"))
        if user is None:
            raise NotFound(f"Could not find user: {user_spec.get('name')}.")
        user_id = user.id
    found = list(session.scalars(select(ApplicationCredential).where(
        ApplicationCredential.user_id == user_id, ApplicationCredential.name == name)))
    if len(found) != 1:
        raise Unauthorized(f"Could not find application credential: {name}")
    return found[0]


def _lookup(session: Session, credential_id: str) -> ApplicationCredential:
    row = session.get(ApplicationCredential, credential_id)
    if row is None:
        raise NotFound(f"Could not find Application Credential: {credential_id}.")
    return row


def _checked_fields(spec: dict) -> dict:
    """The plain fields of a new application credential, checked as
    Keystone's schema checks them."""
    name = spec.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        raise BadRequest(INVALID + "name is required: a string of 1 to 255 characters, "
                         "not only spaces.")
    description = spec.get("description")
    if description is not None and not isinstance(description, str):
        raise BadRequest(INVALID + "description must be a string or null.")
    secret = spec.get("secret")
    if secret is not None and not isinstance(secret, str):
        raise BadRequest(INVALID + "secret must be a string or null.")
    if spec.get("access_rules"):
        raise BadRequest(INVALID + "access rules are not supported by PocketStack; leave "
                         "access_rules out (or empty).")
    unrestricted = spec.get("unrestricted")
    if unrestricted is not None and not isinstance(unrestricted, bool):
        raise BadRequest(INVALID + "unrestricted must be true, false or null.")
    return {"name": name, "description": description,
            "expires_at": parse_expiry(spec.get("expires_at")),
            "unrestricted": unrestricted}


def _requested_roles(session: Session, requested, caller: TokenData) -> list[Role]:
    """The roles asked for (by id or name) with the roles they imply, or
    the caller's token's roles when none are asked for; each must be in the
    caller's token (400 otherwise), a name must be a role (404)."""
    if requested is None or requested == []:
        names = set(caller.roles)
        return list(session.scalars(select(Role).where(Role.name.in_(names))
                                    .order_by(Role.name)))
    if not isinstance(requested, list) or not all(
            isinstance(item, dict) and len(item) == 1 and
            isinstance(item.get("id") or item.get("name"), str) for item in requested):
        raise BadRequest(INVALID + "roles must be a list of objects, each with an id or a "
                         "name.")
    ids = set()
    for item in requested:
        if "id" in item:
            role = session.get(Role, item["id"])
        else:
            role = session.scalars(select(Role).where(Role.name == item["name"])).first()
            if role is None:
                raise NotFound(f"Could not find role: {item['name']}.")
        if role is None or role.name not in caller.roles:
            raise BadRequest(INVALID + "Cannot create an application credential with "
                             "unassigned role")
        ids.add(role.id)
    roles = list(session.scalars(select(Role).where(
        Role.id.in_(store.with_implied(session, ids))).order_by(Role.name)))
    for role in roles:
        if role.name not in caller.roles:
            raise BadRequest(INVALID + "Cannot create an application credential with "
                             "unassigned role")
    return roles


def _require_assigned(session: Session, roles: list[Role], user_id: str,
                      project_id: str) -> None:
    held = store.with_implied(session, store.assigned_role_ids(session, user_id, project_id))
    for role in roles:
        if role.id not in held:
            raise BadRequest(INVALID + f"Could not find role assignment with role: {role.id}, "
                             f"user or group: {user_id}, project, domain, or system: "
                             f"{project_id}.")


def _expecting(attribute: str, target: str) -> str:
    return (f"Expecting to find {attribute} in {target}. The server could not comply with "
            "the request since it is either malformed or otherwise incorrect. The client is "
            "assumed to be in error.")
