"""JSON schemas of computed's request bodies, in the shapes of Nova's own
(nova/api/openstack/compute/schemas): handlers check bodies against them
with shared.validation (Nova's wording: `checked_nova`), and the OpenAPI
document publishes the very same schemas (`describe(request=...)`).

One schema serves every microversion computed speaks (2.1 to 2.38): it
takes the union of what those versions allow, and the handlers refuse what
a field's version does not allow yet (server_versioned.py, networks'
"auto"/"none" from 2.37) and what a value means (a name's spaces, a flavor
that does not exist) with Nova's messages.
"""
from __future__ import annotations

from computed.domain.external_events import EVENT_NAMES, EVENT_STATUSES
from shared.validation import checked, nova_message

# --- parameter types (nova/api/validation/parameter_types.py, reduced) -----------------
NAME = {"type": "string", "minLength": 1, "maxLength": 255}
OPTIONAL_NAME = {"type": ["string", "null"], "maxLength": 255}
DESCRIPTION = {"type": ["string", "null"], "maxLength": 255}
# A boolean or one of OpenStack's words for one (checked by shared.strutils).
BOOLEAN = {"type": ["boolean", "string"]}
# An integer of at least 1, or its digits.
POSITIVE_INTEGER = {"type": ["integer", "string"], "pattern": "^[0-9]*$", "minimum": 1,
                    "minLength": 1}
NON_NEGATIVE_INTEGER = {"type": ["integer", "string"], "pattern": "^[0-9]*$", "minimum": 0,
                        "minLength": 1}
UUID = {"type": "string", "format": "uuid"}
IP_ADDRESS = {"type": "string", "format": "ipv4"}
# The keys and values the code checks (lengths, count against the quota).
METADATA = {"type": ["object", "null"],
            "propertyNames": {"minLength": 1, "maxLength": 255},
            "additionalProperties": {"type": "string", "maxLength": 255}}
TAG = {"type": "string", "minLength": 1, "maxLength": 60, "pattern": "^[^,/]*$"}
DISK_CONFIG = {"type": "string", "enum": ["AUTO", "MANUAL"]}
ACCESS_IP = {"type": "string"}
PERSONALITY = {"type": "array", "items": {
    "type": "object", "additionalProperties": False,
    "properties": {"path": {"type": "string"}, "contents": {"type": "string"}}}}
# A flavor's id or link (flavorRef).
FLAVOR_REF = {"type": ["string", "integer"], "minLength": 1}
NOTHING = {"type": ["object", "null"]}   # an action without arguments


def obj(properties: dict, required: tuple[str, ...] = (), extra: bool = False) -> dict:
    """An object of these properties; others refused unless `extra`."""
    schema: dict = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    if not extra:
        schema["additionalProperties"] = False
    return schema


def wrapped(key: str, inner: dict) -> dict:
    """{key: inner}, the shape of every Nova body ({"server": {...}})."""
    return obj({key: inner}, (key,))


def checked_nova(body, schema: dict):
    """`body` when it fits `schema`; else 400 in Nova's words."""
    return checked(body, schema, message=nova_message)


# --- servers -----------------------------------------------------------------------------
_LEGACY_BDM = {
    "virtual_name": {"type": "string", "maxLength": 255},
    "volume_id": {"type": "string"},
    "snapshot_id": {"type": "string"},
    "volume_size": {"type": ["integer", "string", "null"]},
    "device_name": {"type": "string", "minLength": 1, "maxLength": 255,
                    "pattern": "^[a-zA-Z0-9._/-]*$"},
    "delete_on_termination": BOOLEAN,
    "no_device": {},
    "connection_info": {"type": "string", "maxLength": 16777215},
}
_BDM_V2 = {
    **_LEGACY_BDM,
    "source_type": {"type": "string", "enum": ["volume", "image", "snapshot", "blank"]},
    "uuid": {"type": "string", "minLength": 1, "maxLength": 255,
             "pattern": "^[a-zA-Z0-9._-]*$"},
    "image_id": {"type": "string"},
    "destination_type": {"type": "string", "enum": ["local", "volume"]},
    "guest_format": {"type": "string", "maxLength": 255},
    "device_type": {"type": "string", "maxLength": 255},
    "disk_bus": {"type": "string", "maxLength": 255},
    "boot_index": {"type": ["integer", "string", "null"], "pattern": "^-?[0-9]+$"},
    "tag": TAG,                                   # 2.32 only (server_versioned)
}
_NETWORK = obj({"fixed_ip": IP_ADDRESS, "port": {"type": ["string", "null"]},
                "uuid": {"type": "string"}, "tag": TAG})
