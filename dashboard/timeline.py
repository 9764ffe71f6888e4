"""The live timeline: server-sent events.

GET /timeline/stream keeps the connection open and, every
events_poll_interval, reads the new events of every service (GET
/pocketstack/v1/events, with the user's token, so a member sees their
project's events only) and sends each one as an SSE message. The browser's
EventSource adds them to the page as they come: a class watches a launch
step by step (create.start, the image cache, the disks, the domain started,
create.end).
"""
from __future__ import annotations

import json
import time
from collections.abc import Iterator

from flask import Blueprint, Response, request, stream_with_context

from dashboard.cloud import Cloud, CloudError
from dashboard.web import cloud, conf, login_required

bp = Blueprint("timeline", __name__)
# The stream ends after this long; the browser's EventSource reconnects by
# itself (with Last-Event-ID), which frees the worker's thread meanwhile.
STREAM_SECONDS = 300
KEEPALIVE_SECONDS = 15


@bp.get("/timeline/stream")
@login_required
def stream():
    user_cloud = cloud()
    since = request.args.get("since") or None
    last_seen = request.headers.get("Last-Event-ID") or None
    interval = conf().dashboard.events_poll_interval
    return Response(stream_with_context(_events(user_cloud, since, last_seen, interval)),
                    mimetype="text/event-stream",
                    headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def _events(user_cloud: Cloud, since: str | None, last_seen: str | None,
            interval: float) -> Iterator[str]:
    """Each new event once, oldest first. The events API's `since` is
    inclusive, so the ids already sent at the newest time are remembered."""
    sent: set[str] = set()
    if last_seen:
        since, _, last_id = last_seen.partition(" ")
        sent.add(last_id)
    deadline = time.monotonic() + STREAM_SECONDS
    quiet_since = time.monotonic()
    yield "retry: 2000\n\n"
    while time.monotonic() < deadline:
        try:
            events = user_cloud.events(since)
        except CloudError:
            events = []
        for event in events:
            if event["id"] in sent:
                continue
            sent.add(event["id"])
            since = event["timestamp"]
            quiet_since = time.monotonic()
            yield (f"id: {since} {event['id']}\n"
                   f"data: {json.dumps(_shown(event))}\n\n")
        if time.monotonic() - quiet_since > KEEPALIVE_SECONDS:
            quiet_since = time.monotonic()
            yield ": still here\n\n"
        time.sleep(interval)


def _shown(event: dict) -> dict:
    """The fields the page shows (the payload can be large)."""
    return {"id": event["id"], "type": event["event_type"], "time": event["timestamp"],
            "publisher": event["publisher"], "resource_type": event.get("resource_type"),
            "resource_id": event.get("resource_id"),
            "request_id": event.get("request_id")}
