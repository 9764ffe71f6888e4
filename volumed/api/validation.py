"""The type checks of Cinder's request schemas (cinder/api/schemas) that
volumed's handlers share: names and descriptions are strings (or null),
metadata and extra specs map strings to strings, flags are booleans in
Cinder's spellings. Each failure is a 400 naming the field, as Cinder's
"Invalid input for field/attribute ..."."""
from __future__ import annotations

from shared.errors import BadRequest
from shared.strutils import NotABoolean, bool_from_string

MAX_LENGTH = 255


def invalid(name: str, value, why: str) -> BadRequest:
    return BadRequest(f"Invalid input for field/attribute {name}. Value: {value}. {why}")


def optional_text(spec: dict, name: str, max_length: int = MAX_LENGTH) -> None:
    """spec[name], when given, is a string (or null) of at most max_length."""
    value = spec.get(name)
    if value is None:
        return
    if not isinstance(value, str):
        raise invalid(name, value, f"{value!r} is not of type 'string', 'null'")
    if len(value) > max_length:
        raise invalid(name, value, f"{value!r} is too long")


def string_map(name: str, items) -> dict[str, str]:
    """metadata / extra_specs: an object whose keys (1 to 255 characters)
    and values (at most 255) are strings."""
    if not isinstance(items, dict):
        raise invalid(name, items, f"{items!r} is not of type 'object'")
    for key, value in items.items():
        if not 1 <= len(key) <= MAX_LENGTH:
            raise invalid(name, items, f"{key!r} does not match any of the regexes")
        if not isinstance(value, str):
            raise invalid(name, items, f"{value!r} is not of type 'string'")
        if len(value) > MAX_LENGTH:
            raise invalid(name, items, f"{value!r} is too long")
    return dict(items)


def optional_boolean(spec: dict, name: str) -> None:
    """spec[name], when given, is a boolean or one of Cinder's words for one."""
    value = spec.get(name)
    if value is None or isinstance(value, bool):
        return
    try:
        bool_from_string(value)
    except NotABoolean:
        raise invalid(name, value, f"{value!r} is not one of Cinder's booleans") from None
