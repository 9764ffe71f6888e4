"""Identity's data access: the only module that queries identity's tables."""
from __future__ import annotations

import time
import uuid

import bcrypt
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from identity.models import (
    DEFAULT_DOMAIN_ID,
    ApplicationCredentialRevocation,
    Assignment,
    ImpliedRole,
    Project,
    Revocation,
    Role,
    User,
)
from shared.revocation import RevocationEvent


def new_id() -> str:
    return uuid.uuid4().hex


def hash_password(password: str, rounds: int) -> str:
    """bcrypt, salted; bcrypt only reads the first 72 bytes of a password."""
    return bcrypt.hashpw(password.encode()[:72], bcrypt.gensalt(rounds)).decode()


def password_matches(user: User, password: str) -> bool:
    return password_matches_hash(user.password_hash, password)


def password_matches_hash(password_hash: str | None, password: str) -> bool:
    """Whether `password` is the one `password_hash` was made from (also an
    application credential's secret)."""
    if not password_hash:
        return False
    return bcrypt.checkpw(password.encode()[:72], password_hash.encode())


def get_by_id_or_name(session: Session, model, key: str):
    """Keystone answers GET /v3/projects/{id}; names are looked up by the
    clients through ?name=, but operators type names too, so accept both."""
    found = session.get(model, key)
    if found is None:
        found = session.scalars(select(model).where(model.name == key)).first()
    return found


def find_user(session: Session, *, user_id=None, name=None, domain_id=DEFAULT_DOMAIN_ID):
    if user_id:
        return session.get(User, user_id)
    return session.scalars(select(User).where(User.name == name,
                                              User.domain_id == domain_id)).first()


def find_project(session: Session, *, project_id=None, name=None, domain_id=DEFAULT_DOMAIN_ID):
    if project_id:
        return session.get(Project, project_id)
    return session.scalars(select(Project).where(Project.name == name,
                                                 Project.domain_id == domain_id)).first()


def assigned_role_ids(session: Session, user_id: str, project_id: str) -> set[str]:
    rows = session.scalars(select(Assignment.role_id).where(
        Assignment.user_id == user_id, Assignment.project_id == project_id))
    return set(rows)


def with_implied(session: Session, role_ids: set[str]) -> set[str]:
    """Follow role implications transitively (admin -> member -> reader)."""
    implications: dict[str, set[str]] = {}
    for rule in session.scalars(select(ImpliedRole)):
        implications.setdefault(rule.prior_role_id, set()).add(rule.implied_role_id)
    result, pending = set(role_ids), list(role_ids)
    while pending:
        for implied in implications.get(pending.pop(), ()):
            if implied not in result:
                result.add(implied)
                pending.append(implied)
    return result


def implied_with_prior(session: Session, role_ids: set[str]) -> dict[str, str | None]:
    """Like with_implied, and for each role the role that implied it (None
    for the roles given): Keystone shows it in an effective assignment's
    links.prior_role. Breadth first, so each implied role keeps its nearest prior."""
    implications: dict[str, set[str]] = {}
    for rule in session.scalars(select(ImpliedRole)):
        implications.setdefault(rule.prior_role_id, set()).add(rule.implied_role_id)
    prior: dict[str, str | None] = dict.fromkeys(sorted(role_ids))
    pending = list(prior)
    while pending:
        role = pending.pop(0)
        for implied in sorted(implications.get(role, ())):
            if implied not in prior:
                prior[implied] = role
                pending.append(implied)
    return prior


def effective_roles(session: Session, user_id: str, project_id: str) -> list[Role]:
    ids = with_implied(session, assigned_role_ids(session, user_id, project_id))
    if not ids:
        return []
    return list(session.scalars(select(Role).where(Role.id.in_(ids)).order_by(Role.name)))


def create_user(session: Session, name: str, password: str | None, rounds: int,
                default_project_id: str | None = None, email: str | None = None,
                description: str = "", enabled: bool = True, user_id: str | None = None) -> User:
    user = User(id=user_id or new_id(), name=name, domain_id=DEFAULT_DOMAIN_ID,
                password_hash=hash_password(password, rounds) if password else None,
                default_project_id=default_project_id, email=email,
                description=description, enabled=enabled)
    session.add(user)
    return user


def grant(session: Session, user_id: str, project_id: str, role_id: str) -> None:
    if session.get(Assignment, (user_id, project_id, role_id)) is None:
        session.add(Assignment(user_id=user_id, project_id=project_id, role_id=role_id))


def revoke_grant(session: Session, user_id: str, project_id: str, role_id: str) -> bool:
    """False if the user did not have the role there."""
    assignment = session.get(Assignment, (user_id, project_id, role_id))
    if assignment is None:
        return False
    session.delete(assignment)
    return True


def add_revocation(session: Session, event: RevocationEvent, token_lifetime: float) -> None:
    expires_at = event.issued_before + token_lifetime
    if event.application_credential_id:
        session.add(ApplicationCredentialRevocation(
            application_credential_id=event.application_credential_id,
            issued_before=event.issued_before, expires_at=expires_at))
        return
    session.add(Revocation(issued_before=event.issued_before, audit_id=event.audit_id,
                           user_id=event.user_id, project_id=event.project_id,
                           expires_at=expires_at))


def revocation_events(session: Session) -> list[RevocationEvent]:
    now = time.time()
    session.execute(delete(Revocation).where(Revocation.expires_at < now))
    session.execute(delete(ApplicationCredentialRevocation).where(
        ApplicationCredentialRevocation.expires_at < now))
    events = [RevocationEvent(issued_before=row.issued_before, audit_id=row.audit_id,
                              user_id=row.user_id, project_id=row.project_id)
              for row in session.scalars(select(Revocation))]
    events += [RevocationEvent(issued_before=row.issued_before,
                               application_credential_id=row.application_credential_id)
               for row in session.scalars(select(ApplicationCredentialRevocation))]
    return events
