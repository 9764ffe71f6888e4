"""The identity service process: `pocketstack-identity --state-dir DIR`."""
from __future__ import annotations

from flask import Flask

from identity import store
from identity.api import admin, application_credentials, auth, ec2_credentials
from identity.api.common import Runtime
from identity.bootstrap import bootstrap
from identity.config import schema
from identity.models import Base
from identity.policies import RULES
from shared.api import create_app
from shared.auth import TokenValidator
from shared.db import create_all, transaction
from shared.events_api import EVENT_RULES, EventSource, install_events
from shared.paths import StateLayout
from shared.service import Service, ServiceDefinition, build_service

PUBLIC = {("GET", "/"), ("GET", "/v3"), ("GET", "/v3/"), ("POST", "/v3/auth/tokens")}


class DatabaseRevocations:
    """Identity checks revocations in its own database, on every request."""

    def __init__(self, service: Service):
        self._service = service

    def is_revoked(self, token) -> bool:
        with transaction(self._service.sessions) as session:
            return any(event.revokes(token) for event in store.revocation_events(session))


def make_app(conf, state: StateLayout) -> Flask:
    service = build_service("identity", conf, state, RULES + EVENT_RULES)
    create_all(service.extras["engine"], Base.metadata)
    validator = TokenValidator(service.codec, DatabaseRevocations(service),
                               conf.catalog.identity_url)
    app = create_app("identity", error_style="keystone", validator=validator,
                     is_public=lambda method, path: (method, path) in PUBLIC)
    Runtime.build(service).install(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(application_credentials.bp)
    app.register_blueprint(ec2_credentials.bp)
    install_events(app, EventSource(service.sessions, service.policy))
    return app


SERVICE = ServiceDefinition(
    name="identity",
    description="PocketStack identity (Keystone v3 subset)",
    schema=schema,
    make_app=make_app,
    prepare=bootstrap,
)


def main(argv: list[str] | None = None) -> None:
    SERVICE.main(argv)

if __name__ == "__main__":
    main()
