"""JSON schemas of volumed's request bodies, in the shapes of Cinder's own
(cinder/api/schemas): handlers check bodies against them
(shared.validation) and the OpenAPI document publishes them."""
from __future__ import annotations

from volumed.domain import quotas

NAME = {"type": "string", "minLength": 1, "maxLength": 255}
DESCRIPTION = {"type": ["string", "null"], "maxLength": 255}
# A boolean or one of Cinder's words for one (checked by shared.strutils).
BOOLEAN = {"type": ["boolean", "string"]}
EXTRA_SPECS = {"type": "object",
               "propertyNames": {"minLength": 1, "maxLength": 255},
               "additionalProperties": {"type": "string", "maxLength": 255}}

TYPE_CREATE = {"type": "object", "required": ["volume_type"], "properties": {"volume_type": {
    "type": "object", "required": ["name"], "properties": {
        "name": NAME, "description": DESCRIPTION, "extra_specs": EXTRA_SPECS,
        "os-volume-type-access:is_public": BOOLEAN}}}}
TYPE_UPDATE = {"type": "object", "properties": {"volume_type": {
    "type": "object", "properties": {
        "name": NAME, "description": DESCRIPTION, "is_public": BOOLEAN}}}}

TEXT = {"type": ["string", "null"], "maxLength": 255}
ID = {"type": ["string", "null"], "maxLength": 255}   # an id; what it names is looked up
METADATA = {**EXTRA_SPECS, "type": ["object", "null"]}

VOLUME_CREATE = {"type": "object", "required": ["volume"], "properties": {"volume": {
    "type": "object", "properties": {
        "name": TEXT, "display_name": TEXT,
        "description": {"type": ["string", "null"], "maxLength": 65535},
        "display_description": {"type": ["string", "null"], "maxLength": 65535},
        "size": {"type": ["integer", "string", "null"]},   # parse_size says what is allowed
        "volume_type": ID, "snapshot_id": ID, "source_volid": ID, "backup_id": ID,
        "imageRef": ID, "image_id": ID, "availability_zone": ID,
        "consistencygroup_id": ID, "group_id": ID, "metadata": METADATA,
        "multiattach": BOOLEAN}}}}
SNAPSHOT_CREATE = {"type": "object", "required": ["snapshot"], "properties": {"snapshot": {
    "type": "object", "required": ["volume_id"], "properties": {
        "volume_id": {"type": "string", "minLength": 1, "maxLength": 255},
        "name": TEXT, "display_name": TEXT,
        "description": DESCRIPTION, "display_description": DESCRIPTION,
        "force": BOOLEAN, "metadata": METADATA}}}}
ATTACHMENT_CREATE = {"type": "object", "required": ["attachment"], "properties": {
    "attachment": {"type": "object", "required": ["volume_uuid"], "properties": {
        "volume_uuid": {"type": "string", "minLength": 1, "maxLength": 255},
        "instance_uuid": ID, "connector": {"type": ["object", "null"]},
        "mode": {"type": ["string", "null"]}}}}}

