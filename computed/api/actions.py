"""POST /v2.1/servers/{id}/action: one action per request, named by the
body's only key.

    os-stop, os-start, reboot {type}, pause, unpause, suspend, resume   202
    createImage {name, metadata}        202 + Location (the new image's URL)
    os-getConsoleOutput {length}        200 {"output"}
    shelve, shelveOffload, unshelve     202 (shelve.py)
    rebuild, resize, migrate, revertResize   202; confirmResize 204 (server_moves.py)
    createBackup {name, backup_type, rotation, metadata}   202 (backup.py)
    os-getSerialConsole {type}, os-getVNCConsole ...       200 {"console"} (consoles.py;
                                        404 from 2.6: remote_consoles.py instead)

An action the server's state does not allow is 409 with Nova's message,
e.g. "Cannot 'pause' instance X while it is in vm_state stopped".
"""
from __future__ import annotations

import re

from flask import Blueprint, Response, jsonify

from computed import compute_api
from computed.api import backup, consoles, locking, schemas, server_moves, shelve
from computed.api.common import API_PREFIX, authorize, project_scope, runtime
from computed.api.microversion import COMPUTE, REMOTE_CONSOLES
from computed.db import repository as repo
from computed.domain import states
from computed.domain.server_request import InvalidRequest, QuotaError, check_metadata
from computed.flows import power, snapshot, volume_snapshot
from shared.api import context, json_body
from shared.db import transaction
from shared.errors import BadRequest, Conflict, Forbidden
from shared.openapi import describe

LENGTH = re.compile(r"^-?[0-9]+$")

# body key -> (power action, policy rule)
POWER_ACTIONS = {
    "os-stop": ("stop", "servers:stop"),
    "os-start": ("start", "servers:start"),
    "pause": ("pause", "os-pause-server:pause"),
    "unpause": ("unpause", "os-pause-server:unpause"),
    "suspend": ("suspend", "os-suspend-server:suspend"),
    "resume": ("resume", "os-suspend-server:resume"),
}
# rebuild, resize, migrate, confirmResize, revertResize: server_moves.py
MOVE_ACTIONS = {"rebuild": server_moves.rebuild, "resize": server_moves.resize,
                "migrate": server_moves.migrate,
                "confirmResize": server_moves.confirm_resize,
                "revertResize": server_moves.revert_resize}
SHELVE_ACTIONS = {"shelve": shelve.shelve_server,
                  "shelveOffload": shelve.shelve_offload_server,
                  "unshelve": shelve.unshelve_server}


bp = Blueprint("server_actions", __name__, url_prefix=API_PREFIX)


def authorize_on_server(server_id: str, rule: str) -> None:
    """404 unless the caller may see the server, then the policy rule."""
    with transaction(runtime().deps.sessions, write=False) as session:
        instance = repo.get_instance(session, server_id, project_scope())
        authorize(rule, context(), project_id=instance.project_id)


def start_power_action(server_id: str, action: str, rule: str):
    ctx = context()
    deps = runtime().deps
    authorize_on_server(server_id, rule)
    locking.check_unlocked(server_id)
    try:
        task = power.begin(deps, ctx, server_id, project_scope(), action)
    except (states.InvalidState, states.NotReady) as exc:
        raise Conflict(str(exc)) from None
    deps.background(deps.actions, f"{action}-{server_id}",
                    lambda: power.run(deps, ctx, server_id, action, task))
    return Response(status=202)


@bp.post("/servers/<server_id>/action")
@describe(request=schemas.SERVER_ACTION)
def server_action(server_id):
    body = json_body()
    if len(body) != 1:
        raise BadRequest("Malformed request body: name exactly one action.")
    action, argument = next(iter(body.items()))
    if action not in schemas.ACTIONS:
        raise BadRequest(f"There is no such action: {action}")
    schemas.checked_nova(body, schemas.SERVER_ACTION)
    if action in POWER_ACTIONS:
        name, rule = POWER_ACTIONS[action]
        return start_power_action(server_id, name, rule)
    if action == "reboot":
        kind = (argument or {}).get("type") if isinstance(argument, dict) else None
        if not isinstance(kind, str) or kind.upper() not in ("SOFT", "HARD"):
            raise BadRequest("Argument 'type' for reboot must be a string with value "
                             "SOFT or HARD.")
        return start_power_action(server_id, f"reboot_{kind.lower()}", "servers:reboot")
    if action == "lock":
        return locking.lock(server_id)
    if action == "unlock":
        return locking.unlock(server_id)
    if action == "createImage":
        return create_image(server_id, argument)
    if action == "os-getConsoleOutput":
        return console_output(server_id, argument)
    if action in MOVE_ACTIONS:
        return MOVE_ACTIONS[action](server_id, argument)
    if action in SHELVE_ACTIONS:
        return SHELVE_ACTIONS[action](server_id)
    if action == "createBackup":
        return backup.create_backup(server_id, argument)
    if action in consoles.ACTIONS:
        COMPUTE.below(REMOTE_CONSOLES)  # 2.6 replaced them with remote_consoles.py
        return consoles.get_console(server_id, action, argument)
    raise BadRequest(f"There is no such action: {action}")


def create_image(server_id: str, argument):
    ctx = context()
    deps = runtime().deps
    authorize_on_server(server_id, "servers:create_image")
    if not isinstance(argument, dict):
        raise BadRequest("Invalid input: createImage needs {\"name\": ...}.")
    name = argument.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        raise BadRequest(f"Invalid input for field/attribute name. Value: {name}. "
                         f"A name is 1 to 255 characters.")
    try:
        metadata = check_metadata(argument.get("metadata"), deps.settings.max_metadata_items)
    except InvalidRequest as exc:
        raise BadRequest(str(exc)) from None
    except QuotaError as exc:
        raise Forbidden(str(exc)) from None
    if volume_snapshot.is_volume_backed(deps, server_id, project_scope()):
        # Nova's snapshot_volume_backed: volume snapshots and an image
        # without data, made in the request.
        image_id = volume_snapshot.snapshot(deps, ctx, server_id, project_scope(), name,
                                            metadata)
    else:
        try:
            image_id = snapshot.begin(deps, ctx, server_id, project_scope(), name, metadata)
        except (states.InvalidState, states.NotReady) as exc:
            raise Conflict(str(exc)) from None
        deps.background(deps.actions, f"snapshot-{server_id}",
                        lambda: snapshot.run(deps, ctx, server_id, image_id))
    # At 2.1 the answer is the Location header alone (Nova adds the body
    # {"image_id"} in 2.45); clients read the id off the header's last part.
    response = Response(status=202)
    response.headers["Location"] = \
        f"{deps.settings.image_public_url.rstrip('/')}/v2/images/{image_id}"
    return response


def console_output(server_id: str, argument):
    authorize_on_server(server_id, "os-console-output")
    length = (argument or {}).get("length") if isinstance(argument, dict) else None
    if length is not None:
        if isinstance(length, bool) or not LENGTH.match(str(length)) or int(length) < -1:
            raise BadRequest(f"Invalid input for field/attribute length. Value: "
                             f"{length}. It must be an integer of at least -1.")
        length = int(length)
    text = compute_api.console_output(runtime().deps, server_id, project_scope(), length)
    return jsonify({"output": text})
