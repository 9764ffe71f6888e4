"""The networkd process: `python -m networkd.app --state-dir DIR`.

Before it serves anything, the main process creates the tables and makes
the first-start networks (seed.py: `public`, and `private` for the demo
project, like DevStack). Then gunicorn runs one worker process; the worker
builds the runtime, starts the agent thread that applies the database to
the data plane (agent.py) and keeps the metadata proxy listening
(networkd.metadata), and serves Neutron's v2.0 API.
"""
from __future__ import annotations

import logging

from flask import Flask

from networkd import runtime, seed
from networkd.api import (
    errors,
    extensions,
    floatingips,
    networks,
    ports,
    quotas,
    routers,
    security_groups,
    subnets,
    tags,
    versions,
)
from networkd.api.common import RUNTIME_KEY
from networkd.api.versions import PUBLIC_PATHS
from networkd.config import schema
from networkd.db.models import Base
from networkd.policies import RULES
from networkd.settings import settings_from
from shared.api import create_app
from shared.db import create_all, make_engine, session_factory
from shared.events import Notifier, create_tables
from shared.events_api import EVENT_RULES, EventSource, install_events
from shared.paths import StateLayout
from shared.policy import PolicyEnforcer
from shared.service import (
    ServiceDefinition,
    build_service,
    database_url,
    policy_file,
    remote_validator,
)

LOG = logging.getLogger(__name__)
NAME = "networkd"
BLUEPRINTS = [versions, extensions, networks, subnets, ports, quotas, tags, routers,
              floatingips, security_groups]


def prepare_database(engine) -> None:
    create_all(engine, Base.metadata)
    create_tables(engine)


def make_app(conf, state: StateLayout) -> Flask:
    service = build_service(NAME, conf, state, RULES + EVENT_RULES)
    prepare_database(service.extras["engine"])
    networkd = runtime.build(service)
    app = create_app(NAME, error_style="keystone", validator=remote_validator(service),
                     is_public=lambda method, path: method == "GET" and path in PUBLIC_PATHS)
    errors.install(app)
    for module in BLUEPRINTS:
        app.register_blueprint(module.bp)
    install_events(app, EventSource(service.sessions, service.policy))
    app.extensions[RUNTIME_KEY] = networkd
    networkd.start()
    return app


def prepare(conf, state: StateLayout) -> None:
    """Once, in the main process before the worker: the tables and the
    first-start networks."""
    engine = make_engine(database_url(conf, state, NAME))
    prepare_database(engine)
    sessions = session_factory(engine)
    seed.first_start(conf, sessions, Notifier(NAME, sessions),
                     PolicyEnforcer(RULES, policy_file(conf, state, NAME)),
                     settings_from(conf, runtime.dhcp_host_id(state)))
    engine.dispose()


SERVICE = ServiceDefinition(
    name=NAME,
    description="PocketStack networkd (Neutron v2.0 subset)",
    schema=schema,
    make_app=make_app,
    prepare=prepare,
)


def main(argv: list[str] | None = None) -> None:
    SERVICE.main(argv)


if __name__ == "__main__":
    main()