# Scheduler hints are free-form in Nova (its hints schema allows more keys).
_HINTS = {"type": "object"}

SERVER_CREATE = obj({
    "server": obj({
        "name": NAME,
        "description": DESCRIPTION,                      # 2.19
        "imageRef": {"type": "string", "maxLength": 255},  # an id, a link or "" (volumes)
        "flavorRef": FLAVOR_REF,
        "adminPass": {"type": "string"},
        "metadata": METADATA,
        # a list, or from 2.37 "auto" or "none"
        "networks": {"oneOf": [{"type": ["array", "null"], "items": _NETWORK},
                               {"type": "string", "enum": ["none", "auto"]}]},
        "OS-DCF:diskConfig": DISK_CONFIG,
        "accessIPv4": ACCESS_IP, "accessIPv6": ACCESS_IP,
        "personality": PERSONALITY,
        "availability_zone": OPTIONAL_NAME,
        "block_device_mapping": {"type": ["array", "null"], "items": obj(_LEGACY_BDM)},
        "block_device_mapping_v2": {"type": ["array", "null"], "items": obj(_BDM_V2)},
        "config_drive": BOOLEAN,
        "key_name": OPTIONAL_NAME,
        "min_count": POSITIVE_INTEGER,
        "max_count": POSITIVE_INTEGER,
        "return_reservation_id": BOOLEAN,
        "security_groups": {"type": ["array", "null"], "items": obj({"name": OPTIONAL_NAME})},
        "user_data": {"type": ["string", "null"], "maxLength": 65535},
        # Tags at create are Nova's 2.52, above our 2.38; but openstacksdk (and
        # so Ansible's openstack.cloud.server) sends "tags": [] at any version.
        # An empty list is taken; tags are set with PUT /servers/{id}/tags.
        "tags": {"type": "array", "maxItems": 0},
    }, required=("name", "flavorRef")),
    "os:scheduler_hints": _HINTS,
    "OS-SCH-HNT:scheduler_hints": _HINTS,
}, required=("server",))

# The name and, from 2.19, the description (servers.py says which may change).
SERVER_UPDATE = wrapped("server", obj({"name": NAME, "description": DESCRIPTION,
                                       "accessIPv4": ACCESS_IP, "accessIPv6": ACCESS_IP,
                                       "OS-DCF:diskConfig": DISK_CONFIG}))

SERVER_METADATA = wrapped("metadata", METADATA | {"type": "object"})
SERVER_META = wrapped("meta", METADATA | {"type": "object", "minProperties": 1,
                                          "maxProperties": 1})
SERVER_TAGS = wrapped("tags", {"type": "array", "items": TAG, "maxItems": 50})

# --- server actions (POST /servers/{id}/action: one key, the action) --------------------
_CONSOLE = {"os-getSerialConsole": ["serial"], "os-getVNCConsole": ["novnc", "xvpvnc"],
            "os-getSPICEConsole": ["spice-html5"], "os-getRDPConsole": ["rdp-html5"]}
ACTIONS: dict[str, dict] = {
    **{name: NOTHING for name in ("os-start", "os-stop", "pause", "unpause", "suspend",
                                  "resume", "lock", "unlock", "shelve", "shelveOffload",
                                  "unshelve", "confirmResize", "revertResize", "migrate")},
    "reboot": obj({"type": {"type": "string"}}, ("type",)),   # SOFT or HARD, any case
    "createImage": obj({"name": {"type": "string"}, "metadata": METADATA}, ("name",)),
    "createBackup": obj({"name": {"type": "string"}, "backup_type": {"type": "string"},
                         "rotation": NON_NEGATIVE_INTEGER, "metadata": METADATA},
                        ("name", "backup_type", "rotation")),
    "os-getConsoleOutput": {**obj({"length": {"type": ["integer", "string", "null"],
                                              "pattern": "^-?[0-9]+$", "minimum": -1}}),
                            "type": ["object", "null"]},
    "rebuild": obj({"imageRef": {"type": "string"}, "name": NAME,
                    "description": DESCRIPTION, "adminPass": {"type": "string"},
                    "metadata": METADATA, "preserve_ephemeral": BOOLEAN,
                    "OS-DCF:diskConfig": DISK_CONFIG, "accessIPv4": ACCESS_IP,
                    "accessIPv6": ACCESS_IP, "personality": PERSONALITY},
                   ("imageRef",)),
    "resize": obj({"flavorRef": FLAVOR_REF, "OS-DCF:diskConfig": DISK_CONFIG},
                  ("flavorRef",)),
    **{name: obj({"type": {"type": "string", "enum": kinds}}, ("type",))
       for name, kinds in _CONSOLE.items()},
}
SERVER_ACTION = {"type": "object", "minProperties": 1, "maxProperties": 1,
                 "properties": ACTIONS, "additionalProperties": False}

