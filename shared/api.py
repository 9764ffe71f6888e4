"""The Flask app every service builds on: request ids, authentication,
error bodies in the service's own format, and the events API.

The API code of a service stays thin: parse the request, ask policy, call the
domain, render. Everything common to all requests happens here, once.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable

import orjson
from flask import Flask, g, jsonify, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException

from shared import openapi
from shared.auth import TokenValidator, authenticate
from shared.context import RequestContext
from shared.errors import ApiError, error_body
from shared.flaskapp import FlaskApp
from shared.request_ids import HEADER as REQUEST_ID_HEADER
from shared.request_ids import new_request_id, valid_global_id

LOG = logging.getLogger(__name__)


class FastJSONProvider(DefaultJSONProvider):
    """Flask's JSON, with response bodies encoded by orjson.

    Why: a page of 25 images is about 14 KB of JSON, which the standard
    library's encoder takes 0.1-0.2 ms to write, on every list request;
    orjson takes a tenth of that. Whatever orjson would write differently
    from Flask goes to Flask's own encoder: datetimes (which Flask writes as
    HTTP dates) and dataclasses through Flask's `default`, and anything
    orjson refuses (an integer beyond 64 bits) through the standard path."""

    sort_keys = False
    OPTIONS = (orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
               | orjson.OPT_NON_STR_KEYS | orjson.OPT_APPEND_NEWLINE)

    def response(self, *args, **kwargs):
        if self.compact is False or (self.compact is None and self._app.debug):
            return super().response(*args, **kwargs)  # indented, for people
        if args and kwargs:
            raise TypeError("jsonify() takes either positional or keyword arguments, not both")
        obj = kwargs or (args[0] if len(args) == 1 else list(args) if args else None)
        try:
            body = orjson.dumps(obj, default=self.default, option=self.OPTIONS)
        except TypeError:
            return super().response(*args, **kwargs)
        return self._app.response_class(body, mimetype=self.mimetype)


def start_request_context() -> None:
    """The request's start time and context in flask.g. Our own id goes back
    in the response's X-OpenStack-Request-ID; the same header on the request
    is the caller's (global) id, logged beside ours."""
    g.started = time.monotonic()
    g.context = RequestContext(
        request_id=new_request_id(),
        global_request_id=valid_global_id(request.headers.get(REQUEST_ID_HEADER)))


def create_app(name: str, *, error_style: str,
               validator: TokenValidator | Callable[[], TokenValidator],
               is_public: Callable[[str, str], bool]) -> Flask:
    """An app whose every request is authenticated unless is_public(method,
    path) says otherwise. `validator` may be a callable, for a service whose
    token validator needs the app to exist first. Every app serves its OpenAPI
    document at GET /openapi.json, without a token (shared.openapi)."""
    app = FlaskApp(name)
    app.config["ERROR_STYLE"] = error_style
    app.json = FastJSONProvider(app)

    def current_validator() -> TokenValidator:
        return validator if isinstance(validator, TokenValidator) else validator()

    @app.before_request
    def _start_request():
        start_request_context()
        if not (is_public(request.method, request.path) or request.path == openapi.PATH):
            authenticate(g.context, request.headers, current_validator())

    @app.after_request
    def _finish_request(response):
        context = g.get("context")
        if context is not None:
            response.headers[REQUEST_ID_HEADER] = context.request_id
        elapsed_ms = (time.monotonic() - g.get("started", time.monotonic())) * 1000
        LOG.info('"%s %s" status=%s len=%s time=%.1fms user=%s project=%s',
                 request.method, loggable(request.full_path.rstrip("?")), response.status_code,
                 response.calculate_content_length() if not response.is_streamed else "-",
                 elapsed_ms, context.user_name if context else None,
                 context.project_id if context else None)
        return response

    app.extensions["identity_url"] = lambda: current_validator().identity_url
    app.extensions["is_public"] = is_public
    openapi.install(app)

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return error_response(exc.status, exc.message, exc.headers)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        return error_response(exc.code or 500, exc.description or exc.name)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        LOG.exception("unexpected error")
        return error_response(500, "The server has either erred or is incapable of "
                                   "performing the requested operation.")

    return app


def loggable(text: str) -> str:
    """`text` with its control characters escaped: a URL's path arrives
    percent-decoded, and a newline in it must not start a forged log line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in text)


def error_response(status: int, message: str, headers: dict | None = None):
    from flask import current_app
    style = current_app.config.get("ERROR_STYLE", "keystone")
    response = jsonify(error_body(style, status, message))
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = f'Keystone uri="{www_authenticate_uri()}"'
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def www_authenticate_uri() -> str:
    """Keystone's v3 URL, as keystonemiddleware and Keystone name it in the
    WWW-Authenticate header of a 401 (clients go there for a token)."""
    from flask import current_app
    identity_url = current_app.extensions.get("identity_url", lambda: "")()
    return identity_url.rstrip("/") + "/v3" if identity_url else "identity"


def context() -> RequestContext:
    return g.context


def json_body() -> dict:
    """The request's JSON object, or 400 with a clear message."""
    from shared.errors import BadRequest
    body = request.get_json(silent=True, force=True)
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.")
    return body
