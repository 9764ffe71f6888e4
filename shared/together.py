"""Independent calls made at once: each in a thread of its own, carrying the
ids of the request that makes them (shared.request_ids), their results in
the order of the calls.

Where a handler or a flow needs several answers from another service that
do not depend on each other (a server's networks, subnets and floating IPs
once its ports are known), it waits for one round trip instead of one after
another; the callee's threads serve them side by side.
"""
from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

from shared.request_ids import carried


def at_once(*calls: Callable[[], Any]) -> list[Any]:
    """The result of each call, in order (the first runs in this thread).
    Every call runs to its end; if some raised, the first of them (in the
    order given) is raised."""
    if len(calls) <= 1:
        return [call() for call in calls]
    first, *others = calls
    with ThreadPoolExecutor(len(others), thread_name_prefix="at-once") as pool:
        futures = [pool.submit(carried(call)) for call in others]
        try:
            result = first()  # in this thread, while the others run in theirs
        finally:
            wait(futures)
    return [result, *(future.result() for future in futures)]
