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
