"""Checking the parts of a server request that need no database: name,
metadata, user_data, counts, networks and security groups (their syntax:
domain/networks.py), and the hostname a name becomes.

Messages follow Nova's "Invalid input for field/attribute ..." so the
client shows the user what to fix (400).
"""
from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field

from computed.domain.networks import (
    UNSPECIFIED,
    InvalidNetworks,
    NetworkRequest,
    check_count,
    parse_networks,
    parse_security_groups,
)
from shared.strutils import NotABoolean, bool_from_string

MAX_USER_DATA = 65535  # characters of base64, as Nova
MAX_NAME = 255
MAX_COUNT = 10
HOSTNAME_MAX = 63


class InvalidRequest(ValueError):
    """400 with this message."""


def _field_error(name: str, value, why: str) -> InvalidRequest:
    return InvalidRequest(f"Invalid input for field/attribute {name}. Value: {value}. {why}")


def check_name(name) -> str:
    if not isinstance(name, str):
        raise _field_error("name", name, "A name is a string.")
    if not 1 <= len(name) <= MAX_NAME or name != name.strip():
        raise _field_error("name", name, "A name is 1 to 255 characters without leading "
                                         "or trailing spaces.")
    return name


def check_metadata(metadata, max_items: int) -> dict[str, str]:
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise _field_error("metadata", metadata, "Metadata is an object of strings.")
    for key, value in metadata.items():
        if not isinstance(key, str) or not 1 <= len(key) <= 255:
            raise _field_error("metadata", metadata, "Keys are 1 to 255 characters.")
        if not isinstance(value, str) or len(value) > 255:
            raise _field_error("metadata", metadata, "Values are strings of at most 255 "
                                                     "characters.")
    if len(metadata) > max_items:
        raise QuotaError(f"Quota exceeded for metadata_items: {len(metadata)} items, "
                         f"{max_items} allowed.")
    return dict(metadata)


class QuotaError(Exception):
    """403, as Nova answers a request over quota."""


def decode_user_data(user_data) -> bytes | None:
    """The base64 user_data of the request, decoded; None when absent."""
    if user_data is None:
        return None
    if not isinstance(user_data, str):
        raise _field_error("user_data", user_data, "user_data is a base64 string.")
    if len(user_data) > MAX_USER_DATA:
        raise _field_error("user_data", "...", f"It is longer than {MAX_USER_DATA} "
                                               f"characters.")
    try:
        return base64.b64decode(user_data, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest("User data needs to be valid base 64.") from None


def parse_bool(value, name: str) -> bool:
    """A boolean field of the body, with OpenStack's strict words."""
    try:
        return bool_from_string(value)
    except NotABoolean as exc:
        raise _field_error(name, value, str(exc)) from None


def parse_counts(body: dict) -> tuple[int, int]:
    def number(name: str, default: int) -> int:
        value = body.get(name, default)
        try:
            parsed = int(value)
        except (TypeError, ValueError):
            raise _field_error(name, value, "It is not an integer.") from None
        if parsed < 1:
            raise _field_error(name, value, "It must be at least 1.")
        return parsed
    # Nova: max_count defaults to min_count (`--min 3` alone makes three).
    minimum = number("min_count", 1)
    maximum = number("max_count", minimum)
    if minimum > maximum:
        raise InvalidRequest("min_count must be <= max_count")
    if maximum > MAX_COUNT:
        raise _field_error("max_count", maximum, f"At most {MAX_COUNT} servers per "
                                                 f"request here.")
    return minimum, maximum


def hostname_for(display_name: str) -> str:
    """A DNS label made from the display name, as Nova sanitizes it:
    lower case, letters, digits and hyphens, at most 63 characters."""
    text = display_name.lower().replace("_", "-").replace(" ", "-")
    text = re.sub(r"[^a-z0-9.-]", "", text)
    text = re.sub(r"[.-]+$", "", re.sub(r"^[.-]+", "", text))
    text = text.replace(".", "-")
    return (text[:HOSTNAME_MAX].rstrip("-")) or "server"


@dataclass
class ServerRequest:
    """A checked POST /servers body (the parts that need the database, the
    flavor, the image, the key pair and the volumes, are checked by the API)."""
    name: str
    image_ref: str | None
    flavor_ref: str
    key_name: str | None = None
    user_data: bytes | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    config_drive: bool = False
    min_count: int = 1
    max_count: int = 1
    availability_zone: str | None = None
    networks: NetworkRequest = field(default_factory=lambda: NetworkRequest(UNSPECIFIED))
    security_groups: list[str] = field(default_factory=list)  # names or ids, as sent


def parse_server_request(body: dict, max_metadata: int,
                         version: tuple[int, int] = (2, 1)) -> ServerRequest:
    """The body of POST /servers at compute microversion `version`."""
    server = body.get("server")
    if not isinstance(server, dict):
        raise InvalidRequest("Invalid input: the body must be {\"server\": {...}}.")
    flavor_ref = server.get("flavorRef")
    if flavor_ref in (None, ""):
        raise _field_error("flavorRef", flavor_ref, "flavorRef is required.")
    image_ref = server.get("imageRef")
    if image_ref is not None and not isinstance(image_ref, str):
        raise _field_error("imageRef", image_ref, "imageRef is a string.")
    key_name = server.get("key_name")
    if key_name is not None and (not isinstance(key_name, str) or not key_name):
        raise _field_error("key_name", key_name, "key_name is a non-empty string.")
    minimum, maximum = parse_counts(server)
    try:
        networks = parse_networks(server.get("networks"), version, "networks" in server)
        check_count(networks, maximum)
        security_groups = parse_security_groups(server.get("security_groups"))
    except InvalidNetworks as exc:
        raise InvalidRequest(str(exc)) from None
    zone = server.get("availability_zone")
    if zone not in (None, "", "nova"):
        raise InvalidRequest(f"The requested availability zone is not available: {zone}. "
                             f"There is one zone, nova.")
    return ServerRequest(
        name=check_name(server.get("name")),
        image_ref=_image_id(image_ref),
        flavor_ref=_last_segment(str(flavor_ref)),
        key_name=key_name,
        user_data=decode_user_data(server.get("user_data")),
        metadata=check_metadata(server.get("metadata"), max_metadata),
        config_drive=parse_bool(server.get("config_drive", False), "config_drive"),
        min_count=minimum, max_count=maximum, availability_zone=zone or None,
        networks=networks, security_groups=security_groups)


def _last_segment(ref: str) -> str:
    """imageRef and flavorRef may be URLs (".../flavors/1"): keep the id."""
    return ref.rstrip("/").rsplit("/", 1)[-1]


def _image_id(image_ref: str | None) -> str | None:
    return _last_segment(image_ref) if image_ref else None
