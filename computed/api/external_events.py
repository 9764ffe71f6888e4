"""POST /v2.1/os-server-external-events: another service tells computed that
something changed under a server (Nova's server_external_events.py).
computed acts on two events:
- volume-extended (tag: the volume's id), which volumed sends once an
  in-use volume has grown: the running guest's disk is resized to the
  volume's new size, so the guest sees it without a reboot;
- network-vif-plugged (tag: the port's id, status completed), which
  networkd sends once it has plugged the port's tap into its network: a
  build or an interface attach waiting for that port goes on at once
  (computed/instance_events.py).

Answer, as Nova's: 200 with every event given back with its code and status
(completed/200), or 207 when any failed (404: no such server; 400: a
volume-extended without its tag). Only admins and services may send events
(os_compute_api:os-server-external-events:create).
"""
from __future__ import annotations

import logging

from flask import Blueprint, jsonify

from computed.api import schemas
from computed.api.common import API_PREFIX, authorize, runtime
from computed.db import repository as repo
from computed.domain.external_events import (
    COMPLETED,
    EVENT_NAMES,
    EVENT_STATUSES,
    VIF_PLUGGED,
    VOLUME_EXTENDED,
)
from computed.domain.networks import is_uuid
from computed.flows.extend_volume import extend_attached_volume
from shared.api import context, json_body
from shared.db import transaction
from shared.errors import BadRequest, NotFound
from shared.openapi import describe

LOG = logging.getLogger(__name__)

bp = Blueprint("external_events", __name__, url_prefix=API_PREFIX)


@bp.post("/os-server-external-events")
@describe(request=schemas.EXTERNAL_EVENTS)
def create():
    events = _validated(json_body())   # Nova's schema comes before its policy
    authorize("os-server-external-events:create", context(), project_id=None)
    answered, accepted, code = [], [], 200
    deps = runtime().deps
    for event in events:
        answer = dict(event)
        answered.append(answer)
        with transaction(deps.sessions, write=False) as session:
            try:
                repo.get_instance(session, event["server_uuid"], None)
                known = True
            except NotFound:
                known = False
        if not known:
            LOG.debug("dropping event %s:%s for unknown server %s", event["name"],
                      event.get("tag"), event["server_uuid"])
            answer.update(status="failed", code=404)
            code = 207
        elif event["name"] == VOLUME_EXTENDED and event.get("tag") is None:
            answer.update(status="failed", code=400)
            code = 207
        else:
            answer.update(status="completed", code=200)
            accepted.append(event)
    for event in accepted:
        # Nova's event key: name-tag (network-vif-plugged-<port id>)
        LOG.info("received event %s for server %s", "-".join(
            part for part in (event["name"], event.get("tag")) if part), event["server_uuid"])
        if event["name"] == VOLUME_EXTENDED:
            extend_attached_volume(deps, event["server_uuid"], event["tag"])
        elif event["name"] == VIF_PLUGGED and event.get("status", COMPLETED) == COMPLETED \
                and event.get("tag"):
            deps.instance_events.vif_plugged(event["server_uuid"], event["tag"])
    return jsonify({"events": answered}), code


def _validated(body: dict) -> list[dict]:
    """Nova's schema (schemas/server_external_events.py): a non-empty list of
    {name, server_uuid[, status][, tag]} and nothing else."""
    if not isinstance(body, dict) or set(body) != {"events"}:
        raise BadRequest("Invalid input for field/attribute events. The body must be "
                         "{\"events\": [...]} and nothing else.")
    events = body["events"]
    if not isinstance(events, list) or not events:
        raise BadRequest(f"Invalid input for field/attribute events. Value: {events}. "
                         f"It must be a non-empty array.")
    for event in events:
        if not isinstance(event, dict):
            raise BadRequest(f"Invalid input for field/attribute events. Value: {event}. "
                             f"{event!r} is not of type 'object'")
        extra = set(event) - {"name", "server_uuid", "status", "tag"}
        if extra:
            raise BadRequest(f"Invalid input for field/attribute events. Additional "
                             f"properties are not allowed ({', '.join(sorted(extra))} "
                             f"were unexpected)")
        for required in ("name", "server_uuid"):
            if required not in event:
                raise BadRequest(f"Invalid input for field/attribute events. "
                                 f"'{required}' is a required property")
        if event["name"] not in EVENT_NAMES:
            raise BadRequest(f"Invalid input for field/attribute name. Value: "
                             f"{event['name']}. {event['name']!r} is not one of "
                             f"{list(EVENT_NAMES)}")
        if not is_uuid(event["server_uuid"]):
            raise BadRequest(f"Invalid input for field/attribute server_uuid. Value: "
                             f"{event['server_uuid']}. It is not a 'uuid'")
        if "status" in event and event["status"] not in EVENT_STATUSES:
            raise BadRequest(f"Invalid input for field/attribute status. Value: "
                             f"{event['status']}. It is not one of {list(EVENT_STATUSES)}")
        tag = event.get("tag")
        if "tag" in event and (not isinstance(tag, str) or len(tag) > 255):
            raise BadRequest(f"Invalid input for field/attribute tag. Value: {tag}. "
                             f"It must be a string of at most 255 characters")
    return schemas.checked_nova(body, schemas.EXTERNAL_EVENTS)["events"]
