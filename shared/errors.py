"""HTTP errors in the body format of the API that raises them.

Each OpenStack service has its own error body; the real clients read the
status code and show the message. A service picks its style when it builds
its app (see shared.api.create_app):

    keystone   {"error": {"code": 404, "title": "Not Found", "message": "..."}}
    nova       {"itemNotFound": {"code": 404, "message": "..."}}   (also Cinder)
    glance     {"code": "404 Not Found", "title": "Not Found", "message": "..."}
"""
from __future__ import annotations

from http import HTTPStatus

NOVA_FAULT_NAMES = {
    400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound",
    405: "badMethod", 409: "conflictingRequest", 413: "overLimit",
    415: "badMediaType", 501: "notImplemented", 503: "serviceUnavailable",
}


class ApiError(Exception):
    """Raise anywhere in a request to answer with this status and message."""

    status = 500

    def __init__(self, message: str, status: int | None = None, headers: dict | None = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.headers = headers or {}


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class MethodNotAllowed(ApiError):
    status = 405


class Conflict(ApiError):
    status = 409


class RequestEntityTooLarge(ApiError):
    status = 413


class UnsupportedMediaType(ApiError):
    status = 415


class RangeNotSatisfiable(ApiError):
    status = 416


def title_of(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def error_body(style: str, status: int, message: str) -> dict:
    title = title_of(status)
    if style == "nova":
        name = NOVA_FAULT_NAMES.get(status, "computeFault")
        return {name: {"code": status, "message": message}}
    if style == "glance":
        return {"code": f"{status} {title}", "title": title, "message": message}
    return {"error": {"code": status, "title": title, "message": message}}


def error_schema(style: str) -> dict:
    """The JSON schema of error_body(style, ...): what every error answer of
    a service of that style holds (its OpenAPI document says so)."""
    text, integer = {"type": "string"}, {"type": "integer"}
    if style == "nova":
        fault = {"type": "object", "required": ["code", "message"],
                 "properties": {"code": integer, "message": text}}
        return {"type": "object", "minProperties": 1, "maxProperties": 1,
                "additionalProperties": fault}
    if style == "glance":
        return {"type": "object", "required": ["code", "title", "message"],
                "properties": {"code": text, "title": text, "message": text}}
    return {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["code", "title", "message"],
        "properties": {"code": integer, "title": text, "message": text}}}}
