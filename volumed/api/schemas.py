"""JSON schemas of volumed's request bodies, in the shapes of Cinder's own
(cinder/api/schemas): handlers check bodies against them
(shared.validation) and the OpenAPI document publishes them."""
from __future__ import annotations

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
