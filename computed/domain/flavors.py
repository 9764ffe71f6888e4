"""Flavors: the sizes a server can have, and the rules for making one.

A flavor names every disk a server gets, which is why the defaults below
all have an ephemeral disk and the bigger ones a swap disk:

    root disk (vda)       disk GiB; 0 means "as big as the image"
    ephemeral (vdb)       OS-FLV-EXT-DATA:ephemeral GiB, lost when the server goes
    swap (next vdX)       swap MiB

The defaults fit a laptop: a student can run several m1.nano at once.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from shared.strutils import NotABoolean, bool_from_string

MAX_INT = 2 ** 31 - 1
FLAVOR_ID = re.compile(r"^(?! )[a-zA-Z0-9. _-]+(?<! )$")
NAME = re.compile(r"^(?! )[^\x00-\x1f\x7f]+(?<! )$")
EXTRA_SPEC_KEY = re.compile(r"^[\w.:-]+$")


@dataclass(frozen=True)
class FlavorSpec:
    flavorid: str
    name: str
    vcpus: int
    memory_mb: int
    root_gb: int
    ephemeral_gb: int = 0
    swap: int = 0  # MiB
    is_public: bool = True
    rxtx_factor: float = 1.0
    description: str | None = None


DEFAULT_FLAVORS = [
    FlavorSpec("1", "m1.nano", vcpus=1, memory_mb=128, root_gb=1, ephemeral_gb=1),
    FlavorSpec("2", "m1.tiny", vcpus=1, memory_mb=256, root_gb=1, ephemeral_gb=1, swap=128),
    FlavorSpec("3", "m1.small", vcpus=1, memory_mb=512, root_gb=5, ephemeral_gb=2, swap=256),
    FlavorSpec("4", "m1.medium", vcpus=2, memory_mb=1024, root_gb=10, ephemeral_gb=5,
               swap=512),
]


class InvalidFlavor(ValueError):
    """A bad flavor body; the message is for the user (400)."""


def _integer(body: dict, key: str, minimum: int, required: bool = True,
             default: int = 0) -> int:
    value = body.get(key)
    if value is None or value == "":
        if required:
            raise InvalidFlavor(f"Invalid input for field/attribute {key}. Value: None. "
                                f"{key} is required.")
        return default
    if isinstance(value, bool):
        raise InvalidFlavor(f"Invalid input for field/attribute {key}. Value: {value}. "
                            f"It is not an integer.")
    try:
        number = int(str(value).strip())
    except ValueError:
        raise InvalidFlavor(f"Invalid input for field/attribute {key}. Value: {value}. "
                            f"It is not an integer.") from None
    if not minimum <= number <= MAX_INT:
        raise InvalidFlavor(f"Invalid input for field/attribute {key}. Value: {value}. "
                            f"It must be between {minimum} and {MAX_INT}.")
    return number


def _boolean(value, key: str) -> bool:
    try:
        return bool_from_string(value)
    except NotABoolean as exc:
        raise InvalidFlavor(f"Invalid input for field/attribute {key}. Value: {value}. "
                            f"{exc}") from None


def parse_create(body: dict) -> FlavorSpec:
    """POST /flavors {"flavor": {...}} -> a FlavorSpec, or InvalidFlavor."""
    flavor = body.get("flavor")
    if not isinstance(flavor, dict):
        raise InvalidFlavor("Invalid input: the body must be {\"flavor\": {...}}.")
    name = flavor.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= 255 or not NAME.match(name):
        raise InvalidFlavor(f"Invalid input for field/attribute name. Value: {name}. "
                            f"A name is 1 to 255 printable characters, without leading "
                            f"or trailing spaces.")
    flavorid = flavor.get("id")
    if flavorid is None or flavorid == "":
        flavorid = str(uuid.uuid4())
    flavorid = str(flavorid)
    if len(flavorid) > 255 or not FLAVOR_ID.match(flavorid):
        raise InvalidFlavor(f"Invalid input for field/attribute id. Value: {flavorid}. "
                            f"An id is made of letters, digits, '.', '_', '-' and spaces.")
    rxtx = flavor.get("rxtx_factor", 1.0)
    try:
        rxtx = float(rxtx)
    except (TypeError, ValueError):
        raise InvalidFlavor(f"Invalid input for field/attribute rxtx_factor. "
                            f"Value: {rxtx}. It is not a number.") from None
    if rxtx <= 0:
        raise InvalidFlavor("Invalid input for field/attribute rxtx_factor. It must be "
                            "greater than 0.")
    description = flavor.get("description")
    if description is not None and (not isinstance(description, str)
                                    or len(description) > 65535):
        raise InvalidFlavor("Invalid input for field/attribute description.")
    return FlavorSpec(
        flavorid=flavorid, name=name,
        vcpus=_integer(flavor, "vcpus", 1),
        memory_mb=_integer(flavor, "ram", 1),
        root_gb=_integer(flavor, "disk", 0),
        ephemeral_gb=_integer(flavor, "OS-FLV-EXT-DATA:ephemeral", 0, required=False),
        swap=_integer(flavor, "swap", 0, required=False),
        is_public=_boolean(flavor.get("os-flavor-access:is_public", True), "is_public"),
        rxtx_factor=rxtx, description=description)


def parse_extra_specs(body: dict) -> dict[str, str]:
    """{"extra_specs": {"k": "v"}} (or one key for PUT) -> a checked dict."""
    specs = body.get("extra_specs", body)
    if not isinstance(specs, dict) or not specs:
        raise InvalidFlavor("Invalid input: extra_specs must be a non-empty object.")
    checked = {}
    for key, value in specs.items():
        if not isinstance(key, str) or not 1 <= len(key) <= 255 \
                or not EXTRA_SPEC_KEY.match(key):
            raise InvalidFlavor(f"Invalid extra spec key {key!r}: letters, digits, "
                                f"'_', '-', '.', ':' only, up to 255 characters.")
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise InvalidFlavor(f"Invalid extra spec value for {key!r}: a string or "
                                f"a number.")
        text = str(value)
        if len(text) > 255:
            raise InvalidFlavor(f"Invalid extra spec value for {key!r}: at most 255 "
                                f"characters.")
        checked[key] = text
    return checked


def parse_is_public_filter(value: str | None, is_admin: bool) -> bool | None:
    """The ?is_public= of GET /flavors: True (the default), False, or None
    for "all" (admins only; the real client sends the literal `None`);
    InvalidFlavor for a word that is none of these, as in Nova."""
    if value is None:
        return True
    if value.strip().lower() in ("none", "all"):
        return None if is_admin else True
    try:
        return bool_from_string(value)
    except NotABoolean as exc:
        raise InvalidFlavor(f"Invalid is_public filter [{value}]: {exc}") from None
