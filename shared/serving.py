"""Which service a thread works for, in a process that serves several.

`pocketstack up` runs every API service and the scrubber in one process by
default (pocketstack/together.py). Their code cannot tell from the process
which service it is, and shared code (the auth middleware, the clients)
logs for whichever service called it; yet each service keeps its own log
file. So the thread says it: the port dispatcher sets the service of each
request (shared.serve), a service's own background thread sets it once,
and work a request hands to a thread takes it along (request_ids.carried).
shared.logs routes each line by it. In a process of one service it is
simply never set.
"""
from __future__ import annotations

import contextvars

_serving: contextvars.ContextVar[str | None] = contextvars.ContextVar("serving",
                                                                      default=None)


def current_service() -> str | None:
    """The service this thread works for, if the process serves several."""
    return _serving.get()


def serve_as(service: str | None) -> None:
    """From now on, this thread works for `service` (until set again: a
    pool thread is set anew by each request it serves)."""
    _serving.set(service)
