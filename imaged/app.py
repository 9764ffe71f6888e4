"""The imaged-api process: `python -m imaged.app --state-dir DIR`.

Glance v2-compatible image service: image records, data upload and download,
sharing, tags, schemas and events. The parent process checks the config and
migrates the database once; gunicorn then forks the workers, and each builds
its own app (database engine, stores, policy) in make_app.
"""
from __future__ import annotations

from flask import Flask

from imaged.api import EXTENSION
from imaged.api import cache as cache_api
from imaged.api import data as data_api
from imaged.api import discovery as discovery_api
from imaged.api import images as images_api
from imaged.api import imports as imports_api
from imaged.api import locations as locations_api
from imaged.api import members as members_api
from imaged.api import metadefs as metadefs_api
from imaged.api import schemas as schemas_api
from imaged.api import stores as stores_api
from imaged.api import tags as tags_api
from imaged.api import tasks as tasks_api
from imaged.api import usage as usage_api
from imaged.api import versions as versions_api
from imaged.api.errors import negotiate_error_bodies
from imaged.cache import image_cache_of
from imaged.config import api_schema
from imaged.db.migrate import upgrade
from imaged.imports.flow import Importer, importer_of
from imaged.imports.recovery import recover
from imaged.metadefs.policies import RULES as METADEF_RULES
from imaged.metadefs.seed import load_standard_definitions
from imaged.policies import RULES
from imaged.protections import ProtectionsFileError
from imaged.runtime import Imaged, load_protections
from shared.api import create_app
from shared.db import make_engine, session_factory
from shared.events_api import EVENT_RULES, EventSource, install_events
from shared.paths import StateLayout
from shared.service import ServiceDefinition, build_service, database_url, remote_validator

NAME = "imaged"
PUBLIC = {("GET", "/"), ("HEAD", "/"), ("GET", "/versions"), ("HEAD", "/versions")}


def make_app(conf, state: StateLayout) -> Flask:
    service = build_service(NAME, conf, state, RULES + METADEF_RULES + EVENT_RULES)
    imaged = Imaged.build(service)
    app = create_app(NAME, error_style="glance", validator=remote_validator(service),
                     is_public=lambda method, path: (method, path) in PUBLIC)
    app.extensions[EXTENSION] = imaged
    importer_of(imaged)    # this worker's import flow, and
    image_cache_of(imaged)  # its image cache with the prefetcher thread
    for blueprint in (versions_api.bp, images_api.bp, data_api.bp, tags_api.bp, members_api.bp,
                      schemas_api.bp, imports_api.bp, tasks_api.bp, discovery_api.bp,
                      stores_api.bp, locations_api.bp, usage_api.bp, cache_api.bp,
                      metadefs_api.bp):
        app.register_blueprint(blueprint)
    install_events(app, EventSource(service.sessions, service.policy,
                                    more_events=_registry_events(conf)))
    negotiate_error_bodies(app)
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


def prepare(conf, state: StateLayout) -> None:
    """Once, before the workers: refuse a bad property protections file,
    migrate the database, load the standard metadefs, and put right what a
    previous imaged-api left half done when it stopped."""
    try:
        load_protections(conf, state.etc)
    except ProtectionsFileError as exc:
        raise SystemExit(f"error: imaged-api.conf: [image] property_protection_file: "
                         f"{exc}") from None
    migrate(conf, state)
    recover_interrupted_work(conf, state)


def recover_interrupted_work(conf, state: StateLayout) -> None:
    """imports/recovery.py, with an Imaged of its own that is closed again
    before gunicorn forks (a database connection must not cross a fork)."""
    service = build_service(NAME, conf, state, RULES + METADEF_RULES + EVENT_RULES)
    try:
        recover(Importer(Imaged.build(service)))
    finally:
        service.extras["engine"].dispose()


SERVICE = ServiceDefinition(
    name=NAME,
    description="PocketStack imaged-api (Glance v2 subset)",
    schema=api_schema,
    make_app=make_app,
    prepare=prepare,
)


def main(argv: list[str] | None = None) -> None:
    SERVICE.main(argv)


if __name__ == "__main__":
    main()
