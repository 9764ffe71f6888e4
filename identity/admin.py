"""Identity's administration: projects, users, roles, role assignments.

What the admin API does, without HTTP: each method runs one short
transaction, checks the rules (unique names, the default roles stay, nobody
deletes themselves), records an event and, when a change must end the use
of tokens already issued (a disabled or deleted project or user, a new
password, a revoked grant), a revocation event. identity/api/admin.py parses
the requests, asks policy, calls one method and renders the result; the
unit tests call these methods directly.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from identity import appcreds, store
from identity.models import DEFAULT_DOMAIN_ID, Assignment, Project, Role, User
from shared.context import RequestContext
from shared.db import transaction
from shared.errors import BadRequest, Conflict, Forbidden, NotFound
from shared.events import Notifier
from shared.revocation import RevocationEvent
from shared.strutils import bool_param

Named = TypeVar("Named", Project, User, Role)

DEFAULT_ROLES = ("admin", "member", "reader", "service")


@dataclass(frozen=True)
class AssignmentQuery:
    """GET /v3/role_assignments: the filters, and whether to list effective
    assignments (implied roles added) and names beside the ids."""
    user_id: str | None = None
    project_id: str | None = None
    role_id: str | None = None
    effective: bool = False
    include_names: bool = False


@dataclass(frozen=True)
class RoleAssignment:
    """A user's role on a project; the names only when asked for (then None
    for anything deleted meanwhile)."""
    user_id: str
    project_id: str
    role_id: str
    names: bool = False
    user_name: str | None = None
    project_name: str | None = None
    role_name: str | None = None
    prior_role_id: str | None = None  # effective only: the role that implied this one


class IdentityAdmin:
    def __init__(self, sessions: sessionmaker, notifier: Notifier, *, password_hash_rounds: int,
                 token_lifetime: float):
        self.sessions = sessions
        self.notifier = notifier
        self.rounds = password_hash_rounds
        self.token_lifetime = token_lifetime

    def _named(self, model: type[Named], name: str | None) -> list[Named]:
        """Every row of a named kind (project, user, role) by name, or the
        one with that name."""
        with transaction(self.sessions, write=False) as session:
            query = select(model).order_by(model.name)
            if name is not None:
                query = query.where(model.name == name)
            return list(session.scalars(query))

    def _one(self, model: type[Named], key: str, kind: str) -> Named:
        """A project, user or role by id or name; 404 if there is none."""
        with transaction(self.sessions, write=False) as session:
            return _lookup(session, model, key, kind)

    # --- projects ----------------------------------------------------------------
    def list_projects(self, name: str | None = None) -> list[Project]:
        return self._named(Project, name)

    def get_project(self, key: str) -> Project:
        """By id or name; 404 if there is none."""
        return self._one(Project, key, "project")

    def create_project(self, ctx: RequestContext | None, spec: dict) -> Project:
        """spec: name, description, enabled. 409 if the name is taken."""
        _check_new_resource(spec, "project")
        with transaction(self.sessions) as session:
            project = Project(id=store.new_id(), name=spec["name"], domain_id=DEFAULT_DOMAIN_ID,
                              description=spec.get("description") or "",
                              enabled=_enabled(spec))
            session.add(project)
            _flush_unique(session, f"Project {spec['name']} already exists.")
            self._event(ctx, session, "identity.project.created", "project", project.id,
                        name=project.name)
            return project

    def update_project(self, ctx: RequestContext | None, key: str, spec: dict) -> Project:
        """Set any of name, description, enabled; disabling it ends the use
        of its tokens."""
        with transaction(self.sessions) as session:
            project = _lookup(session, Project, key, "project")
            for field in ("name", "description"):
                if field in spec:
                    setattr(project, field, spec[field])
            if "enabled" in spec:
                project.enabled = _enabled(spec)
            _flush_unique(session, f"Project {spec.get('name')} already exists.")
            if "enabled" in spec and not project.enabled:
                self._revoke_later_use(session, project_id=project.id)
            self._event(ctx, session, "identity.project.updated", "project", project.id)
            return project

    def delete_project(self, ctx: RequestContext | None, key: str) -> None:
        with transaction(self.sessions) as session:
            project = _lookup(session, Project, key, "project")
            session.delete(project)
            self._revoke_later_use(session, project_id=project.id)
            self._event(ctx, session, "identity.project.deleted", "project", project.id,
                        name=project.name)

    # --- users ---------------------------------------------------------------------
    def list_users(self, name: str | None = None) -> list[User]:
        return self._named(User, name)

    def get_user(self, key: str) -> User:
        """By id or name; 404 if there is none."""
        return self._one(User, key, "user")

    def create_user(self, ctx: RequestContext | None, spec: dict) -> User:
        """spec: name, password, default_project_id, email, description,
        enabled. 400 for a default project that does not exist, 409 if the
        name is taken."""
        _check_new_resource(spec, "user")
        with transaction(self.sessions) as session:
            project_id = spec.get("default_project_id")
            if project_id and session.get(Project, project_id) is None:
                raise BadRequest(f"default_project_id {project_id} is not a project.")
            user = store.create_user(session, spec["name"], spec.get("password"), self.rounds,
                                     default_project_id=project_id, email=spec.get("email"),
                                     description=spec.get("description") or "",
                                     enabled=_enabled(spec))
            _flush_unique(session, f"User {spec['name']} already exists.")
            self._event(ctx, session, "identity.user.created", "user", user.id, name=user.name)
            return user

    def update_user(self, ctx: RequestContext | None, key: str, spec: dict) -> User:
        """Set any of name, email, description, enabled, default_project_id,
        password; a new password or disabling ends the use of the user's
        tokens."""
        with transaction(self.sessions) as session:
            user = _lookup(session, User, key, "user")
            for field in ("name", "email", "description", "default_project_id"):
                if field in spec:
                    setattr(user, field, spec[field])
            if "enabled" in spec:
                user.enabled = _enabled(spec)
            if spec.get("password"):
                user.password_hash = store.hash_password(spec["password"], self.rounds)
            if spec.get("password") or ("enabled" in spec and not user.enabled):
                self._revoke_later_use(session, user_id=user.id)
            _flush_unique(session, f"User {spec.get('name')} already exists.")
            self._event(ctx, session, "identity.user.updated", "user", user.id)
            return user

    def delete_user(self, ctx: RequestContext, key: str) -> None:
        """403 for the caller's own user."""
        with transaction(self.sessions) as session:
            user = _lookup(session, User, key, "user")
            if user.id == ctx.user_id:
                raise Forbidden("You cannot delete the user you are logged in as.")
            session.delete(user)
            self._revoke_later_use(session, user_id=user.id)
            self._event(ctx, session, "identity.user.deleted", "user", user.id, name=user.name)

    def projects_of_user(self, user_id: str) -> list[Project]:
        """The projects where the user has any role, by name."""
        with transaction(self.sessions, write=False) as session:
            ids = set(session.scalars(select(Assignment.project_id).where(
                Assignment.user_id == user_id)))
            return list(session.scalars(
                select(Project).where(Project.id.in_(ids)).order_by(Project.name)))

    # --- roles ---------------------------------------------------------------------
    def list_roles(self, name: str | None = None) -> list[Role]:
        return self._named(Role, name)

    def get_role(self, key: str) -> Role:
        return self._one(Role, key, "role")

    def create_role(self, ctx: RequestContext | None, spec: dict) -> Role:
        _check_new_resource(spec, "role")
        with transaction(self.sessions) as session:
            role = Role(id=store.new_id(), name=spec["name"],
                        description=spec.get("description") or "")
            session.add(role)
            _flush_unique(session, f"Role {spec['name']} already exists.")
            self._event(ctx, session, "identity.role.created", "role", role.id, name=role.name)
            return role

    def delete_role(self, ctx: RequestContext | None, key: str) -> None:
        """403 for the default roles."""
        with transaction(self.sessions) as session:
            role = _lookup(session, Role, key, "role")
            if role.name in DEFAULT_ROLES:
                raise Forbidden(f"Role {role.name} is one of the default roles and cannot "
                                "be deleted.")
            appcreds.forget_for_role(session, role.id, self.token_lifetime)
            session.delete(role)
            self._event(ctx, session, "identity.role.deleted", "role", role.id, name=role.name)

    # --- grants ------------------------------------------------------------------
    def grant(self, ctx: RequestContext | None, project_key: str, user_key: str,
              role_key: str) -> None:
        """Give the user the role on the project (again: no change)."""
        with transaction(self.sessions) as session:
            project, user, role = _grant_parts(session, project_key, user_key, role_key)
            store.grant(session, user.id, project.id, role.id)
            self._event(ctx, session, "identity.role_assignment.created", "role_assignment",
                        role.id, user_id=user.id, project_id=project.id, role=role.name)

    def check_grant(self, project_key: str, user_key: str, role_key: str) -> None:
        """404 unless the user has the role on the project (directly)."""
        with transaction(self.sessions, write=False) as session:
            project, user, role = _grant_parts(session, project_key, user_key, role_key)
            if session.get(Assignment, (user.id, project.id, role.id)) is None:
                raise NotFound(f"User {user.name} has no role {role.name} on {project.name}.")

    def revoke_grant(self, ctx: RequestContext | None, project_key: str, user_key: str,
                     role_key: str) -> None:
        """Take the role away; the user's tokens for the project stop working.
        404 if the user did not have it."""
        with transaction(self.sessions) as session:
            project, user, role = _grant_parts(session, project_key, user_key, role_key)
            if not store.revoke_grant(session, user.id, project.id, role.id):
                raise NotFound(f"User {user.name} has no role {role.name} on {project.name}.")
            self._revoke_later_use(session, user_id=user.id, project_id=project.id)
            self._event(ctx, session, "identity.role_assignment.deleted", "role_assignment",
                        role.id, user_id=user.id, project_id=project.id, role=role.name)

    def granted_roles(self, project_key: str, user_key: str) -> list[Role]:
        """The roles given to the user on the project directly, by name."""
        with transaction(self.sessions, write=False) as session:
            project = _lookup(session, Project, project_key, "project")
            user = _lookup(session, User, user_key, "user")
            ids = store.assigned_role_ids(session, user.id, project.id)
            return list(session.scalars(
                select(Role).where(Role.id.in_(ids)).order_by(Role.name)))

    def role_assignments(self, query: AssignmentQuery) -> list[RoleAssignment]:
        """The assignments that match the filters. Effective: each user's
        roles on each project with the roles they imply added (admin ->
        member -> reader), each once, sorted; the role filter applies after
        that, so it finds implied roles too."""
        with transaction(self.sessions, write=False) as session:
            statement = select(Assignment)
            if query.user_id:
                statement = statement.where(Assignment.user_id == query.user_id)
            if query.project_id:
                statement = statement.where(Assignment.project_id == query.project_id)
            rows: list[tuple[str, str, str, str | None]] = [
                (a.user_id, a.project_id, a.role_id, None) for a in session.scalars(statement)]
            if query.effective:
                rows = sorted(
                    (user, project, role, prior)
                    for user, project in {(user, project) for user, project, _, _ in rows}
                    for role, prior in store.implied_with_prior(
                        session, store.assigned_role_ids(session, user, project)).items())
            if query.role_id:
                rows = [row for row in rows if row[2] == query.role_id]
            if not query.include_names:
                return [RoleAssignment(user, project, role, prior_role_id=prior)
                        for user, project, role, prior in rows]
            return [RoleAssignment(user, project, role, names=True,
                                   user_name=_name_of(session, User, user),
                                   project_name=_name_of(session, Project, project),
                                   role_name=_name_of(session, Role, role),
                                   prior_role_id=prior)
                    for user, project, role, prior in rows]

    # --- what every change does ----------------------------------------------------
    def _event(self, ctx: RequestContext | None, session: Session, event_type: str,
               resource_type: str, resource_id: str, **payload) -> None:
        self.notifier.notify(ctx, event_type, resource_type=resource_type,
                             resource_id=resource_id, payload=payload, session=session)

    def _revoke_later_use(self, session: Session, **fields) -> None:
        """Tokens issued until now for these fields stop working."""
        store.add_revocation(session, RevocationEvent(issued_before=time.time(), **fields),
                             self.token_lifetime)


