"""/v2.1/servers/{id}/os-interface: list and show a server's ports, attach
one (200 once it is plugged, as Nova's synchronous attach) and detach one
(202). The checks are in network_api.py, the work in flows/interfaces.py;
the shapes are Nova's (doc/api_samples/os-attach-interfaces)."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify

from computed import network_api
from computed.api import locking, schemas
from computed.api.common import API_PREFIX, authorize, project_scope, runtime
from computed.db import repository as repo
from computed.db.models import Instance
from computed.domain.networks import interface_attachment
from computed.flows import interfaces
from shared.api import context, json_body
from shared.clients import RemoteError
from shared.db import transaction
from shared.errors import NotFound
from shared.openapi import describe

bp = Blueprint("interfaces", __name__, url_prefix=API_PREFIX)


def load(server_id: str, rule: str) -> Instance:
    with transaction(runtime().deps.sessions, write=False) as session:
        instance = repo.get_instance(session, server_id, project_scope())
        authorize(rule, context(), project_id=instance.project_id)
        return instance


def _port(port_id: str) -> dict:
    deps = runtime().deps
    try:
        port = deps.network.show_port(deps.caller(context()), port_id)
    except RemoteError as exc:
        raise network_api.unavailable(exc) from None
    if port is None:
        raise NotFound(f"Port id {port_id} could not be found.")
    return port


@bp.get("/servers/<server_id>/os-interface")
def list_interfaces(server_id):
    instance = load(server_id, "os-attach-interfaces:list")
    ports = network_api.network_info(runtime().deps, [(instance.uuid, instance.project_id)],
                                     with_groups=False)[instance.uuid].ports
    return jsonify({"interfaceAttachments": [interface_attachment(p) for p in ports]})


@bp.get("/servers/<server_id>/os-interface/<port_id>")
def show_interface(server_id, port_id):
    instance = load(server_id, "os-attach-interfaces:show")
    port = _port(port_id)
    if port.get("device_id") != instance.uuid:
        raise NotFound(f"Instance {server_id} does not have a port with id {port_id}")
    return jsonify({"interfaceAttachment": interface_attachment(port)})


@bp.post("/servers/<server_id>/os-interface")
@describe(request=schemas.INTERFACE)
def attach_interface(server_id):
    ctx = context()
    deps = runtime().deps
    instance = load(server_id, "os-attach-interfaces:create")
    locking.check_unlocked(server_id)
    # The body first (400 before 409, as Nova's schema check runs first).
    body = schemas.checked_nova(json_body(), schemas.INTERFACE)
    wanted = network_api.interface_request(deps, ctx, instance.project_id, instance.uuid,
                                           body)
    interfaces.check_state(deps, server_id, project_scope(), "attach_interface")
    port_id = interfaces.attach(deps, ctx, server_id, project_scope(), wanted)
    return jsonify({"interfaceAttachment": interface_attachment(_port(port_id))})


@bp.delete("/servers/<server_id>/os-interface/<port_id>")
def detach_interface(server_id, port_id):
    ctx = context()
    deps = runtime().deps
    load(server_id, "os-attach-interfaces:delete")
    locking.check_unlocked(server_id)
    interfaces.begin_detach(deps, ctx, server_id, project_scope(), port_id)
    deps.background(deps.actions, f"detach-interface-{port_id}",
                    lambda: interfaces.detach(deps, ctx, server_id, port_id))
    return Response(status=202)