VOLUME_ATTACHMENT = wrapped("volumeAttachment", obj({
    "volumeId": UUID,
    "device": {"type": ["string", "null"],
               "pattern": "(^/dev/x{0,1}[a-z]{0,1}d{0,1})([a-z]+)[0-9]*$"}},
    ("volumeId",)))
# Nova's: the attachment itself may be left out (any free network then).
INTERFACE = obj({"interfaceAttachment": obj({
    "net_id": UUID, "port_id": UUID,
    "fixed_ips": {"type": "array", "maxItems": 1,
                  "items": obj({"ip_address": IP_ADDRESS}, ("ip_address",))}})})
REMOTE_CONSOLE = wrapped("remote_console", obj({
    "protocol": {"type": "string", "enum": ["vnc", "spice", "serial", "rdp"]},
    "type": {"type": "string",
             "enum": ["novnc", "xvpvnc", "spice-html5", "serial", "rdp-html5"]}},
    ("protocol", "type")))

# Nova's schemas/server_external_events.py (services call it: Neutron, Cinder).
EXTERNAL_EVENTS = obj({"events": {"type": "array", "minItems": 1, "items": obj({
    "name": {"type": "string", "enum": list(EVENT_NAMES)},
    "server_uuid": UUID,
    "status": {"type": "string", "enum": list(EVENT_STATUSES)},
    "tag": {"type": "string", "maxLength": 255}}, ("name", "server_uuid"))}},
    ("events",))

# --- flavors and key pairs ---------------------------------------------------------------
FLAVOR_CREATE = wrapped("flavor", obj({
    "name": NAME,
    "id": {"type": ["string", "null"], "maxLength": 255},
    "ram": POSITIVE_INTEGER, "vcpus": POSITIVE_INTEGER, "disk": NON_NEGATIVE_INTEGER,
    "OS-FLV-EXT-DATA:ephemeral": NON_NEGATIVE_INTEGER, "swap": NON_NEGATIVE_INTEGER,
    "rxtx_factor": {"type": ["number", "string"], "pattern": "^[0-9]+(\\.[0-9]+)?$",
                    "exclusiveMinimum": 0},
    "os-flavor-access:is_public": BOOLEAN,
    "description": {"type": ["string", "null"], "maxLength": 65535}},
    ("name", "ram", "vcpus", "disk")))
_SPEC_VALUE = {"type": ["string", "number"]}
EXTRA_SPECS = wrapped("extra_specs", {"type": "object", "minProperties": 1,
                                      "propertyNames": {"minLength": 1, "maxLength": 255},
                                      "additionalProperties": _SPEC_VALUE})
EXTRA_SPEC = {"type": "object", "minProperties": 1, "maxProperties": 1,
              "propertyNames": {"minLength": 1, "maxLength": 255},
              "additionalProperties": _SPEC_VALUE}
KEYPAIR_CREATE = wrapped("keypair", obj({
    "name": NAME, "public_key": {"type": "string"},
    "type": {"type": "string", "enum": ["ssh", "x509"]},     # 2.2
    "user_id": {"type": "string"}},                          # 2.10
    ("name",)))

# --- the image proxy's metadata (/images/{id}/metadata, below 2.36) ----------------------
_IMAGE_METADATA = {"type": "object",
                   "patternProperties": {"^[a-zA-Z0-9-_:. ]{1,255}$":
                                         {"type": "string", "maxLength": 255}},
                   "additionalProperties": False}
IMAGE_METADATA = wrapped("metadata", _IMAGE_METADATA)
IMAGE_META = wrapped("meta", {**_IMAGE_METADATA, "minProperties": 1, "maxProperties": 1})
