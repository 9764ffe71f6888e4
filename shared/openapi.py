"""The OpenAPI 3.1 document of a service, made from the service itself.

Nothing here is written twice: the paths, their methods and their path
parameters come from the Flask app's URL map (the routes the service really
serves); which routes need a token comes from the same `is_public` the auth
middleware asks; every error answer is described by the schema of the
service's own error body (`shared.errors.error_schema`, or the one a service
that writes its own errors sets with `set_error_schema`); and where a handler
checks its body or renders its answer with a JSON schema of its own, the
handler says so with `describe(...)`, and that very schema is the one
published. A route nobody described takes any JSON body (its handler checks
it) and answers any JSON on success.

Every service serves its document at GET /openapi.json (public, like the
version documents: it tells the routes, never any data); Schemathesis reads
it to send every route valid and invalid input (tests/fuzz/).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from werkzeug.routing import AnyConverter, IntegerConverter, PathConverter, Rule

PATH = "/openapi.json"
OPENAPI_VERSION = "3.1.0"
IGNORED_METHODS = {"HEAD", "OPTIONS"}
BODY_METHODS = {"POST", "PUT", "PATCH"}
ERROR_SCHEMA_KEY = "openapi.error_schema"
ERROR_MEDIA_KEY = "openapi.error_media"
ANY_JSON: dict = {}   # the empty schema: any JSON value
Schema = dict | Callable[[], dict]
IMAGE_DATA = {"type": "string", "format": "binary"}   # a body of raw bytes


@dataclass(frozen=True)
class Description:
    """What a handler tells of itself beyond its route: the schema its body is
    checked against, the media type of that body, the schema of its answer,
    the status of a success, its query parameters (name -> schema). A schema
    may be a function that makes it, called when the document is built (in
    a request: a schema that depends on the service's config can ask it)."""

    request: Schema | None = None
    request_media: str = "application/json"
    response: Schema | None = None
    status: str = "2XX"
    query: dict[str, dict] = field(default_factory=dict)
    summary: str = ""
    no_body: bool = False


def describe(**kwargs: Any) -> Callable:
    """Decorate a view with its Description (see there for the arguments),
    e.g. `@describe(request=schemas.member_schema())`. The view is returned
    unchanged, so the decorator may stand above or below the route's."""
    description = Description(**kwargs)

    def mark(view: Callable) -> Callable:
        view.openapi = description  # type: ignore[attr-defined]
        return view
    return mark


def set_error_schema(app: Flask, schema: dict) -> None:
    """For a service that writes its error bodies itself (networkd's
    NeutronError): the schema of those bodies."""
    app.extensions[ERROR_SCHEMA_KEY] = schema


def add_error_media(app: Flask, media_type: str, schema: dict) -> None:
    """For a service that also writes its errors in another media type
    (imaged: plain text for clients that do not ask for JSON)."""
    app.extensions.setdefault(ERROR_MEDIA_KEY, {})[media_type] = schema


def install(app: Flask) -> None:
    """Serve GET /openapi.json, built at the first request (after every
    blueprint of the service is registered) and kept."""
    built: dict[str, dict] = {}

    def openapi_document():
        if "document" not in built:
            built["document"] = document(app)
        return app.json.response(built["document"])

    app.add_url_rule(PATH, "openapi_document", openapi_document, methods=["GET"])


def document(app: Flask) -> dict:
    """The OpenAPI document of every route `app` serves."""
    from shared.errors import error_schema
    error = app.extensions.get(ERROR_SCHEMA_KEY) or error_schema(app.config["ERROR_STYLE"])
    is_public = app.extensions.get("is_public", lambda method, path: False)
    error_media = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}},
                   **{media: {"schema": schema}
                      for media, schema in app.extensions.get(ERROR_MEDIA_KEY, {}).items()}}
    paths: dict[str, dict] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        described: Description = getattr(view, "openapi", None) or Description()
        item = paths.setdefault(openapi_path(rule), {})
        for method in sorted((rule.methods or set()) - IGNORED_METHODS):
            public = not rule.arguments and is_public(method, rule.rule)
            item[method.lower()] = operation(rule, method, described, public, error_media)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": f"PocketStack {app.name}", "version": "1",
                 "description": f"Every route {app.name} serves, generated from its code "
                                f"(shared/openapi.py)."},
        "paths": paths,
        "components": {
            "securitySchemes": {"token": {"type": "apiKey", "in": "header",
                                          "name": "X-Auth-Token",
                                          "description": "A token from identity."}},
            "schemas": {"Error": error},
        },
    }


def openapi_path(rule: Rule) -> str:
    """/v2/images/<image_id> -> /v2/images/{image_id}"""
    return re.sub(r"<(?:[^<>:]+:)?([^<>]+)>", r"{\1}", rule.rule)


def operation(rule: Rule, method: str, described: Description, public: bool,
              error_media: dict) -> dict:
    op: dict[str, Any] = {
        "operationId": f"{method.lower()}:{rule.endpoint}",
        "parameters": [*path_parameters(rule), *query_parameters(described.query)],
        "responses": responses(described, error_media),
    }
    if described.summary:
        op["summary"] = described.summary
    if not public:
        op["security"] = [{"token": []}]
    body = request_body(method, described)
    if body:
        op["requestBody"] = body
    return op


def path_parameters(rule: Rule) -> Iterable[dict]:
    converters = rule._converters  # werkzeug keeps each argument's converter here
    for name in sorted(rule.arguments):
        yield {"name": name, "in": "path", "required": True,
               "schema": converter_schema(converters.get(name))}


def converter_schema(converter) -> dict:
    """The values a route's converter matches, as a schema."""
    if isinstance(converter, AnyConverter):
        return {"type": "string", "enum": sorted(converter.items)}
    if isinstance(converter, IntegerConverter):
        return {"type": "integer", "minimum": 0}
    if isinstance(converter, PathConverter):
        return {"type": "string", "minLength": 1}
    return {"type": "string", "minLength": 1, "pattern": "^[^/]+$"}


def query_parameters(query: dict[str, dict]) -> Iterable[dict]:
    for name, schema in sorted(query.items()):
        yield {"name": name, "in": "query", "required": False, "schema": schema}


def made(schema: Schema) -> dict:
    return schema() if callable(schema) else schema


def request_body(method: str, described: Description) -> dict | None:
    if described.no_body or (method not in BODY_METHODS and described.request is None):
        return None
    schema = made(described.request) if described.request is not None else ANY_JSON
    return {"required": False, "content": {described.request_media: {"schema": schema}}}


def responses(described: Description, error_media: dict) -> dict:
    success: dict[str, Any] = {"description": "Done."}
    if described.response is not None:
        success["content"] = {"application/json": {"schema": made(described.response)}}
    return {
        described.status: success,
        "3XX": {"description": "Elsewhere (a redirect or not modified)."},
        "4XX": {"description": "The request cannot be served; the body says why.",
                "content": error_media},
    }
