"""Logging with the request id on every line.

Every response carries x-openstack-request-id; the same id is printed on
each log line written while serving that request, and on the lines of the
work the request handed to a thread, so a student can follow one API call
through a service's log. A request made by another service for a user's
action also shows the global id of that action
(`[req-own global=req-first]`: see shared.request_ids), so the action can be
followed through every service's log. A line no request asked for shows
`[-]`.
"""
from __future__ import annotations

import logging
import sys

from shared import request_ids

FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s [%(request_id)s] %(message)s"


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        ids = request_ids.current()
        record.request_id = str(ids) if ids else "-"
        return True


def configure(debug: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    for noisy in ("urllib3", "oslo_policy", "stevedore", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
