"""Request bodies checked against a JSON schema, as Keystone, Nova and Cinder
check theirs (their `validation` packages): one schema says what a body may
hold, the handler checks it with `checked(...)` after its policy check, and
the same schema is published in the service's OpenAPI document
(`shared.openapi.describe(request=...)`), so the document cannot promise what
the service refuses, nor the reverse.

A body that breaks the schema is a 400 naming the field and why, in the
words of Keystone's "Invalid input for field ..." messages by default; a
service whose API words it otherwise passes its own wording (`message=`):
Nova's and Cinder's `nova_message` here, Neutron's in networkd.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import cache

import jsonschema
import orjson
from jsonschema.exceptions import ValidationError as Problem

from shared.errors import BadRequest


def checked(body, schema: dict, message: Callable[[Problem], str] | None = None):
    """`body` itself when it matches `schema`; else 400 with the most
    relevant problem found, worded by `message` (default: Keystone's)."""
    error = problem(body, schema)
    if error is None:
        return body
    raise BadRequest((message or keystone_message)(error))


def problem(body, schema: dict) -> Problem | None:
    """The most relevant way `body` breaks `schema` (jsonschema's
    best_match), or None."""
    return jsonschema.exceptions.best_match(validator(_frozen(schema)).iter_errors(body))


def keystone_message(error: Problem) -> str:
    field = "/".join(str(part) for part in error.absolute_path) or "body"
    return f"Invalid input for field '{field}': {error.message}"


def nova_message(error: Problem) -> str:
    """Nova's and Cinder's words (their api/validation/validators.py): the
    innermost field, its value, then why; a problem with the body as a
    whole is the reason alone."""
    if not error.absolute_path:
        return error.message
    return (f"Invalid input for field/attribute {error.absolute_path[-1]}. "
            f"Value: {error.instance}. {error.message}")


def _frozen(schema: dict) -> bytes:
    return orjson.dumps(schema, option=orjson.OPT_SORT_KEYS)


@cache
def validator(frozen: bytes) -> jsonschema.protocols.Validator:
    """One compiled validator per schema (schemas are module constants)."""
    schema = orjson.loads(frozen)
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return cls(schema)
