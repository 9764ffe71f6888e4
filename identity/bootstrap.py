"""First start of a stack: token keys, the identity database and its seed,
generated passwords, the credentials file and clouds.yaml.

Like `keystone-manage bootstrap`, it runs before the identity service starts
and can run again at every start: it only adds what is missing, and never
changes a password that was already generated.
"""
from __future__ import annotations

import configparser
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from sqlalchemy import select

from identity import store
from identity.models import Base, ImpliedRole, Project, Role
from shared.db import make_engine, session_factory, transaction
from shared.events import create_tables as create_event_tables
from shared.paths import StateLayout
from shared.secrets import generate_password, write_private_file
from shared.tokens import KeyRepository

DEFAULT_ROLES = ["admin", "member", "reader", "service"]
IMPLICATIONS = [("admin", "member"), ("member", "reader")]
# swift: the user the Swift proxy validates tokens as, when the stack runs
# Swift (seeded always, so that enabling Swift later needs no new seed).
SERVICE_USERS = ["imaged", "computed", "volumed", "networkd", "swift"]


@dataclass
class Credentials:
    """Generated passwords, by user name."""
    passwords: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load_or_create(cls, path: Path) -> Credentials:
        parser = configparser.ConfigParser(interpolation=None)
        if path.exists():
            parser.read(path)
        passwords = dict(parser["passwords"]) if parser.has_section("passwords") else {}
        changed = False
        for user in ["admin", "demo", *SERVICE_USERS]:
            if user not in passwords:
                passwords[user] = generate_password()
                changed = True
        credentials = cls(passwords)
        if changed or not path.exists():
            credentials.save(path)
        return credentials

    def save(self, path: Path) -> None:
        lines = ["# PocketStack credentials, generated at set-up. Keep this file private.",
                 "# Users admin (project admin, role admin) and demo (project demo, role",
                 "# member); the others are the services' own users (project service).",
                 "[passwords]"]
        lines += [f"{user} = {password}" for user, password in self.passwords.items()]
        write_private_file(path, "\n".join(lines) + "\n")


def write_clouds_yaml(path: Path, identity_url: str, credentials: Credentials,
                      region: str) -> None:
    def cloud(user: str) -> dict:
        return {"auth": {"auth_url": identity_url, "username": user,
                         "password": credentials.passwords[user], "project_name": user,
                         "user_domain_name": "Default", "project_domain_name": "Default"},
                "region_name": region, "identity_api_version": 3, "interface": "public"}
    document = {"clouds": {"pocketstack": cloud("demo"), "pocketstack-admin": cloud("admin")}}
    write_private_file(path, yaml.safe_dump(document, sort_keys=False))


def seed_identity(database_url: str, credentials: Credentials, rounds: int) -> None:
    engine = make_engine(database_url)
    Base.metadata.create_all(engine)
    # The events table too, now: identity's workers would otherwise all
    # create it at once on first start, and SQLite refuses the losers.
    create_event_tables(engine)
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        roles = {role.name: role for role in session.scalars(select(Role))}
        for name in DEFAULT_ROLES:
            if name not in roles:
                roles[name] = Role(id=store.new_id(), name=name,
                                   description=f"Keystone's default role {name}")
                session.add(roles[name])
        session.flush()
        for prior, implied in IMPLICATIONS:
            key = (roles[prior].id, roles[implied].id)
            if session.get(ImpliedRole, key) is None:
                session.add(ImpliedRole(prior_role_id=key[0], implied_role_id=key[1]))
        grants = [("admin", "admin", ["admin"]), ("demo", "demo", ["member"])]
        grants += [(user, "service", ["admin", "service"]) for user in SERVICE_USERS]
        for user_name, project_name, role_names in grants:
            project = store.find_project(session, name=project_name)
            if project is None:
                project = Project(id=store.new_id(), name=project_name,
                                  description=f"The {project_name} project")
                session.add(project)
                session.flush()
            user = store.find_user(session, name=user_name)
            if user is None:
                user = store.create_user(session, user_name, credentials.passwords[user_name],
                                         rounds, default_project_id=project.id)
                session.flush()
            for role_name in role_names:
                store.grant(session, user.id, project.id, roles[role_name].id)
    engine.dispose()


def bootstrap(state: StateLayout, identity_conf) -> Credentials:
    """Everything identity needs before its first start (idempotent)."""
    from shared.service import database_url
    state.create()
    KeyRepository(state.fernet_keys).ensure()
    credentials = Credentials.load_or_create(state.credentials)
    seed_identity(database_url(identity_conf, state, "identity"), credentials,
                  identity_conf.identity.password_hash_rounds)
    write_clouds_yaml(state.clouds_yaml, identity_conf.catalog.identity_url, credentials,
                      identity_conf.catalog.region)
    return credentials
