"""imaged-registry: the image metadata behind an authenticated internal API.

One endpoint, POST /v1/rpc {"method": ..., "args": [...], "kwargs": {...}},
calls that method of the SQL ImageRepository and answers {"result": ...} or
{"error": {"type": ..., "args": [...]}}. Only the repository's own methods
can be called, and only by a service or an admin (policy registry:call).
GET /pocketstack/v1/events serves the image events recorded here.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass

from flask import Blueprint, Flask, current_app, jsonify

from imaged.db.migrate import upgrade
from imaged.db.repository import DuplicateImage, DuplicateMember, ImageRepository, StaleImage
from imaged.db.sql import SqlImageRepository
from imaged.registry.codec import decode, encode, encode_error
from imaged.registry.config import schema
from shared.api import context, create_app, json_body
from shared.db import make_engine
from shared.errors import BadRequest
from shared.events import Notifier
from shared.events_api import EVENT_RULES, EventSource, install_events
from shared.paths import StateLayout
from shared.policy import PolicyEnforcer, RuleDefault
from shared.service import ServiceDefinition, build_service, database_url, remote_validator

NAME = "imaged-registry"
DATABASE_NAME = "imaged-registry"
METHODS = {name for name, member in inspect.getmembers(ImageRepository)
           if getattr(member, "__isabstractmethod__", False)}
RULES = [RuleDefault("registry:call", "rule:service_or_admin",
                     "Call the image registry (imaged-api does, with its service token).")]
PUBLIC = {("GET", "/")}


EXTENSION = "imaged_registry"

bp = Blueprint("registry", __name__)


@dataclass
class Registry:
    """What the registry's handlers work with (in app.extensions)."""
    repository: SqlImageRepository
    policy: PolicyEnforcer


def registry() -> Registry:
    return current_app.extensions[EXTENSION]


@bp.get("/")
def root():
    return jsonify({"service": NAME, "methods": sorted(METHODS)})


@bp.post("/v1/rpc")
def call():
    registry().policy.authorize("registry:call", {}, context())
    body = json_body()
    method = body.get("method")
    if method not in METHODS:
        raise BadRequest(f"Unknown registry method {method!r}.")
    try:
        args = [decode(arg) for arg in body.get("args", [])]
        kwargs = {key: decode(value) for key, value in body.get("kwargs", {}).items()}
    except (TypeError, ValueError) as exc:
        raise BadRequest(f"Malformed arguments: {exc}") from None
    try:
        result = getattr(registry().repository, method)(*args, **kwargs)
    except (StaleImage, DuplicateImage, DuplicateMember) as exc:
        return jsonify({"error": encode_error(exc)})
    return jsonify({"result": encode(result)})


def make_app(conf, state: StateLayout) -> Flask:
    service = build_service(NAME, conf, state, RULES + EVENT_RULES)
    app = create_app(NAME, error_style="glance", validator=remote_validator(service),
                     is_public=lambda method, path: (method, path) in PUBLIC)
    # The events describe what imaged-api did; the registry only keeps them.
    app.extensions[EXTENSION] = Registry(
        SqlImageRepository(service.sessions, Notifier("imaged", service.sessions)),
        service.policy)
    app.register_blueprint(bp)
    install_events(app, EventSource(service.sessions, service.policy))
    return app


def migrate(conf, state: StateLayout) -> None:
    engine = make_engine(database_url(conf, state, DATABASE_NAME))
    try:
        upgrade(engine)
    finally:
        engine.dispose()


SERVICE = ServiceDefinition(
    name=NAME,
    description="PocketStack imaged-registry",
    schema=schema,
    make_app=make_app,
    prepare=migrate,
)


def main(argv: list[str] | None = None) -> None:
    SERVICE.main(argv)

if __name__ == "__main__":
    main()
