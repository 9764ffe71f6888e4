"""EC2 credentials: what /v3/users/{user_id}/credentials/OS-EC2 and
/v3/credentials do, without HTTP.

An EC2 credential is an access key and a secret for a user on a project,
kept as Keystone keeps it: a row of the credential table of type "ec2",
whose id is the SHA-256 of the access key and whose blob is the JSON
{"access", "secret", "trust_id"}. Unlike a password, the secret is shown
again on every read (the S3/EC2 signature needs it at both ends), so it is
stored as it is, in identity's private database. Keystone answers for any
project that exists, whether or not the user has a role there; a token made
with an application credential may only touch its own project's keys, and a
restricted one may not make any. keystone/api/users.py is the reference.
"""
from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from identity.appcreds import check_unrestricted
from identity.models import Credential, Project, User
from shared.context import RequestContext
from shared.db import transaction
from shared.errors import Forbidden, NotFound, Unauthorized
from shared.events import Notifier
from shared.tokens import TokenData

EC2 = "ec2"
OTHER_PROJECT = ("You are not authorized to perform the requested action: EC2 credential "
                 "project does not match the project scope of the delegated token.")


@dataclass(frozen=True)
class Ec2Credential:
    """The OS-EC2 view of a credential row."""
    user_id: str
    tenant_id: str | None
    access: str
    secret: str
    trust_id: str | None

    @classmethod
    def of(cls, row: Credential) -> Ec2Credential:
        blob = json.loads(row.blob)
        return cls(user_id=row.user_id, tenant_id=row.project_id, access=blob.get("access"),
                   secret=blob.get("secret"), trust_id=blob.get("trust_id"))


def credential_id(access: str) -> str:
    """Keystone's id of an EC2 credential: the hex SHA-256 of its access key."""
    return hashlib.sha256(access.encode()).hexdigest()


def delegation_allows(caller: TokenData, project_id: str | None) -> bool:
    """A token made with an application credential reaches only the keys
    of its own project (Keystone's _check_delegation_for_ec2)."""
    return not caller.application_credential_id or project_id == caller.project_id


class Ec2Credentials:
    def __init__(self, sessions: sessionmaker, notifier: Notifier):
        self.sessions = sessions
        self.notifier = notifier

    def create(self, ctx: RequestContext, caller: TokenData, user_id: str,
               tenant_id) -> Ec2Credential:
        """A new access key and secret for the user on the project. 403 for
        a restricted application credential or, with any application
        credential, another project; 404 for an unknown user or project."""
        with transaction(self.sessions) as session:
            check_unrestricted(session, caller)
            _require_user(session, user_id)
            if not isinstance(tenant_id, str) or session.get(Project, tenant_id) is None:
                raise NotFound(f"Could not find project: {tenant_id}.")
            if not delegation_allows(caller, tenant_id):
                raise Forbidden(OTHER_PROJECT)
            access = uuid.uuid4().hex
            blob = {"access": access, "secret": uuid.uuid4().hex, "trust_id": None}
            row = Credential(id=credential_id(access), user_id=user_id,
                             project_id=tenant_id, type=EC2, blob=json.dumps(blob))
            session.add(row)
            self.notifier.notify(ctx, "identity.credential.created", resource_type="credential",
                                 resource_id=row.id, project_id=tenant_id,
                                 payload={"user_id": user_id, "type": EC2}, session=session)
            return Ec2Credential.of(row)

    def list_for_user(self, caller: TokenData, user_id: str) -> list[Ec2Credential]:
        """The user's EC2 credentials (those of the token's project only, for
        a token made with an application credential). 404 for an unknown
        user."""
        with transaction(self.sessions, write=False) as session:
            _require_user(session, user_id)
            rows = session.scalars(select(Credential).where(
                Credential.user_id == user_id, Credential.type == EC2).order_by(Credential.id))
            return [Ec2Credential.of(row) for row in rows
                    if delegation_allows(caller, row.project_id)]

    def owner_of(self, access: str) -> str:
        """The user whose key this is, for policy; 404 if no credential has
        this access key (Keystone looks it up before asking policy)."""
        with transaction(self.sessions, write=False) as session:
            return _lookup(session, access).user_id

    def get(self, caller: TokenData, user_id: str, access: str) -> Ec2Credential:
        """By access key. 404 for an unknown user or key, 401 for a
        credential that is not an EC2 one, 403 for another project's key
        with an application credential's token."""
        with transaction(self.sessions, write=False) as session:
            _require_user(session, user_id)
            row = _ec2_row(session, access)
            if not delegation_allows(caller, row.project_id):
                raise Forbidden(OTHER_PROJECT)
            return Ec2Credential.of(row)

    def delete(self, ctx: RequestContext, caller: TokenData, user_id: str, access: str) -> None:
        with transaction(self.sessions) as session:
            _require_user(session, user_id)
            row = _ec2_row(session, access)
            if not delegation_allows(caller, row.project_id):
                raise Forbidden(OTHER_PROJECT)
            session.delete(row)
            self.notifier.notify(ctx, "identity.credential.deleted", resource_type="credential",
                                 resource_id=row.id, project_id=row.project_id,
                                 payload={"user_id": row.user_id, "type": EC2}, session=session)

    # --- /v3/credentials: the same rows, as Keystone's credential API shows them ----------
    def list_credentials(self, user_id: str | None = None,
                         kind: str | None = None) -> list[Credential]:
        with transaction(self.sessions, write=False) as session:
            query = select(Credential).order_by(Credential.id)
            if user_id is not None:
                query = query.where(Credential.user_id == user_id)
            if kind is not None:
                query = query.where(Credential.type == kind)
            return list(session.scalars(query))

    def get_credential(self, key: str) -> Credential:
        with transaction(self.sessions, write=False) as session:
            row = session.get(Credential, key)
            if row is None:
                raise NotFound(f"Could not find credential: {key}.")
            return row


def _require_user(session, user_id: str) -> None:
    if session.get(User, user_id) is None:
        raise NotFound(f"Could not find user: {user_id}.")


def _lookup(session, access: str) -> Credential:
    key = credential_id(access)
    row = session.get(Credential, key)
    if row is None:
        raise NotFound(f"Could not find credential: {key}.")
    return row


def _ec2_row(session, access: str) -> Credential:
    row = _lookup(session, access)
    if row.type != EC2:
        raise Unauthorized("EC2 access key not found.")
    return row
