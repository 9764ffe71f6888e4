"""Logging with the request id on every line.

Every response carries x-openstack-request-id; the same id is printed on
each log line written while serving that request, so a student can follow
one API call through a service's log (and, through events, across services).
"""
from __future__ import annotations

import logging
import sys

FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s [%(request_id)s] %(message)s"


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id() or "-"
        return True


def current_request_id() -> str | None:
    try:
        from flask import g, has_request_context
        if has_request_context():
            context = g.get("context")
            return context.request_id if context else None
    except ImportError:  # pragma: no cover
        pass
    return None


def configure(debug: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    for noisy in ("urllib3", "oslo_policy", "stevedore", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
