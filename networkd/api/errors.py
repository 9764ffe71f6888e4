"""Every error in Neutron's body: {"NeutronError": {"type", "message",
"detail"}}. networkd's own errors (networkd.errors) carry their type; the
common ones of the shared layer (a bad token, a bad JSON body) and
werkzeug's (an unknown URL, a wrong method) are named as webob names
them in Neutron (HTTPUnauthorized, HTTPNotFound, HTTPMethodNotAllowed)."""
from __future__ import annotations

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from networkd.errors import NeutronError
from shared.errors import ApiError
from shared.openapi import set_error_schema

LOG = logging.getLogger(__name__)

WEBOB_NAMES = {400: "HTTPBadRequest", 401: "HTTPUnauthorized", 403: "HTTPForbidden",
               404: "HTTPNotFound", 405: "HTTPMethodNotAllowed", 409: "HTTPConflict",
               413: "HTTPRequestEntityTooLarge", 415: "HTTPUnsupportedMediaType",
               500: "HTTPInternalServerError", 503: "HTTPServiceUnavailable"}


def neutron_response(status: int, error_type: str, message: str, headers: dict | None = None):
    response = jsonify({"NeutronError": {"type": error_type, "message": message,
                                         "detail": ""}})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Keystone uri="identity"'
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def neutron_error_schema() -> dict:
    """The JSON schema of neutron_response's bodies (networkd's OpenAPI document)."""
    text = {"type": "string"}
    return {"type": "object", "required": ["NeutronError"], "properties": {"NeutronError": {
        "type": "object", "required": ["type", "message", "detail"],
        "properties": {"type": text, "message": text, "detail": text}}}}


def install(app: Flask) -> None:
    """Replace the shared layer's error bodies with Neutron's."""
    set_error_schema(app, neutron_error_schema())

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        error_type = exc.type if isinstance(exc, NeutronError) else \
            WEBOB_NAMES.get(exc.status, "NeutronException")
        return neutron_response(exc.status, error_type, exc.message, exc.headers)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        status = exc.code or 500
        message = "The resource could not be found." if status == 404 else \
            (exc.description or exc.name)
        return neutron_response(status, WEBOB_NAMES.get(status, "HTTPError"), message)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        LOG.exception("unexpected error")
        return neutron_response(500, "HTTPInternalServerError",
                                "Request Failed: internal server error while processing "
                                "your request.")
