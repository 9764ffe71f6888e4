"""First start of a stack: token keys and the identity database's seed.

Like `keystone-manage bootstrap`, it runs before the identity service serves
(identity's preparation: identity/app.py) and runs again at every start: it
only adds what is missing, and never changes a password that was already
generated. The passwords themselves, the credentials file and clouds.yaml
are `pocketstack up`'s (identity/credentials.py), which needs no database.
"""
from __future__ import annotations

from sqlalchemy import select

from identity import store
from identity.credentials import SERVICE_USERS, Credentials
from identity.models import Base, ImpliedRole, Project, Role
from shared.db import make_engine, session_factory, transaction
from shared.events import create_tables as create_event_tables
from shared.paths import StateLayout
from shared.tokens import KeyRepository

DEFAULT_ROLES = ["admin", "member", "reader", "service"]
IMPLICATIONS = [("admin", "member"), ("member", "reader")]


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


def bootstrap(conf, state: StateLayout) -> None:
    """Everything identity needs before it serves (idempotent): the token
    keys, and the seed with the passwords `up` generated."""
    from shared.service import database_url
    KeyRepository(state.fernet_keys).ensure()
    seed_identity(database_url(conf, state, "identity"),
                  Credentials.load_or_create(state.credentials),
                  conf.identity.password_hash_rounds)


__all__ = ["SERVICE_USERS", "Credentials", "bootstrap", "seed_identity"]
