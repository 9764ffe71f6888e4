"""GET /pocketstack/v1/events: read a service's events, with filters.

Query: type (exact, or a prefix ending in *), resource_id, since, until (ISO
8601 times) and limit. A reader sees the events of its project; an admin sees
every project's, or one project's with project_id=.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Blueprint, Flask, current_app, jsonify, request
from sqlalchemy.orm import sessionmaker

from shared.api import context
from shared.db import transaction
from shared.errors import BadRequest
from shared.events import parse_time, query_events
from shared.policy import PolicyEnforcer, RuleDefault

EVENT_RULES = [RuleDefault("events:list", "rule:admin_or_reader",
                           "List the events of a project.")]


EXTENSION = "pocketstack.events"


@dataclass(frozen=True)
class EventSource:
    """Where one service's events are read: its database and its policy.
    `more_events(query_args)` adds events kept elsewhere (imaged-api in
    registry mode: the image events are in imaged-registry's database)."""
    sessions: sessionmaker
    policy: PolicyEnforcer
    more_events: Callable[[dict], list[dict]] | None = None


bp = Blueprint("events", __name__)


def install_events(app: Flask, source: EventSource) -> None:
    """Serve GET /pocketstack/v1/events on `app` from `source`."""
    app.extensions[EXTENSION] = source
    app.register_blueprint(bp)


@bp.get("/pocketstack/v1/events")
def list_events():
    source: EventSource = current_app.extensions[EXTENSION]
    ctx = context()
    wanted_project = request.args.get("project_id")
    # An admin may ask for one project, or (None) every project.
    project_id = wanted_project if ctx.is_admin else ctx.project_id
    source.policy.authorize("events:list", {"project_id": project_id or ctx.project_id}, ctx)
    try:
        since = parse_time(request.args["since"]) if "since" in request.args else None
        until = parse_time(request.args["until"]) if "until" in request.args else None
        limit = int(request.args.get("limit", 100))
    except ValueError as exc:
        raise BadRequest(f"Bad filter value: {exc}") from None
    if not 1 <= limit <= 1000:
        raise BadRequest("limit must be between 1 and 1000.")
    with transaction(source.sessions, write=False) as session:
        events = query_events(session, project_id=project_id,
                              event_type=request.args.get("type"),
                              resource_id=request.args.get("resource_id"),
                              since=since, until=until, limit=limit)
        found = [event.to_json() for event in events]
    if source.more_events is not None:
        found = sorted(found + source.more_events(request.args.to_dict()),
                       key=lambda event: event["timestamp"], reverse=True)[:limit]
    return jsonify({"events": found})