# --- POST /volumes/{id}/action: one key, the action (cinder/api/schemas/
# volume_actions.py and admin_actions.py); what a value means (a status, a
# size the quota allows, a mode the read-only flag allows) the flows say.
UUID = {"type": "string", "format": "uuid"}
NOTHING: dict = {}                                    # an action without arguments
SIZE = {"type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 1}
CONNECTOR = {"type": ["object", "string", "null"]}


def _argument(properties: dict, required: tuple[str, ...] = (),
              nullable: bool = False) -> dict:
    schema: dict = {"type": ["object", "null"] if nullable else "object",
                    "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = list(required)
    return schema


VOLUME_ACTIONS: dict[str, dict] = {
    "os-extend": _argument({"new_size": SIZE}, ("new_size",)),
    "os-reset_status": _argument({"status": TEXT, "attach_status": TEXT,
                                  "migration_status": TEXT}),
    "os-force_delete": NOTHING,
    "os-volume_upload_image": _argument({
        "image_name": NAME, "force": BOOLEAN,
        "disk_format": {"type": "string",
                        "enum": ["raw", "vmdk", "vdi", "qcow2", "vhd", "vhdx", "ploop"]},
        "container_format": DESCRIPTION,
        "visibility": {"type": "string",
                       "enum": ["community", "public", "private", "shared"]},   # 3.1
        "protected": BOOLEAN}, ("image_name",)),
    "os-reserve": NOTHING, "os-unreserve": NOTHING,
    "os-begin_detaching": NOTHING, "os-roll_detaching": NOTHING,
    "os-initialize_connection": _argument({"connector": CONNECTOR}, ("connector",)),
    "os-terminate_connection": _argument({"connector": CONNECTOR}, ("connector",)),
    "os-attach": _argument({"instance_uuid": UUID,
                            "mountpoint": {"type": "string", "minLength": 1,
                                           "maxLength": 255},
                            "host_name": {"type": "string", "maxLength": 255},
                            "mode": {"type": "string", "enum": ["rw", "ro"]}}),
    "os-detach": _argument({"attachment_id": {"type": ["string", "null"]}}, nullable=True),
    "os-set_bootable": _argument({"bootable": BOOLEAN}, ("bootable",)),
    "os-retype": _argument({"new_type": {"type": "string"},
                            "migration_policy": {"type": ["string", "null"],
                                                 "enum": ["on-demand", "never", None]}},
                           ("new_type",)),
    "os-update_readonly_flag": _argument({"readonly": BOOLEAN}, ("readonly",)),
    "revert": _argument({"snapshot_id": {"type": ["string", "null"]}}),   # 3.40
}
VOLUME_ACTION = {"type": "object", "minProperties": 1, "maxProperties": 1,
                 "properties": VOLUME_ACTIONS, "additionalProperties": False}

# The admin actions of snapshots and backups (cinder/api/schemas/
# admin_actions.py): one of the two, by its key.
ADMIN_ACTION = {"type": "object", "minProperties": 1, "maxProperties": 1,
                "additionalProperties": False, "properties": {
                    "os-reset_status": _argument({"status": TEXT}, nullable=True),
                    "os-force_delete": NOTHING}}
ATTACHMENT_ACTION = {"type": "object", "required": ["os-complete"],
                     "properties": {"os-complete": NOTHING}}
VOLUME_UPDATE = {"type": "object", "required": ["volume"], "properties": {"volume": {
    "type": "object", "properties": {
        "name": TEXT, "display_name": TEXT,
        "description": {"type": ["string", "null"], "maxLength": 65535},
        "display_description": {"type": ["string", "null"], "maxLength": 65535},
        "metadata": METADATA}}}}
VOLUME_METADATA = {"type": "object", "required": ["metadata"],
                   "properties": {"metadata": {**METADATA, "type": "object"}}}
VOLUME_META = {"type": "object", "required": ["meta"],
               "properties": {"meta": {**METADATA, "type": "object", "minProperties": 1,
                                       "maxProperties": 1}}}

# --- the other bodies, each in the shape of Cinder's schema of the same name
# (cinder/api/schemas/<module>.py: the module's create/update). Where a
# handler checks part of a body by hand first, its words are the ones
# clients have seen; the schema refuses the rest, in Cinder's words.
ATTACHMENT_UPDATE = {   # attachments.update
    "type": "object", "required": ["attachment"], "additionalProperties": False,
    "properties": {"attachment": {
        "type": "object", "required": ["connector"], "additionalProperties": False,
        "properties": {"connector": {"type": "object", "minProperties": 1}}}}}

SNAPSHOT_UPDATE = {   # snapshots.update: at least one of the four
    "type": "object", "required": ["snapshot"], "additionalProperties": False,
    "properties": {"snapshot": {
        "type": "object", "additionalProperties": False,
        "properties": {"name": TEXT, "display_name": TEXT,
                       "description": DESCRIPTION, "display_description": DESCRIPTION},
        "anyOf": [{"required": [key]} for key in
                  ("name", "description", "display_name", "display_description")]}}}
# snapshot_metadata.create / update_all (POST and PUT): the shape of a
# volume's metadata body.
SNAPSHOT_METADATA = VOLUME_METADATA

TYPE_EXTRA_SPECS = {   # types_extra_specs.create
    "type": "object", "required": ["extra_specs"], "additionalProperties": False,
    "properties": {"extra_specs": EXTRA_SPECS}}

# backups.create, update and restore. One schema serves every microversion
# volumed speaks: metadata (3.43) is in it, and the handlers refuse it below
# that version.
BACKUP_METADATA = METADATA
BACKUP_CREATE = {
    "type": "object", "required": ["backup"], "additionalProperties": False,
    "properties": {"backup": {
        "type": "object", "required": ["volume_id"], "additionalProperties": False,
        "properties": {
            "volume_id": UUID, "snapshot_id": {"type": ["string", "null"], "format": "uuid"},
            "name": TEXT, "description": TEXT, "container": TEXT,
            "incremental": BOOLEAN, "force": BOOLEAN, "metadata": BACKUP_METADATA}}}}
BACKUP_UPDATE = {   # 3.9
    "type": "object", "required": ["backup"], "additionalProperties": False,
    "properties": {"backup": {
        "type": ["object", "null"], "additionalProperties": False,
        "properties": {"name": TEXT, "description": TEXT, "metadata": BACKUP_METADATA}}}}
BACKUP_RESTORE = {
    "type": "object", "required": ["restore"], "additionalProperties": False,
    "properties": {"restore": {
        "type": ["object", "null"], "additionalProperties": False,
        "properties": {"name": TEXT,
                       "volume_id": {"type": ["string", "null"], "format": "uuid"}}}}}

# quotas.update: a quota_set of at least one key. Cinder's own format check
# ('quota_set') says which keys (the resources, and tenant_id and id, which
# it ignores) and that each limit is a whole number from -1 (no limit) up to
# the largest integer its database holds; here the schema says it.
MAX_INT = 2**31 - 1   # the largest integer Cinder's database holds (DB_MAX_INT)
QUOTA_LIMIT = {"type": ["integer", "string"], "pattern": "^-?[0-9]+$",
               "minimum": -1, "maximum": MAX_INT}
QUOTA_UPDATE = {
    "type": "object", "required": ["quota_set"], "additionalProperties": False,
    "properties": {"quota_set": {
        "type": "object", "minProperties": 1, "additionalProperties": False,
        "properties": {"tenant_id": {}, "id": {},
                       **{resource: QUOTA_LIMIT for resource in quotas.RESOURCES}}}}}
