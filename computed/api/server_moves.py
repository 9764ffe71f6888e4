"""The actions that move a server to a new image or flavor, as Nova's 2.1:

    rebuild {imageRef, name, metadata, adminPass, preserve_ephemeral}
                        202 {"server": ... "adminPass"}  flows/rebuild.py
    resize {flavorRef}  202                              flows/resize.py
    migrate             202 (admins; the same host)      flows/resize.py
    confirmResize       204                              flows/resize_confirm.py
    revertResize        202                              flows/resize_confirm.py

Each handler checks in Nova's order (policy, lock, vm_state/task_state,
then what the body asks for) and answers before the slow work, which runs
in a background thread; what fails after the 202 is seen in the server's
state, its fault and its instance actions.
"""
from __future__ import annotations

import secrets
import string
import uuid as uuidlib

from flask import Response, jsonify
from sqlalchemy import select

from computed.api import locking, render, server_versioned
from computed.api.common import authorize, links, project_scope, runtime
from computed.compute_api import flavor_snapshot, usable_image
from computed.db import repository as repo
from computed.db import server_extras
from computed.db.models import Instance, Migration
from computed.domain import moves, states
from computed.domain.server_fields import InvalidField, check_description
from computed.domain.server_request import InvalidRequest, QuotaError, check_metadata, check_name
from computed.flows import rebuild as rebuild_flow
from computed.flows import resize as resize_flow
from computed.flows import resize_confirm
from computed.network_api import network_info
from shared.api import context
from shared.clients import RemoteError
from shared.db import transaction
from shared.errors import ApiError, BadRequest, Conflict, Forbidden, NotFound
from shared.strutils import NotABoolean, bool_from_string

REBUILD_FIELDS = {"name", "imageRef", "adminPass", "metadata", "preserve_ephemeral",
                  "OS-DCF:diskConfig", "accessIPv4", "accessIPv6", "personality"}
RESIZE_FIELDS = {"flavorRef", "OS-DCF:diskConfig"}
# The fields of Nova's rebuild answer before 2.75 (schema rebuild_response).
REBUILD_VIEW = ("id", "name", "status", "tenant_id", "user_id", "metadata", "hostId",
                "image", "flavor", "created", "updated", "addresses", "accessIPv4",
                "accessIPv6", "links", "OS-DCF:diskConfig", "progress", "fault")
PASSWORD_LENGTH = 12   # Nova's [DEFAULT] password_length
PASSWORD_SYMBOLS = string.ascii_letters + string.digits


# --- rebuild -----------------------------------------------------------------------------
def rebuild(server_id: str, argument) -> Response:
    ctx = context()
    deps = runtime().deps
    body = _fields(argument, "rebuild", REBUILD_FIELDS | server_versioned.rebuild_fields())
    image_id = body.get("imageRef")
    if not isinstance(image_id, str) or not _is_uuid(image_id):
        raise BadRequest(f"Invalid input for field/attribute imageRef. Value: {image_id}. "
                         f"'{image_id}' is not a 'uuid'")
    preserve = _boolean(body.get("preserve_ephemeral", False), "preserve_ephemeral")
    password = body.get("adminPass")
    if password is not None and not isinstance(password, str):
        raise BadRequest(f"Invalid input for field/attribute adminPass. Value: {password}. "
                         f"{password!r} is not of type 'string'")
    instance = _checked(server_id, "servers:rebuild", "rebuild")
    if not instance.image_ref:
        raise BadRequest(f"Image {image_id} is unacceptable: Unable to rebuild with a "
                         f"different image for a volume-backed server.")
    changes: dict[str, object] = {}
    try:
        if "name" in body:
            changes["display_name"] = check_name(body["name"])
        if "metadata" in body:
            changes["meta"] = check_metadata(body["metadata"], deps.settings.max_metadata_items)
        if "description" in body:  # 2.19
            description = check_description(body["description"])
    except (InvalidRequest, InvalidField) as exc:
        raise BadRequest(str(exc)) from None
    except QuotaError as exc:
        raise Forbidden(str(exc)) from None
    image = _image(deps, ctx, image_id, "Cannot find image for rebuild", instance.flavor)
    with transaction(deps.sessions) as session:
        instance = repo.get_instance(session, server_id, project_scope())
        _begin(session, instance, "rebuild")
        instance.image_ref = image_id
        instance.progress = 0
        for key, value in changes.items():
            setattr(instance, key, value)
        if "description" in body:
            server_extras.set_description(session, server_id, description)
        deps.event(ctx, "compute.instance.rebuild.requested", instance, session=session,
                   image_id=image_id, preserve_ephemeral=preserve)
    deps.background(deps.actions, f"rebuild-{server_id}",
                    lambda: rebuild_flow.run(deps, ctx, server_id, image, preserve))
    view = _rebuild_view(server_id)
    # enable_instance_password (Nova's default): the password is shown once,
    # here; the libvirt driver does not inject it, so the guest never gets it.
    view["adminPass"] = password if password is not None else _password()
    response = jsonify({"server": view})
    response.status_code = 202
    response.headers["Location"] = links("servers", server_id)[0]["href"]
    return response


