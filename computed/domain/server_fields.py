"""The syntax of a server's description (2.19) and tags (2.26), as Nova's
schemas (parameter_types.description and parameter_types.tag) check them.
Messages follow Nova's "Invalid input for field/attribute ..."."""
from __future__ import annotations

import unicodedata

MAX_DESCRIPTION = 255
MAX_TAG = 60
MAX_TAGS = 50           # Nova's objects.instance.MAX_TAG_COUNT


class InvalidField(ValueError):
    """400 with this message."""


def check_description(value) -> str | None:
    """A string of at most 255 printable characters, or null."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidField(f"Invalid input for field/attribute description. Value: {value}. "
                           f"{value!r} is not of type 'string', 'null'")
    if len(value) > MAX_DESCRIPTION:
        raise InvalidField(f"Invalid input for field/attribute description. Value: {value}. "
                           f"{value!r} is too long")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn") for c in value):
        raise InvalidField(f"Invalid input for field/attribute description. Value: {value}. "
                           f"{value!r} does not match the printable characters")
    return value


def tag_problem(tag) -> str | None:
    """Why `tag` is no tag (None when it is one)."""
    if not isinstance(tag, str):
        return f"{tag!r} is not of type 'string'"
    if not tag:
        return f"{tag!r} should be non-empty"
    if len(tag) > MAX_TAG:
        return f"{tag!r} is too long"
    if "/" in tag or "," in tag:
        return f"{tag!r} does not match '^[^,/]*$'"
    return None


def check_tags(value) -> list[str]:
    """The body of PUT /servers/{id}/tags: {"tags": [tag, ...]} (at most 50)."""
    def error(why: str) -> InvalidField:
        return InvalidField(f"Invalid input for field/attribute tags. Value: {value}. {why}")
    if not isinstance(value, dict) or "tags" not in value:
        raise InvalidField(f"Invalid input for field/attribute tags. Value: {value}. "
                           f"'tags' is a required property")
    extra = [key for key in value if key != "tags"]
    if extra:
        raise InvalidField(f"Additional properties are not allowed ({extra[0]!r} was "
                           f"unexpected)")
    tags = value["tags"]
    if not isinstance(tags, list):
        raise error(f"{tags!r} is not of type 'array'")
    if len(tags) > MAX_TAGS:
        raise error(f"{tags!r} is too long")
    for tag in tags:
        problem = tag_problem(tag)
        if problem:
            raise error(problem)
    return tags
