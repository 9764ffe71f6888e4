"""The metadata service's HTTP side: one view for every path, as Nova's
MetadataRequestHandler (nova/api/metadata/handler.py).

    GET /            the EC2 versions, to anyone who reaches the port
    GET anything     the proxy's headers checked (400, 403: proxy_request.py),
                     the server found (404: none, deleted, or X-Tenant-ID is
                     not its project), then the path answered (404: no such
                     path), as text/plain or application/json
    networkd out of reach while gathering: 500 (Nova's "An unknown error
    has occurred"), with the reason in computed's log

Errors are plain text as Nova's (webob's) are: "404 Not Found", a blank
line, the explanation. Every answer is logged with the guest's address
(X-Forwarded-For) and the server it was for; the secret never is.
"""
from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, request

from computed.metadata.documents import (
    EC2_VERSIONS,
    JSON,
    LATEST,
    PathNotFound,
    normalize,
    render,
)
from computed.metadata.proxy_request import ProxyRequest, Refused, check
from computed.metadata.source import MetadataSource
from shared.api import start_request_context
from shared.flaskapp import FlaskApp

LOG = logging.getLogger(__name__)
TEXT_UTF8 = "text/plain; charset=UTF-8"
TITLES = {400: "Bad Request", 403: "Forbidden", 404: "Not Found",
          405: "Method Not Allowed", 500: "Internal Server Error"}
NOT_FOUND = "The resource could not be found."
UNKNOWN_ERROR = "An unknown error has occurred. Please try your request again."


def plain_error(status: int, explanation: str) -> Response:
    """An error as webob writes it in text/plain (what Nova's handler sends)."""
    body = f"{status} {TITLES[status]}\n\n{explanation}\n\n   "
    return Response(body, status=status, content_type=TEXT_UTF8)


def create_metadata_app(source: MetadataSource, secret: str) -> Flask:
    app = FlaskApp("computed-metadata")

    # The ids on this request's log lines, and on its calls to networkd.
    app.before_request(start_request_context)

    @app.route("/", defaults={"path": ""}, methods=["GET"])
    @app.route("/<path:path>", methods=["GET"])
    def answer(path: str) -> Response:
        if normalize(path) == "/":
            return Response(render(EC2_VERSIONS + [LATEST]), content_type=TEXT_UTF8)
        try:
            asked = check(request.headers.getlist, secret)
        except Refused as refused:
            LOG.warning("metadata request from %s refused: %s",
                        request.headers.get("X-Forwarded-For"), refused.explanation)
            return plain_error(refused.status, refused.explanation)
        g.asked = asked
        return _answer_for(source, asked, path)

    @app.errorhandler(405)
    def _method_not_allowed(_exc):
        return plain_error(405, "The method is not allowed for this resource.")

    @app.after_request
    def _log(response: Response) -> Response:
        asked: ProxyRequest | None = g.get("asked")
        LOG.info('metadata "%s %s" status=%s guest=%s instance=%s time=%.1fms',
                 request.method, request.path, response.status_code,
                 asked.forwarded_for if asked else request.headers.get("X-Forwarded-For"),
                 asked.instance_id if asked else "-",
                 (time.monotonic() - g.get("started", time.monotonic())) * 1000)
        return response

    return app


def _answer_for(source: MetadataSource, asked: ProxyRequest, path: str) -> Response:
    try:
        documents = source.documents(asked.instance_id)
    except Exception:
        LOG.exception("gathering the metadata of instance %s failed", asked.instance_id)
        return plain_error(500, UNKNOWN_ERROR)
    if documents is None:
        LOG.error("no metadata for instance %s: no such server (or deleted)",
                  asked.instance_id)
        return plain_error(404, NOT_FOUND)
    if documents.project_id != asked.tenant_id:
        LOG.warning("X-Tenant-ID %s is not the project of instance %s: not found",
                    asked.tenant_id, asked.instance_id)
        return plain_error(404, NOT_FOUND)
    try:
        found = documents.lookup(path)
    except PathNotFound:
        return plain_error(404, NOT_FOUND)
    content_type = found.content_type if found.content_type == JSON else TEXT_UTF8
    return Response(found.body, content_type=content_type)
