"""/v2.1/servers: create, list (with filters), show, rename, delete,
metadata. The actions are in actions.py, volumes in volume_attachments.py.

Each handler parses, authorizes, calls the compute API layer
(computed/compute_api.py) or one short transaction, and renders. POST
/servers is create_servers there: 400 for what a user can get wrong
(unknown flavor or key pair, image missing, inactive or too big, volume
missing or in use, an image property computed cannot honour), 403 over
quota, else 202 and the build goes on in flows/launch.py.
"""
from __future__ import annotations

import secrets
import string
import uuid as uuidlib
from collections.abc import Callable

from flask import Blueprint, Response, g, jsonify, request

from computed import compute_api, network_api
from computed.api import locking, render, schemas, server_versioned
from computed.api.common import (
    API_PREFIX,
    MIN_VERSION,
    authorize,
    links,
    paginate,
    project_scope,
    runtime,
)
from computed.db import repository as repo
from computed.db import server_extras
from computed.db.models import Instance
from computed.domain import states
from computed.domain.server_fields import InvalidField, check_description
from computed.domain.server_request import InvalidRequest, QuotaError, check_metadata, check_name
from computed.flows.terminate import terminate
from shared.api import context, json_body
from shared.db import transaction
from shared.errors import BadRequest, Conflict, Forbidden, NotFound
from shared.openapi import describe

bp = Blueprint("servers", __name__, url_prefix=API_PREFIX)

PASSWORD_LENGTH = 12   # Nova's [DEFAULT] password_length


def is_uuid(value: str) -> bool:
    try:
        return str(uuidlib.UUID(value)) == value.lower()
    except ValueError:
        return False


def load(session, server_id: str, rule: str, include_deleted: bool = False) -> Instance:
    """The server if the caller may see it (404 otherwise), then policy."""
    if not is_uuid(server_id):
        raise NotFound(f"Instance {server_id} could not be found.")
    instance = repo.get_instance(session, server_id, project_scope(), include_deleted)
    authorize(rule, context(), project_id=instance.project_id)
    return instance


# --- list -------------------------------------------------------------------------------
def _listing(detail: bool):
    ctx = context()
    authorize("servers:detail" if detail else "servers:index", ctx)
    server_versioned.check_listing(request.args)
    wanted = compute_api.server_filters(request.args, ctx)
    if wanted.all_tenants:
        authorize("servers:index:get_all_tenants", ctx)
    deps = runtime().deps
    with transaction(deps.sessions, write=False) as session:
        instances = repo.list_instances(session, project_id=wanted.project_id,
                                        filters=wanted.filters,
                                        include_deleted=wanted.include_deleted)
        instances = server_versioned.filter_listing(session, instances, request.args)
        page, next_links = paginate(instances, lambda i: i.uuid,
                                    "servers/detail" if detail else "servers")
        networks = network_api.network_info(
            deps, [(i.uuid, i.project_id) for i in page if not i.deleted]) if detail else {}
        body: dict = {"servers": [render.server_detail(i, ctx, networks.get(i.uuid))
                                  if detail else render.server_summary(i) for i in page]}
    if next_links:
        body["servers_links"] = next_links
    return jsonify(body)


@bp.get("/servers")
def list_servers():
    return _listing(detail=False)


@bp.get("/servers/detail")
def list_servers_detail():
    return _listing(detail=True)


# --- create, show, update, delete -------------------------------------------------------
@bp.post("/servers")
@describe(request=schemas.SERVER_CREATE, status="202")
def create_server():
    ctx = context()
    authorize("servers:create", ctx)
    body = schemas.checked_nova(json_body(), schemas.SERVER_CREATE)
    server_versioned.check_create(body)
    description = server_versioned.created_description(body)
    created = compute_api.create_servers(runtime().deps, ctx, body,
                                         g.get("compute_api_version", MIN_VERSION))
    with transaction(runtime().deps.sessions) as session:
        for uuid in created.uuids:
            server_extras.set_description(session, uuid, description)
    if created.return_reservation_id:
        response = jsonify({"reservation_id": created.reservation_id})
    else:
        first = created.uuids[0]
        response = jsonify({"server": {**render.server_created(first, created.security_groups),
                                       "adminPass": admin_password()}})
        response.headers["Location"] = links("servers", first)[0]["href"]
    response.status_code = 202
    return response


def admin_password() -> str:
    """The adminPass of POST /servers' answer. Nova generates one (with
    [api] enable_instance_password, its default) but its libvirt driver
    does not set it in the guest (inject_password is off by default): the
    guest is reached with its key pair. computed does the same and keeps
    nothing of it."""
    symbols = string.ascii_letters + string.digits
    return "".join(secrets.choice(symbols) for _ in range(PASSWORD_LENGTH))


def networks_of(instance: Instance) -> network_api.ServerNetworks:
    """What networkd says of the server; not its addresses while it is
    built (render hides them then, as Nova does: two calls fewer for each
    look of a client waiting for ACTIVE)."""
    deps = runtime().deps
    return network_api.network_info(
        deps, [(instance.uuid, instance.project_id)],
        with_addresses=instance.vm_state != states.BUILDING)[instance.uuid]


@bp.get("/servers/<server_id>")
def show_server(server_id):
    with transaction(runtime().deps.sessions, write=False) as session:
        instance = load(session, server_id, "servers:show")
        return jsonify({"server": render.server_detail(instance, context(),
                                                       networks_of(instance))})


