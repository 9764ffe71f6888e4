"""POST /v2.1/servers/{id}/remote-consoles (microversion 2.6, which removed
the os-get*Console actions; `openstack console url show --serial` uses it
when both sides speak 2.6), as Nova's remote_consoles.py create():

    {"remote_console": {"protocol": "serial", "type": "serial"}}
        200 {"remote_console": {"protocol": "serial", "type": "serial",
                                "url": "ws://127.0.0.1:6083/?token=..."}}

vnc and spice are 400 "Unavailable console type ..." (our guests have no
graphics), rdp always (Nova removed it); mks/webmks come with 2.8, beyond
what is served here. What happens next is consoles.py's open_console.
"""
from __future__ import annotations

from flask import Blueprint, jsonify

from computed.api import consoles, schemas
from computed.api.common import API_PREFIX
from computed.api.microversion import COMPUTE, REMOTE_CONSOLES
from computed.api.targets import authorize_on_server
from shared.api import json_body
from shared.errors import BadRequest
from shared.openapi import describe

bp = Blueprint("remote_consoles", __name__, url_prefix=API_PREFIX)

PROTOCOLS = {"vnc": "os-getVNCConsole", "spice": "os-getSPICEConsole",
             "serial": "os-getSerialConsole", "rdp": "os-getRDPConsole"}
TYPES = ("novnc", "xvpvnc", "spice-html5", "serial", "rdp-html5")


def _checked(body: dict) -> tuple[str, str]:
    """(protocol, type) of the body, as Nova's create_v26 schema checks it."""
    def invalid(field: str, value, why: str) -> BadRequest:
        return BadRequest(f"Invalid input for field/attribute {field}. Value: {value}. {why}")
    extra = [key for key in body if key != "remote_console"]
    if extra:
        raise BadRequest(f"Additional properties are not allowed ({extra[0]!r} was "
                         f"unexpected)")
    console = body.get("remote_console")
    if console is None:
        raise BadRequest("Invalid input for field/attribute remote_console. Value: None. "
                         "'remote_console' is a required property")
    if not isinstance(console, dict):
        raise invalid("remote_console", console, f"{console!r} is not of type 'object'")
    for key in ("protocol", "type"):
        if key not in console:
            raise invalid("remote_console", console, f"{key!r} is a required property")
    extra = [key for key in console if key not in ("protocol", "type")]
    if extra:
        raise invalid("remote_console", console, f"Additional properties are not allowed "
                                                 f"({extra[0]!r} was unexpected)")
    protocol, kind = console["protocol"], console["type"]
    if protocol not in PROTOCOLS:
        raise invalid("protocol", protocol, f"{protocol!r} is not one of {list(PROTOCOLS)}")
    if kind not in TYPES:
        raise invalid("type", kind, f"{kind!r} is not one of {list(TYPES)}")
    return protocol, kind


@bp.post("/servers/<server_id>/remote-consoles")
@describe(request=schemas.REMOTE_CONSOLE)
def create(server_id):
    COMPUTE.require(REMOTE_CONSOLES)
    body = json_body()
    protocol, kind = _checked(body)
    schemas.checked_nova(body, schemas.REMOTE_CONSOLE)
    authorize_on_server(server_id, "os-remote-consoles")
    if protocol == "rdp":
        raise BadRequest(f"Unavailable console type {protocol}.")
    opened = consoles.open_console(server_id, PROTOCOLS[protocol], {"type": kind})
    return jsonify({"remote_console": {"protocol": protocol, "type": kind,
                                       "url": opened["url"]}})
