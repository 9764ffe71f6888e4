"""createBackup (`openstack server backup create --name N --type daily
--rotate R`), as Nova's 2.1 create_backup.py:

    POST /servers/{id}/action {"createBackup": {"name", "backup_type",
                               "rotation", "metadata"}}
    202, with Location = <compute URL>/images/<image id> when rotation > 0
    (Nova's answer before 2.45, which has a body instead)

The body is checked as Nova's JSON schema does (400 with its message), the
policy is os_compute_api:os-create-backup (project members), and a state
that does not allow it is 409. The work is flows/backup.py.
"""
from __future__ import annotations

import re

from flask import Response, request

from computed.api.common import API_PREFIX, project_scope, runtime
from computed.api.targets import authorize_on_server
from computed.domain import states
from computed.domain.server_request import InvalidRequest, QuotaError, check_metadata
from computed.flows import backup
from shared.api import context
from shared.errors import BadRequest, Conflict, Forbidden

DIGITS = re.compile(r"^[0-9]*$")
FIELDS = ("name", "backup_type", "rotation", "metadata")
REQUIRED = ("name", "backup_type", "rotation")


def invalid(field: str, value, reason: str) -> BadRequest:
    """Nova's jsonschema error: field, value, why."""
    return BadRequest(f"Invalid input for field/attribute {field}. Value: {value}. {reason}")


def parse(argument) -> tuple[str, str, int, dict]:
    """(name, backup_type, rotation, metadata) of a createBackup body."""
    if not isinstance(argument, dict):
        raise invalid("createBackup", argument, f"{argument!r} is not of type 'object'")
    for key in argument:
        if key not in FIELDS:
            raise invalid("createBackup", argument, f"Additional properties are not "
                          f"allowed ({key!r} was unexpected)")
    for key in REQUIRED:
        if key not in argument:
            raise invalid("createBackup", argument, f"{key!r} is a required property")
    name, backup_type, rotation = (argument[key] for key in REQUIRED)
    if not isinstance(name, str):
        raise invalid("name", name, f"{name!r} is not of type 'string'")
    if not name.strip() or len(name) > 255 or name != name.strip():
        raise invalid("name", name, "A name is 1 to 255 characters, without leading or "
                                    "trailing spaces.")
    if not isinstance(backup_type, str):
        raise invalid("backup_type", backup_type, f"{backup_type!r} is not of type "
                                                  f"'string'")
    if isinstance(rotation, bool) or not isinstance(rotation, (int, str)):
        raise invalid("rotation", rotation, f"{rotation!r} is not of type 'integer', "
                                            f"'string'")
    if isinstance(rotation, str) and (not rotation or not DIGITS.match(rotation)):
        raise invalid("rotation", rotation, f"{rotation!r} does not match '^[0-9]*$'")
    if int(rotation) < 0:
        raise invalid("rotation", rotation, f"{rotation} is less than the minimum of 0")
    try:
        metadata = check_metadata(argument.get("metadata"),
                                  runtime().deps.settings.max_metadata_items)
    except InvalidRequest as exc:
        raise BadRequest(str(exc)) from None
    except QuotaError as exc:
        raise Forbidden(str(exc)) from None
    return name, backup_type, int(rotation), metadata


def create_backup(server_id: str, argument) -> Response:
    ctx = context()
    deps = runtime().deps
    authorize_on_server(server_id, "os-create-backup")
    name, backup_type, rotation, metadata = parse(argument)
    try:
        image_id = backup.begin(deps, ctx, server_id, project_scope(), name, backup_type,
                                metadata)
    except states.InvalidState as exc:
        raise Conflict(f"Cannot 'createBackup' instance {server_id} while it is in "
                       f"{exc.attribute} {exc.value}") from None
    except states.NotReady as exc:
        raise Conflict(str(exc)) from None
    deps.background(deps.actions, f"backup-{server_id}",
                    lambda: backup.run(deps, ctx, server_id, image_id, backup_type, rotation))
    response = Response(status=202)
    if rotation > 0:
        response.headers["Location"] = f"{request.host_url.rstrip('/')}{API_PREFIX}" \
                                       f"/images/{image_id}"
    return response
