"""Identity's tables: projects, users, roles, who has which role where,
which role implies which, revoked tokens, application credentials and
credentials (EC2 access keys)."""
from __future__ import annotations

from sqlalchemy import Boolean, Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

DEFAULT_DOMAIN_ID = "default"
DEFAULT_DOMAIN_NAME = "Default"


class Base(DeclarativeBase):
    pass


class Project(Base):
    __tablename__ = "projects"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    domain_id: Mapped[str] = mapped_column(String(64), default=DEFAULT_DOMAIN_ID)
    description: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    __table_args__ = (UniqueConstraint("domain_id", "name"),)


class User(Base):
    __tablename__ = "users"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    domain_id: Mapped[str] = mapped_column(String(64), default=DEFAULT_DOMAIN_ID)
    password_hash: Mapped[str | None] = mapped_column(String(128))
    default_project_id: Mapped[str | None] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    __table_args__ = (UniqueConstraint("domain_id", "name"),)


class Role(Base):
    __tablename__ = "roles"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")


class ImpliedRole(Base):
    """prior_role implies implied_role (admin implies member implies reader)."""
    __tablename__ = "implied_roles"
    prior_role_id: Mapped[str] = mapped_column(ForeignKey("roles.id", ondelete="CASCADE"),
                                               primary_key=True)
    implied_role_id: Mapped[str] = mapped_column(ForeignKey("roles.id", ondelete="CASCADE"),
                                                 primary_key=True)


class Assignment(Base):
    __tablename__ = "assignments"
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"),
                                            primary_key=True)
    role_id: Mapped[str] = mapped_column(ForeignKey("roles.id", ondelete="CASCADE"),
                                         primary_key=True)


class Revocation(Base):
    __tablename__ = "revocations"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    issued_before: Mapped[float] = mapped_column(Float)
    audit_id: Mapped[str | None] = mapped_column(String(64), index=True)
    user_id: Mapped[str | None] = mapped_column(String(64))
    project_id: Mapped[str | None] = mapped_column(String(64))
    # Once every token it could revoke has expired, the event can go.
    expires_at: Mapped[float] = mapped_column(Float, index=True)


class ApplicationCredential(Base):
    """A secret a user made for an application: it logs in as the user, to
    one project, with some of the user's roles there (Keystone's
    application_credential table). Only the secret's hash is kept."""
    __tablename__ = "application_credentials"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    secret_hash: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    expires_at: Mapped[float | None] = mapped_column(Float)
    # None when the request left it out, as Keystone stores it; None and
    # False both mean restricted.
    unrestricted: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    __table_args__ = (UniqueConstraint("user_id", "name"),)


class ApplicationCredentialRole(Base):
    __tablename__ = "application_credential_roles"
    application_credential_id: Mapped[str] = mapped_column(
        ForeignKey("application_credentials.id", ondelete="CASCADE"), primary_key=True)
    role_id: Mapped[str] = mapped_column(ForeignKey("roles.id", ondelete="CASCADE"),
                                         primary_key=True)


class ApplicationCredentialRevocation(Base):
    """Tokens made with this application credential before issued_before
    stop working (it was deleted). Beside `revocations`, whose columns name
    no credential, so an existing database needs no migration."""
    __tablename__ = "application_credential_revocations"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    application_credential_id: Mapped[str] = mapped_column(String(64))
    issued_before: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float, index=True)


class Credential(Base):
    """Keystone's credential table: a typed blob owned by a user. The one
    type made here is "ec2", whose id is the SHA-256 of its access key and
    whose blob is the JSON {"access", "secret", "trust_id"}."""
    __tablename__ = "credentials"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[str | None] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(255))
    blob: Mapped[str] = mapped_column(Text)
