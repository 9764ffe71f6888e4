"""One request id across services, and in the threads a request starts.

Every request a service serves gets its own id (`req-<uuid>`, sent back in
x-openstack-request-id). When one service calls another for that request,
it sends the id on as OpenStack's global request id (the header
X-OpenStack-Request-ID on the outgoing call, as keystoneauth does for
oslo.context): the callee keeps its own id for its own lines and logs the
caller's beside it, `[req-own global=req-caller]`. The global id travels
on unchanged (a call made while serving a call forwards the first caller's
id), so grepping the logs of every service for it finds one user action.

A value in the header that is not `req-` + a UUID is ignored (a client
cannot write arbitrary text into the logs), as oslo.middleware does.

Work a request hands to a thread (a launch, an import) runs after the
response, where Flask no longer knows the request: `carried(fn)` captures
the ids when the work is handed over and sets them again around `fn`, so
its log lines and its own calls to other services carry the same ids.
"""
from __future__ import annotations

import contextvars
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from shared.serving import current_service, serve_as

HEADER = "X-OpenStack-Request-ID"
_FORM = re.compile(r"req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

T = TypeVar("T")


@dataclass(frozen=True)
class RequestIds:
    """The ids a log line and an outgoing call carry."""
    request_id: str
    global_request_id: str | None = None

    @property
    def outgoing(self) -> str:
        """The global id to send on: the first caller's, else our own."""
        return self.global_request_id or self.request_id

    def __str__(self) -> str:
        if self.global_request_id:
            return f"{self.request_id} global={self.global_request_id}"
        return self.request_id


def new_request_id() -> str:
    return f"req-{uuid.uuid4()}"


def valid_global_id(value: str | None) -> str | None:
    """The header's value if it has the form of a request id, else None."""
    if value and _FORM.fullmatch(value.strip().lower()):
        return value.strip().lower()
    return None


# The ids of the work running outside a Flask request (in a thread a request
# started, or in a daemon's pass); None for work no request asked for.
_outside_request: contextvars.ContextVar[RequestIds | None] = \
    contextvars.ContextVar("request_ids", default=None)


def current() -> RequestIds | None:
    """The ids of the request being served, or of the work being done for one."""
    from flask import g, has_request_context
    if has_request_context():
        context = g.get("context")
        if context is not None:
            return RequestIds(context.request_id, context.global_request_id)
    return _outside_request.get()


@contextmanager
def acting_for(ids: RequestIds | None) -> Iterator[None]:
    """Log (and call other services) with these ids inside the block."""
    token = _outside_request.set(ids)
    try:
        yield
    finally:
        _outside_request.reset(token)


def carried(work: Callable[..., T]) -> Callable[..., T]:
    """`work`, to run in another thread with the ids of the request that
    hands it over now: `pool.submit(carried(fn))`, `Thread(target=carried(fn))`."""
    ids = current()
    service = current_service()  # for the log file, in a process of several services

    def run(*args, **kwargs) -> T:
        serve_as(service)
        with acting_for(ids):
            return work(*args, **kwargs)
    return run
