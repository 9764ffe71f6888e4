"""Request bodies checked against a JSON schema, as Keystone, Nova and Cinder
check theirs (their `validation` packages): one schema says what a body may
hold, the handler checks it with `checked(...)` after its policy check, and
the same schema is published in the service's OpenAPI document
(`shared.openapi.describe(request=...)`), so the document cannot promise what
the service refuses, nor the reverse.

A body that breaks the schema is a 400 naming the field and why, in the
words of Keystone's and Nova's "Invalid input for field ..." messages.
"""
from __future__ import annotations

from functools import cache

import jsonschema
import orjson

from shared.errors import BadRequest


def checked(body, schema: dict):
    """`body` itself when it matches `schema`; else 400 with the first
    problem found (the deepest, so the message names the field)."""
    error = jsonschema.exceptions.best_match(validator(_frozen(schema)).iter_errors(body))
    if error is None:
        return body
    field = "/".join(str(part) for part in error.absolute_path) or "body"
    raise BadRequest(f"Invalid input for field '{field}': {error.message}")


def _frozen(schema: dict) -> bytes:
    return orjson.dumps(schema, option=orjson.OPT_SORT_KEYS)


@cache
def validator(frozen: bytes) -> jsonschema.protocols.Validator:
    """One compiled validator per schema (schemas are module constants)."""
    schema = orjson.loads(frozen)
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return cls(schema)
