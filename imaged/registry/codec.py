"""Domain objects to JSON and back, for the registry's wire.

Only the types listed in ALLOWED can come back out of a message: the
decoder never builds arbitrary classes from what it receives."""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from imaged.db.repository import DuplicateImage, DuplicateMember, Notice, StaleImage, Usage
from imaged.domain.image import Caller, Image, Location, Member
from imaged.domain.listing import Filter, ImageQuery
from shared.context import RequestContext

ALLOWED = {cls.__name__: cls for cls in (Image, Member, Location, ImageQuery, Filter, Caller,
                                         Notice, Usage, RequestContext)}
ERRORS = {"StaleImage": StaleImage, "DuplicateImage": DuplicateImage,
          "DuplicateMember": DuplicateMember}


def encode(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dt.datetime):
        return {"__datetime__": value.isoformat()}
    if isinstance(value, tuple):
        return {"__tuple__": [encode(item) for item in value]}
    if isinstance(value, list):
        return [encode(item) for item in value]
    if isinstance(value, dict):
        return {"__map__": [[encode(k), encode(v)] for k, v in value.items()]}
    if dataclasses.is_dataclass(value) and type(value).__name__ in ALLOWED:
        fields = {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, RequestContext):
            fields["auth_token"] = None  # tokens never travel to the registry
        return {"__type__": type(value).__name__, "fields": fields}
    raise TypeError(f"cannot send {type(value).__name__} to the registry")


def decode(value: Any) -> Any:
    if isinstance(value, list):
        return [decode(item) for item in value]
    if not isinstance(value, dict):
        return value
    if "__datetime__" in value:
        return dt.datetime.fromisoformat(value["__datetime__"])
    if "__tuple__" in value:
        return tuple(decode(item) for item in value["__tuple__"])
    if "__map__" in value:
        return {decode(k): decode(v) for k, v in value["__map__"]}
    if "__type__" in value:
        cls = ALLOWED.get(value["__type__"])
        if cls is None:
            raise ValueError(f"unknown type {value['__type__']!r} from the registry")
        return cls(**{name: decode(item) for name, item in value["fields"].items()})
    raise ValueError("malformed registry message")


def encode_error(exc: Exception) -> dict:
    if isinstance(exc, StaleImage):
        return {"type": "StaleImage", "args": [exc.image_id, exc.actual_status]}
    return {"type": type(exc).__name__, "args": [str(arg) for arg in exc.args]}


def decode_error(body: dict) -> Exception:
    cls = ERRORS.get(str(body.get("type")))
    if cls is None:
        return RuntimeError(f"registry error: {body}")
    return cls(*body.get("args", []))
