"""/v2.1/servers/{id}/os-instance-actions: what was done to a server and by
whom (`openstack server event list` / `server event show`), as Nova's 2.1
(from 2.21 a deleted server's too).
The actions come from computed's own events (computed/domain/instance_actions.py);
their events (each step's times and result) are for admins, as in Nova
before 2.51 (others see an empty list: see show())."""
from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import select

from computed.api.common import API_PREFIX, authorize, project_scope, runtime
from computed.api.microversion import DELETED_ACTIONS, at_least
from computed.db import repository as repo
from computed.domain.instance_actions import RecordedEvent, actions_of
from shared.api import context
from shared.db import transaction
from shared.errors import Forbidden, NotFound
from shared.events import Event

bp = Blueprint("instance_actions", __name__, url_prefix=API_PREFIX)


def authorize_on_server(server_id: str, rule: str) -> None:
    """404 unless the caller may see the server (a deleted one too from
    2.21, as Nova reads it with read_deleted="yes"), then the policy."""
    with transaction(runtime().deps.sessions, write=False) as session:
        instance = repo.get_instance(session, server_id, project_scope(),
                                     include_deleted=at_least(DELETED_ACTIONS))
        authorize(rule, context(), project_id=instance.project_id)


@bp.get("/servers/<server_id>/os-instance-actions")
def index(server_id: str):
    authorize_on_server(server_id, "os-instance-actions:list")
    actions = [_without_events(action) for action in _actions(server_id)]
    return jsonify({"instanceActions": actions})


@bp.get("/servers/<server_id>/os-instance-actions/<request_id>")
def show(server_id: str, request_id: str):
    authorize_on_server(server_id, "os-instance-actions:show")
    for action in _actions(server_id):
        if action["request_id"] == request_id:
            try:
                authorize("os-instance-actions:events", context(), action["project_id"])
            except Forbidden:
                # The steps are for admins. Nova 2.1 leaves the key out; the
                # openstack client then fails on `server event show` ("'NoneType'
                # object is not iterable"), so a member gets an empty list.
                action = {**_without_events(action), "events": []}
            return jsonify({"instanceAction": action})
    raise NotFound(f"Action for request_id {request_id} on instance {server_id} not found")


def _without_events(action: dict) -> dict:
    return {key: value for key, value in action.items() if key != "events"}


def _actions(server_id: str) -> list[dict]:
    query = select(Event).where(Event.resource_id == server_id)
    with transaction(runtime().deps.sessions, write=False) as session:
        events = [RecordedEvent(e.event_type, e.request_id, e.user_id, e.project_id,
                                e.timestamp) for e in session.scalars(query)]
    return actions_of(server_id, events)
