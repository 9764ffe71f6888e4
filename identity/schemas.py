"""The JSON schemas of identity's request bodies for projects, users and
roles: the shapes Keystone's own schemas allow (keystone/*/schema.py), with
the limits identity keeps (a name of 1 to 64 characters). Handlers check
bodies against them (shared.validation) and the OpenAPI document publishes
them. Keystone lets a body carry attributes it does not know; so does this."""
from __future__ import annotations

NAME = {"type": "string", "minLength": 1, "maxLength": 64}
NULLABLE_TEXT = {"type": ["string", "null"]}
ID = {"type": "string", "minLength": 1, "maxLength": 64}
NULLABLE_ID = {"type": ["string", "null"], "maxLength": 64}
# A boolean, or one of the words shared.strutils reads as one (checked there).
ENABLED = {"type": ["boolean", "string"]}


def _wrapped(key: str, properties: dict, required: list[str]) -> dict:
    """{key: {...}}: Keystone's bodies hold the resource under its name (an
    update without it changes nothing, as identity always allowed)."""
    return {"type": "object", "required": [key] if required else [], "properties": {key: {
        "type": "object", "required": required, "properties": properties}}}


PROJECT_PROPERTIES = {"name": NAME, "description": NULLABLE_TEXT, "enabled": ENABLED,
                      "domain_id": ID, "parent_id": NULLABLE_ID, "is_domain": {"type": "boolean"},
                      "tags": {"type": "array", "items": {"type": "string", "maxLength": 255}},
                      "options": {"type": "object"}}
USER_PROPERTIES = {"name": NAME, "description": NULLABLE_TEXT, "enabled": ENABLED,
                   "domain_id": ID, "default_project_id": NULLABLE_ID,
                   "email": NULLABLE_TEXT, "password": NULLABLE_TEXT,
                   "options": {"type": "object"}}
ROLE_PROPERTIES = {"name": NAME, "description": NULLABLE_TEXT, "domain_id": NULLABLE_ID,
                   "options": {"type": "object", "properties": {
                       "immutable": {"type": ["boolean", "null"]}}}}

PROJECT_CREATE = _wrapped("project", PROJECT_PROPERTIES, ["name"])
PROJECT_UPDATE = _wrapped("project", PROJECT_PROPERTIES, [])
USER_CREATE = _wrapped("user", USER_PROPERTIES, ["name"])
USER_UPDATE = _wrapped("user", USER_PROPERTIES, [])
ROLE_CREATE = _wrapped("role", ROLE_PROPERTIES, ["name"])

# POST /v3/auth/tokens, as keystone/auth/schema.py has it: what each method
# and each scope is made of (whether it names something real is checked later).
TEXT = {"type": "string"}
DOMAIN = {"type": "object", "properties": {"id": TEXT, "name": TEXT}}
NAMED_PROPERTIES = {"id": TEXT, "name": TEXT, "domain": DOMAIN}
NAMED = {"type": "object", "properties": NAMED_PROPERTIES}
AUTH = {"type": "object", "required": ["auth"], "properties": {"auth": {
    "type": "object", "required": ["identity"], "properties": {
        "identity": {"type": "object", "required": ["methods"], "properties": {
            "methods": {"type": "array", "items": TEXT},
            "password": {"type": "object", "properties": {"user": {
                "type": "object", "properties": {**NAMED_PROPERTIES, "password": TEXT}}}},
            "token": {"type": "object", "required": ["id"], "properties": {"id": TEXT}},
            "application_credential": {"type": "object", "properties": {
                "id": TEXT, "name": TEXT, "secret": TEXT, "user": NAMED}}}},
        "scope": {"type": ["object", "string"], "properties": {
            "project": NAMED, "domain": DOMAIN,
            "system": {"type": "object"}, "OS-TRUST:trust": {"type": "object"}}}}}}}