def _rebuild_view(server_id: str) -> dict:
    deps = runtime().deps
    with transaction(deps.sessions, write=False) as session:
        instance = repo.get_instance(session, server_id, project_scope())
        networks = network_info(deps, [(instance.uuid, instance.project_id)])[instance.uuid]
        detail = render.server_detail(instance, context(), networks)
    detail["addresses"] = networks.addresses(extended=False)
    return {key: detail[key] for key in REBUILD_VIEW + server_versioned.UPDATE_FIELDS
            if key in detail}


# --- resize and migrate ------------------------------------------------------------------
def resize(server_id: str, argument) -> Response:
    ctx = context()
    deps = runtime().deps
    body = _fields(argument, "resize", RESIZE_FIELDS)
    flavor_ref = body.get("flavorRef")
    if isinstance(flavor_ref, bool) or not isinstance(flavor_ref, (str, int)) or \
            str(flavor_ref) == "":
        raise BadRequest(f"Invalid input for field/attribute flavorRef. Value: {flavor_ref}. "
                         f"It must be a flavor's id or link.")
    flavor_id = str(flavor_ref).rstrip("/").rsplit("/", 1)[-1]
    instance = _checked(server_id, "servers:resize", "resize")
    _refuse_volume_backed(instance)
    with transaction(deps.sessions, write=False) as session:
        new, disabled = _usable_flavor(session, flavor_id, ctx)
        current = dict(instance.flavor)
        if disabled and new["id"] != current["id"]:
            raise BadRequest(f"Flavor {flavor_id} could not be found.")
        try:
            moves.check_resize(current, new)
        except moves.MoveRefused as exc:
            raise BadRequest(str(exc)) from None
        _count, used = repo.project_usage(session, instance.project_id)
        excess = moves.upsize_excess(deps.settings.quota, used, current, new)
        if excess:
            raise Forbidden(excess)
    _image(deps, ctx, instance.image_ref, "Image that the instance was started with could "
           "not be found.", new)
    return _start_move(server_id, "resize", moves.RESIZE, new)


def migrate(server_id: str, argument) -> Response:
    if argument not in (None, {}):
        raise BadRequest("Invalid input for field/attribute migrate. Value: "
                         f"{argument}. {argument!r} is not of type 'null'")
    instance = _checked(server_id, "os-migrate-server:migrate", "migrate")
    _refuse_volume_backed(instance)
    _image(runtime().deps, context(), instance.image_ref, "Image that the instance was "
           "started with could not be found.", instance.flavor)
    return _start_move(server_id, "migrate", moves.MIGRATION, dict(instance.flavor))


def _start_move(server_id: str, action: str, migration_type: str, new: dict) -> Response:
    ctx = context()
    deps = runtime().deps
    with transaction(deps.sessions) as session:
        instance = repo.get_instance(session, server_id, project_scope())
        old_vm_state = instance.vm_state
        _begin(session, instance, action)
        instance.progress = 0
        host_ip = deps.settings.host_ip
        migration = Migration(
            uuid=str(uuidlib.uuid4()), instance_uuid=instance.uuid,
            migration_type=migration_type, status=moves.PRE_MIGRATING,
            source_compute=instance.host, source_node=instance.node,
            dest_compute=instance.host, dest_node=instance.node, dest_host=host_ip,
            old_instance_type_id=_flavor_row_id(session, instance.flavor["id"]),
            new_instance_type_id=_flavor_row_id(session, new["id"]),
            old_flavor=dict(instance.flavor), new_flavor=dict(new),
            old_vm_state=old_vm_state, held=None, created_at=repo.now(), updated_at=None)
        session.add(migration)
        session.flush()
        migration_id = migration.id
        deps.event(ctx, f"compute.instance.{action}.requested", instance, session=session,
                   old_flavor=instance.flavor["name"], new_flavor=new["name"])
    deps.background(deps.actions, f"{action}-{server_id}",
                    lambda: resize_flow.run(deps, ctx, server_id, migration_id))
    return Response(status=202)


# --- confirm and revert ------------------------------------------------------------------
def confirm_resize(server_id: str, argument) -> Response:
    ctx = context()
    deps = runtime().deps
    _checked(server_id, "servers:confirm_resize", "confirmResize")
    with transaction(deps.sessions) as session:
        instance = repo.get_instance(session, server_id, project_scope())
        _begin(session, instance, "confirmResize")
        migration = _finished_migration(session, server_id)
        migration.status, migration.updated_at = moves.CONFIRMING, repo.now()
        migration_id = migration.id
        deps.event(ctx, "compute.instance.resize.confirm.requested", instance,
                   session=session)
    deps.background(deps.actions, f"confirm-{server_id}",
                    lambda: resize_confirm.confirm(deps, ctx, server_id, migration_id))
    return Response(status=204)   # Nova's @wsgi.response(204), unlike the other moves


