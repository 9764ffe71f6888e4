"""Remote consoles at 2.1 (`openstack console url show --serial SERVER`), as
Nova's remote_consoles.py before 2.6 (POST /servers/{id}/action):

    {"os-getSerialConsole": {"type": "serial"}}
        200 {"console": {"type": "serial", "url": "ws://127.0.0.1:6083/?token=..."}}
    {"os-getVNCConsole": {"type": "novnc"}}, {"os-getSPICEConsole":
    {"type": "spice-html5"}}
        400 "Unavailable console type novnc." (our guests have no graphics:
        Nova's answer with [vnc] and [spice] disabled)
    {"os-getRDPConsole": ...}   400 (removed from Nova in 29.0.0)

Policy os_compute_api:os-remote-consoles (project members). A server not
on a host yet (building, offloaded) is 409 "Instance <id> is not ready",
one being deleted 409. The URL's token (consoleauth.py) opens the server's
serial port through the proxy (serialproxy/) for [consoleauth] token_ttl
seconds.
"""
from __future__ import annotations

from flask import jsonify

from computed import consoleauth
from computed.api.common import project_scope, runtime
from computed.api.targets import authorize_on_server
from computed.db import repository as repo
from computed.domain import states
from computed.virt.driver import HypervisorError
from shared.db import transaction
from shared.errors import BadRequest, Conflict

# action -> the console types its schema accepts
ACTIONS = {
    "os-getSerialConsole": ("serial",),
    "os-getVNCConsole": ("novnc", "xvpvnc"),
    "os-getSPICEConsole": ("spice-html5",),
    "os-getRDPConsole": (),
}
WEBOB_400 = ("The server could not comply with the request since it is either "
             "malformed or otherwise incorrect.")


def console_type_of(action: str, argument) -> str:
    """The body's `type`, checked as Nova's JSON schema checks it."""
    if not isinstance(argument, dict):
        raise BadRequest(f"Invalid input for field/attribute {action}. Value: {argument}. "
                         f"{argument!r} is not of type 'object'")
    extra = [key for key in argument if key != "type"]
    if extra:
        raise BadRequest(f"Invalid input for field/attribute {action}. Value: {argument}. "
                         f"Additional properties are not allowed ({extra[0]!r} was "
                         f"unexpected)")
    if "type" not in argument:
        raise BadRequest(f"Invalid input for field/attribute {action}. Value: {argument}. "
                         f"'type' is a required property")
    kind = argument["type"]
    if kind not in ACTIONS[action]:
        raise BadRequest(f"Invalid input for field/attribute type. Value: {kind}. "
                         f"{kind!r} is not one of {list(ACTIONS[action])}")
    return kind


def get_console(server_id: str, action: str, argument):
    return jsonify({"console": open_console(server_id, action, argument)})


def open_console(server_id: str, action: str, argument) -> dict:
    """{"type", "url"} of a new console of the server (remote_consoles.py's
    2.6 API uses it too)."""
    computed = runtime()
    deps, conf = computed.deps, computed.conf
    authorize_on_server(server_id, "os-remote-consoles")
    if action == "os-getRDPConsole":
        raise BadRequest(WEBOB_400)
    kind = console_type_of(action, argument)
    with transaction(deps.sessions, write=False) as session:
        instance = repo.get_instance(session, server_id, project_scope())
        if not instance.host:
            raise Conflict(f"Instance {server_id} is not ready")
        if instance.task_state == states.DELETING:
            raise Conflict(f"Cannot 'get_{kind.split('-')[0]}_console' instance "
                           f"{server_id} while it is in task_state deleting")
        domain_name = instance.domain_name
    if kind != "serial" or not conf.serial_console.enabled:
        raise BadRequest(f"Unavailable console type {kind}.")
    try:
        deps.driver.serial_console_socket(domain_name)
    except HypervisorError:
        raise BadRequest(f"Unavailable console type {kind}.") from None
    base = conf.serial_console.base_url
    with transaction(deps.sessions) as session:
        token = consoleauth.authorize(session, server_id, kind, base,
                                      conf.consoleauth.token_ttl)
    return {"type": kind, "url": consoleauth.access_url(base, token)}