def _lookup(session: Session, model, key: str, label: str):
    found = store.get_by_id_or_name(session, model, key)
    if found is None:
        raise NotFound(f"Could not find {label}: {key}.")
    return found


def _grant_parts(session: Session, project_key: str, user_key: str,
                 role_key: str) -> tuple[Project, User, Role]:
    return (_lookup(session, Project, project_key, "project"),
            _lookup(session, User, user_key, "user"), _lookup(session, Role, role_key, "role"))


def _name_of(session: Session, model, key: str) -> str | None:
    found = session.get(model, key)
    return found.name if found is not None else None


def _check_new_resource(spec: dict, key: str) -> None:
    """What Keystone checks of a new project, user or role: a name of at most
    64 characters, and no domain but the one there is."""
    if not isinstance(spec.get("name"), str) or not spec["name"]:
        raise BadRequest(f"The request body must hold {key}.name.")
    if len(spec["name"]) > 64:
        raise BadRequest(f"{key}.name is longer than 64 characters.")
    if spec.get("domain_id") not in (None, DEFAULT_DOMAIN_ID):
        raise BadRequest("PocketStack has one domain: 'default'.")


def _enabled(spec: dict) -> bool:
    """`enabled` of a body, true when absent; a boolean or one of the words
    shared.strutils accepts, else 400."""
    return bool_param("enabled", spec.get("enabled", True))


def _flush_unique(session: Session, message: str) -> None:
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(message) from None
