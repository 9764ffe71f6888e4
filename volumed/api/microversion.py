"""Cinder's microversions: the client names the version it wants in
`OpenStack-API-Version: volume 3.N`; volumed answers in that version's shape.

volumed advertises 3.0 to MAX_VERSION and honours what it advertises:
  3.27  the attachments API
  3.44  attachments' os-complete action
  3.2   ?bootable= in volume lists is a strict boolean (before: any text but
        False/false/FALSE is true)
  3.13  group_id in a volume's details (always null: no groups here)
  3.21  provider_id in a volume's details, for admins
Anything above MAX_VERSION is refused with 406, as Cinder does.
Not honoured (answered with a clear 400 instead): extending an in-use volume
(3.42) and reverting to a snapshot (3.40).
"""
from __future__ import annotations

from flask import g, request

from shared.errors import ApiError, NotFound

MIN_VERSION = (3, 0)
MAX_VERSION = (3, 44)
HEADER = "OpenStack-API-Version"

VOLUME_LIST_BOOTABLE = (3, 2)
ATTACHMENTS = (3, 27)
ATTACHMENT_COMPLETE = (3, 44)
GROUP_VOLUME = (3, 13)
VOLUME_DETAIL_PROVIDER_ID = (3, 21)


def text(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


def parse_request_version() -> tuple[int, int]:
    """The version this request asked for (3.0 when it names none)."""
    wanted = None
    header = request.headers.get(HEADER, "")
    for part in header.split(","):
        words = part.strip().split()
        if len(words) == 2 and words[0].lower() == "volume":
            wanted = words[1]
    if wanted is None:
        return MIN_VERSION
    if wanted.lower() == "latest":
        return MAX_VERSION
    try:
        major, minor = (int(x) for x in wanted.split("."))
    except ValueError:
        raise ApiError(f"Invalid API version request string {wanted!r}.", 400) from None
    version = (major, minor)
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise ApiError(f"Version {wanted} is not supported by the API. Minimum is "
                       f"{text(MIN_VERSION)} and maximum is {text(MAX_VERSION)}.", 406)
    return version


def current() -> tuple[int, int]:
    return g.get("volume_api_version", MIN_VERSION)


def at_least(version: tuple[int, int]) -> bool:
    return current() >= version


def require(version: tuple[int, int]) -> None:
    """A resource that only exists from `version` on is 404 below it."""
    if not at_least(version):
        raise NotFound(f"The resource could not be found (it needs microversion "
                       f"{text(version)} or later; this request asked for "
                       f"{text(current())}).")
