"""The imaged-api process: `python -m imaged.app --state-dir DIR`.

Glance v2-compatible image service: image records, data upload and download,
sharing, tags, schemas and events. The parent process checks the config and
migrates the database once; gunicorn then forks the workers, and each builds
its own app (database engine, stores, policy) in make_app.
"""
from __future__ import annotations

import argparse

from flask import Flask

from imaged.api.data import data_blueprint
from imaged.api.errors import negotiate_error_bodies
from imaged.api.images import images_blueprint
from imaged.api.imports import imports_blueprint
from imaged.api.tasks import tasks_blueprint
from imaged.api.members import members_blueprint
from imaged.api.schemas import schemas_blueprint
from imaged.api.tags import tags_blueprint
from imaged.api.versions import versions_blueprint
from imaged.config import api_schema
from imaged.db.migrate import upgrade
from imaged.metadefs.api import metadefs_blueprint
from imaged.metadefs.policies import RULES as METADEF_RULES
from imaged.metadefs.seed import load_standard_definitions
from imaged.policies import RULES
from imaged.protections import ProtectionsFileError
from imaged.runtime import Imaged, load_protections
from shared import logs
from shared.api import create_app
from shared.db import make_engine, session_factory
from shared.events_api import EVENT_RULES, events_blueprint
from shared.paths import StateLayout, resolve_state_dir
from shared.serve import serve
from shared.service import build_service, database_url, load_config_or_exit, remote_validator

NAME = "imaged"
PUBLIC = {("GET", "/"), ("HEAD", "/"), ("GET", "/versions"), ("HEAD", "/versions")}


def make_app(conf, state: StateLayout) -> Flask:
    service = build_service(NAME, conf, state, RULES + METADEF_RULES + EVENT_RULES)
    imaged = Imaged.build(service)
    app = create_app(NAME, error_style="glance", validator=remote_validator(service),
                     is_public=lambda method, path: (method, path) in PUBLIC)
    for blueprint in (versions_blueprint(), images_blueprint(imaged), data_blueprint(imaged),
                      tags_blueprint(imaged), members_blueprint(imaged),
                      schemas_blueprint(imaged),
                      imports_blueprint(imaged), tasks_blueprint(imaged),
                      metadefs_blueprint(service.sessions, service.policy, service.notifier),
                      events_blueprint(service.sessions, service.policy,
                                       more_events=_registry_events(conf))):
        app.register_blueprint(blueprint)
    negotiate_error_bodies(app)
    app.extensions["imaged"] = imaged
    return app


def _registry_events(conf):
    """In registry mode the image events are recorded by imaged-registry."""
    if conf.data.data_api != "registry":
        return None
    from imaged.registry.client import registry_events
    from shared.clients import ServiceSession
    return registry_events(conf.data.registry_url, ServiceSession.from_config(conf))


def migrate(conf, state: StateLayout) -> None:
    """Bring the database to the current schema and load the standard
    metadata definitions (once, before the workers)."""
    engine = make_engine(database_url(conf, state, NAME))
    try:
        upgrade(engine)
        load_standard_definitions(session_factory(engine))
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="PocketStack imaged-api (Glance v2 subset)")
    parser.add_argument("--state-dir", help="state directory (default: $POCKETSTACK_STATE_DIR "
                                            "or /var/lib/pocketstack)")
    args = parser.parse_args(argv)
    state = StateLayout(resolve_state_dir(args.state_dir)).create()
    conf = load_config_or_exit(api_schema(), state)
    try:
        load_protections(conf, state.etc)  # a bad rules file stops imaged here
    except ProtectionsFileError as exc:
        raise SystemExit(f"error: imaged-api.conf: [image] property_protection_file: {exc}")
    logs.configure(conf.logging.debug)
    migrate(conf, state)
    serve(lambda: make_app(conf, state), host=conf.api.bind_host, port=conf.api.bind_port,
          workers=conf.api.workers, threads=conf.api.threads, name=NAME)


if __name__ == "__main__":
    main()
