"""Reading a PATCH body: a JSON-patch document in Glance's dialect.

PATCH /v2/images/{id} takes `application/openstack-images-v2.1-json-patch`
(RFC 6902 shaped: [{"op": "replace", "path": "/name", "value": "x"}]) or the
older v2.0 form ([{"replace": "/name", "value": "x"}]). Only add, replace and
remove exist; a path is one attribute ("/name", "/os_distro"), except
"/locations/N" or "/locations/-" for one location. Every mistake is a 400
that says which operation is wrong and why.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from imaged.domain.errors import InvalidInput, WrongMediaType

MEDIA_TYPES = {
    "application/openstack-images-v2.1-json-patch": "v2.1",
    "application/openstack-images-v2.0-json-patch": "v2.0",
}
OPERATIONS = ("add", "remove", "replace")
# How many path segments each attribute takes, per operation.
PATH_DEPTH = {"locations": {"add": 2, "remove": 2, "replace": 1}}
NO_VALUE = object()


@dataclass(frozen=True)
class Change:
    op: str
    path: tuple[str, ...]
    value: Any = NO_VALUE

    @property
    def attribute(self) -> str:
        return self.path[0]


def dialect_of(content_type: str | None) -> str:
    """The patch dialect for a Content-Type, or 415 naming the accepted ones."""
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type not in MEDIA_TYPES:
        raise WrongMediaType(f"Image PATCH expects Content-Type one of: "
                             f"{', '.join(sorted(MEDIA_TYPES))} (got {media_type or 'none'}).",
                             headers={"Accept-Patch": ", ".join(sorted(MEDIA_TYPES))})
    return MEDIA_TYPES[media_type]


def parse_changes(document: Any, dialect: str) -> list[Change]:
    if not isinstance(document, list):
        raise InvalidInput("Request body must be a JSON array of operation objects.")
    return [_parse_one(raw, dialect, index) for index, raw in enumerate(document)]


def _parse_one(raw: Any, dialect: str, index: int) -> Change:
    where = f"Operation {index}"
    if not isinstance(raw, dict):
        raise InvalidInput(f"{where}: operations must be JSON objects.")
    if dialect == "v2.1":
        op = raw.get("op")
        if op not in OPERATIONS:
            raise InvalidInput(f"{where}: invalid operation {op!r}: it must be one of "
                               f"{', '.join(OPERATIONS)}.")
        if "path" not in raw:
            raise InvalidInput(f"{where}: no 'path' member.")
        pointer = raw["path"]
    else:
        named = [key for key in OPERATIONS if key in raw]
        if len(named) != 1:
            raise InvalidInput(f"{where}: an operation object must contain exactly one "
                               f"member named add, remove or replace.")
        op = named[0]
        pointer = raw[op]
    path = decode_pointer(pointer, where)
    expected = PATH_DEPTH.get(path[0], {}).get(op, 1)
    if len(path) != expected:
        raise InvalidInput(f"{where}: invalid JSON pointer for this resource: "
                           f"'/{'/'.join(path)}'.")
    if op == "remove":
        return Change(op, path)
    if "value" not in raw:
        raise InvalidInput(f'{where}: operation "{op}" requires a member named "value".')
    return Change(op, path, raw["value"])


def decode_pointer(pointer: Any, where: str) -> tuple[str, ...]:
    """A JSON pointer ("/a/b", with ~1 for "/" and ~0 for "~") as its parts."""
    if not isinstance(pointer, str) or not pointer.startswith("/"):
        raise InvalidInput(f"{where}: pointer {pointer!r} does not start with '/'.")
    if pointer == "/" or re.search(r"/\s*/", pointer) or pointer.endswith("/"):
        raise InvalidInput(f"{where}: pointer {pointer!r} has an empty part.")
    if re.search("~[^01]", pointer) or pointer.endswith("~"):
        raise InvalidInput(f"{where}: pointer {pointer!r} contains '~' not part of a "
                           f"recognized escape sequence.")
    return tuple(part.replace("~1", "/").replace("~0", "~").strip()
                 for part in pointer[1:].split("/"))