@bp.put("/servers/<server_id>")
@describe(request=schemas.SERVER_UPDATE)
def update_server(server_id):
    server = json_body().get("server")
    if not isinstance(server, dict):
        raise BadRequest("Invalid input: the body must be {\"server\": {...}}.")
    unknown = set(server) - server_versioned.update_fields()
    if unknown:
        raise BadRequest(f"Invalid input: only the name can be changed here "
                         f"({', '.join(sorted(unknown))} cannot).")
    try:
        name = check_name(server["name"]) if "name" in server else None
        description = check_description(server.get("description"))
    except (InvalidRequest, InvalidField) as exc:
        raise BadRequest(str(exc)) from None
    schemas.checked_nova({"server": server}, schemas.SERVER_UPDATE)
    deps = runtime().deps
    with transaction(deps.sessions) as session:
        instance = load(session, server_id, "servers:update")
        if name is not None:
            instance.display_name = name
        if "description" in server:  # 2.19
            server_extras.set_description(session, server_id, description)
        if server:
            instance.updated_at = repo.now()
            deps.event(context(), "compute.instance.update", instance, session=session)
        return jsonify({"server": render.server_updated(instance, context(),
                                                        networks_of(instance))})


@bp.delete("/servers/<server_id>")
def delete_server(server_id):
    ctx = context()
    deps = runtime().deps
    with transaction(deps.sessions) as session:
        instance = load(session, server_id, "servers:delete")
        locking.require_unlocked(session, instance)
        if instance.task_state == states.DELETING:
            return Response(status=204)
        instance.task_state = states.DELETING
        instance.updated_at = repo.now()
        deps.event(ctx, "compute.instance.delete.requested", instance, session=session)
    deps.instance_events.wake(server_id)   # a build waiting for its ports stops now
    deps.background(deps.actions, f"terminate-{server_id}",
                    lambda: terminate(deps, ctx, server_id))
    return Response(status=204)


@bp.get("/servers/<server_id>/ips")
def list_ips(server_id):
    with transaction(runtime().deps.sessions, write=False) as session:
        instance = load(session, server_id, "ips:index")
        building = instance.vm_state == states.BUILDING
    addresses = {} if building else networks_of(instance).addresses(extended=False)
    return jsonify({"addresses": addresses})


@bp.get("/servers/<server_id>/ips/<network_label>")
def show_ips(server_id, network_label):
    with transaction(runtime().deps.sessions, write=False) as session:
        instance = load(session, server_id, "ips:show")
        building = instance.vm_state == states.BUILDING
    addresses = {} if building else networks_of(instance).addresses(extended=False)
    if network_label not in addresses:
        raise NotFound("Instance is not a member of specified network")
    return jsonify({network_label: addresses[network_label]})


# --- metadata ---------------------------------------------------------------------------
def _change_metadata(server_id: str, change: Callable[[dict], dict]) -> dict:
    deps = runtime().deps
    with transaction(deps.sessions) as session:
        instance = load(session, server_id, "server-metadata:update")
        if instance.task_state == states.DELETING:
            raise Conflict(f"Cannot 'update_metadata' instance {server_id} while it "
                           f"is in task_state deleting")
        metadata = change(dict(instance.meta or {}))
        try:
            instance.meta = check_metadata(metadata, deps.settings.max_metadata_items)
        except InvalidRequest as exc:
            raise BadRequest(str(exc)) from None
        except QuotaError as exc:
            raise Forbidden(str(exc)) from None
        instance.updated_at = repo.now()
        return dict(instance.meta)


def _metadata_body() -> dict:
    metadata = json_body().get("metadata")
    if not isinstance(metadata, dict):
        raise BadRequest("Malformed request body: metadata must be an object.")
    return schemas.checked_nova({"metadata": metadata}, schemas.SERVER_METADATA)["metadata"]


@bp.get("/servers/<server_id>/metadata")
def list_metadata(server_id):
    with transaction(runtime().deps.sessions, write=False) as session:
        instance = load(session, server_id, "server-metadata:index")
        return jsonify({"metadata": dict(instance.meta or {})})


@bp.put("/servers/<server_id>/metadata")
@describe(request=schemas.SERVER_METADATA)
def replace_metadata(server_id):
    new = _metadata_body()
    return jsonify({"metadata": _change_metadata(server_id, lambda _old: new)})


@bp.post("/servers/<server_id>/metadata")
@describe(request=schemas.SERVER_METADATA)
def merge_metadata(server_id):
    new = _metadata_body()
    return jsonify({"metadata": _change_metadata(server_id, lambda old: {**old, **new})})


@bp.get("/servers/<server_id>/metadata/<key>")
def show_metadata_item(server_id, key):
    with transaction(runtime().deps.sessions, write=False) as session:
        metadata = load(session, server_id, "server-metadata:index").meta or {}
        if key not in metadata:
            raise NotFound("Metadata item was not found")
        return jsonify({"meta": {key: metadata[key]}})


@bp.put("/servers/<server_id>/metadata/<key>")
@describe(request=schemas.SERVER_META)
def set_metadata_item(server_id, key):
    meta = json_body().get("meta")
    if not isinstance(meta, dict) or list(meta) != [key]:
        raise BadRequest("Request body and URI mismatch")
    schemas.checked_nova({"meta": meta}, schemas.SERVER_META)
    _change_metadata(server_id, lambda old: {**old, **meta})
    return jsonify({"meta": meta})


@bp.delete("/servers/<server_id>/metadata/<key>")
def delete_metadata_item(server_id, key):
    def remove(old: dict) -> dict:
        if key not in old:
            raise NotFound("Metadata item was not found")
        return {k: v for k, v in old.items() if k != key}
    _change_metadata(server_id, remove)
    return Response(status=204)