def revert_resize(server_id: str, argument) -> Response:
    ctx = context()
    deps = runtime().deps
    _checked(server_id, "servers:revert_resize", "revertResize")
    with transaction(deps.sessions) as session:
        instance = repo.get_instance(session, server_id, project_scope())
        migration = _finished_migration(session, server_id)
        _count, used = repo.project_usage(session, instance.project_id)
        excess = moves.upsize_excess(deps.settings.quota, used, migration.new_flavor,
                                     migration.old_flavor)
        if excess:
            raise Forbidden(excess)
        _begin(session, instance, "revertResize")
        migration.status, migration.updated_at = moves.REVERTING, repo.now()
        migration_id = migration.id
        deps.event(ctx, "compute.instance.resize.revert.requested", instance,
                   session=session)
    deps.background(deps.actions, f"revert-{server_id}",
                    lambda: resize_confirm.revert(deps, ctx, server_id, migration_id))
    return Response(status=202)


# --- helpers -----------------------------------------------------------------------------
def _checked(server_id: str, rule: str, action: str) -> Instance:
    """Nova's order: 404 unless visible, policy (403), lock (409), state (409)."""
    deps = runtime().deps
    if not _is_uuid(server_id):
        raise NotFound(f"Instance {server_id} could not be found.")
    with transaction(deps.sessions, write=False) as session:
        instance = repo.get_instance(session, server_id, project_scope())
        authorize(rule, context(), project_id=instance.project_id)
        locking.require_unlocked(session, instance)
        try:
            states.check(action, instance.uuid, instance.vm_state, instance.task_state,
                         instance.host)
        except (states.InvalidState, states.NotReady) as exc:
            raise Conflict(str(exc)) from None
        return instance


def _begin(session, instance: Instance, action: str) -> None:
    """Check and set the task_state in this write transaction (409 if
    another action began since the first check)."""
    try:
        repo.begin_task(session, instance, action)
    except (states.InvalidState, states.NotReady) as exc:
        raise Conflict(str(exc)) from None


def _finished_migration(session, server_id: str) -> Migration:
    migration = session.scalars(select(Migration).where(
        Migration.instance_uuid == server_id, Migration.status == moves.FINISHED)
        .order_by(Migration.id.desc())).first()
    if migration is None:
        raise BadRequest(moves.NOT_RESIZED)
    return migration


def _refuse_volume_backed(instance: Instance) -> None:
    """Nova resizes a server booted from a volume (only its local disks
    move), and one whose disks are in Ceph; computed's resize flow knows
    the qcow2 files of the instance directory only."""
    if not instance.image_ref:
        raise Conflict("Resizing or migrating a server booted from a volume is not "
                       "supported by computed.")
    if runtime().deps.disks.kind != "qcow2":
        raise Conflict("Resizing or migrating a server whose disks are in Ceph "
                       "([libvirt] images_type = rbd) is not supported by computed.")


def _usable_flavor(session, flavor_id: str, ctx) -> tuple[dict, bool]:
    """The flavor's copy and whether it is disabled, or 400 as Nova's resize
    answers an unknown one."""
    try:
        flavor = repo.get_flavor(session, flavor_id)
    except NotFound:
        raise BadRequest(f"Flavor {flavor_id} could not be found.") from None
    if not repo.flavor_usable_by(flavor, ctx.project_id, ctx.is_admin):
        raise BadRequest(f"Flavor {flavor_id} could not be found.")
    return flavor_snapshot(flavor), flavor.disabled


def _flavor_row_id(session, flavorid: str) -> int | None:
    try:
        return repo.get_flavor(session, flavorid).id
    except NotFound:
        return None   # deleted since: the server keeps its copy


def _image(deps, ctx, image_id: str, missing: str, flavor: dict) -> dict:
    """imaged's record, checked against `flavor` as at create (400s)."""
    caller = deps.caller(ctx)
    try:
        found = deps.images.show(caller, image_id)
    except RemoteError as exc:
        raise ApiError(f"The image service failed: {exc.message}", 503) from None
    if found is None:
        raise BadRequest(missing)
    return usable_image(deps, caller, image_id, flavor)


def _fields(argument, action: str, allowed: set[str]) -> dict:
    if not isinstance(argument, dict):
        raise BadRequest(f"Invalid input for field/attribute {action}. Value: {argument}. "
                         f"{argument!r} is not of type 'object'")
    unknown = sorted(set(argument) - allowed)
    if unknown:
        raise BadRequest(f"Invalid input for field/attribute {action}. Value: {argument}. "
                         f"Additional properties are not allowed "
                         f"({', '.join(repr(k) for k in unknown)} "
                         f"{'was' if len(unknown) == 1 else 'were'} unexpected)")
    return argument


def _boolean(value, name: str) -> bool:
    try:
        return bool_from_string(value)
    except NotABoolean:
        raise BadRequest(f"Invalid input for field/attribute {name}. Value: {value}. "
                         f"{value!r} is not a boolean") from None


def _is_uuid(value: str) -> bool:
    try:
        uuidlib.UUID(value)
    except ValueError:
        return False
    return True


def _password() -> str:
    return "".join(secrets.choice(PASSWORD_SYMBOLS) for _ in range(PASSWORD_LENGTH))
