"""The rules for what a request may set, change and see.

Each function takes plain values and either returns the result or raises
the error Glance would answer with (400 bad value, 403 read-only or
reserved, 409 wrong status or missing property, 413 over a per-image quota).
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from imaged.domain import status as st
from imaged.domain.errors import IllegalTransition, InvalidInput, NotAllowed, QuotaExceeded
from imaged.domain.formats import FormatRules
from imaged.domain.image import (
    DISALLOWED_ON_CREATE,
    MAX_NAME,
    MAX_PROPERTY_KEY,
    MEMBER_STATUSES,
    READ_ONLY,
    RESERVED,
    RESERVED_PREFIX,
    VISIBILITIES,
    Caller,
    Image,
    Location,
    Member,
    new_image_id,
    utcnow,
)
from imaged.domain.patch import Change

# min_disk and min_ram are Glance's 32-bit Integer columns: a larger number
# is refused here rather than failing in the database.
MAX_INT = 2**31 - 1
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                     r"[0-9a-fA-F]{12}$")


@dataclass(frozen=True)
class ImageLimits:
    """Glance's per-image quotas (-1: no limit)."""
    members: int = 128
    properties: int = 128
    tags: int = 128
    locations: int = 10


def _over(limit: int, count: int) -> bool:
    return limit >= 0 and count > limit


# -- values ------------------------------------------------------------------

def check_core_value(name: str, value: Any, formats: FormatRules) -> Any:
    """The value to store for a writable core attribute, or 400."""
    if name == "name":
        if value is not None and (not isinstance(value, str) or len(value) > MAX_NAME):
            raise InvalidInput(f"Invalid name: it must be a string of at most {MAX_NAME} "
                               f"characters, or null.")
        return value
    if name == "visibility":
        if value not in VISIBILITIES:
            raise InvalidInput(f"Invalid visibility value {value!r}: allowed values are "
                               f"{', '.join(VISIBILITIES)}.")
        return value
    if name in ("protected", "os_hidden"):
        if not isinstance(value, bool):
            raise InvalidInput(f"Invalid {name} value {value!r}: it must be true or false.")
        return value
    if name in ("min_disk", "min_ram"):
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_INT:
            raise InvalidInput(f"Invalid {name} value {value!r}: it must be an integer from "
                               f"0 to {MAX_INT}.")
        return value
    if name == "disk_format":
        formats.check_disk_format(value)
        return value
    if name == "container_format":
        formats.check_container_format(value)
        return value
    if name == "tags":
        return check_tags(value)
    if name == "owner":
        if value is not None and (not isinstance(value, str) or len(value) > 255):
            raise InvalidInput("Invalid owner: it must be a project id.")
        return value
    raise InvalidInput(f"Unknown attribute {name}.")  # pragma: no cover


def check_tags(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        raise InvalidInput("Invalid tags: they must be a list of strings.")
    for tag in value:
        check_tag(tag)
    return list(dict.fromkeys(value))  # duplicates collapse, order kept


def check_tag(tag: str) -> None:
    if not tag or len(tag) > 255:
        raise InvalidInput("Invalid tag: a tag is 1 to 255 characters.")


def check_property(key: str, value: Any) -> None:
    """Extra properties are strings under names that are not reserved."""
    if key in READ_ONLY:
        raise NotAllowed(f"Attribute '{key}' is read-only.")
    if key in RESERVED or key.startswith(RESERVED_PREFIX):
        raise NotAllowed(f"Attribute '{key}' is reserved.")
    if len(key) > MAX_PROPERTY_KEY or not key:
        raise InvalidInput(f"Custom property names are 1 to {MAX_PROPERTY_KEY} characters.")
    if not isinstance(value, str):
        raise InvalidInput(f"Invalid value for property {key!r}: extra properties are "
                           f"strings ({value!r} is not).")


def check_limits(image: Image, limits: ImageLimits) -> None:
    if _over(limits.properties, len(image.properties)):
        raise QuotaExceeded(f"An image may have at most {limits.properties} extra properties "
                            f"(image_property_quota).")
    if _over(limits.tags, len(image.tags)):
        raise QuotaExceeded(f"An image may have at most {limits.tags} tags (image_tag_quota).")
    if _over(limits.locations, len(image.locations)):
        raise QuotaExceeded(f"An image may have at most {limits.locations} locations "
                            f"(image_location_quota).")


# -- create ------------------------------------------------------------------

def new_image(body: Any, caller: Caller, formats: FormatRules, limits: ImageLimits) -> Image:
    """The image a POST /v2/images body describes (status queued)."""
    if not isinstance(body, dict):
        raise InvalidInput("The request body must be a JSON object describing the image.")
    for key in DISALLOWED_ON_CREATE:
        if key in body:
            raise NotAllowed(f"Attribute '{key}' is read-only.")
    image_id = body.get("id")
    if image_id is not None and (not isinstance(image_id, str) or not UUID_RE.match(image_id)):
        raise InvalidInput(f"Invalid id {image_id!r}: an image id is a UUID.")
    now = utcnow()
    image = Image(id=(image_id or new_image_id()).lower(), owner=caller.project_id,
                  created_at=now, updated_at=now)
    for key, value in body.items():
        if key == "id":
            continue
        if key in ("name", "visibility", "protected", "os_hidden", "min_disk", "min_ram",
                   "disk_format", "container_format", "tags", "owner"):
            setattr(image, key, check_core_value(key, value, formats))
        else:
            check_property(key, value)
            image.properties[key] = value
    check_limits(image, limits)
    return image


# -- PATCH -------------------------------------------------------------------

@dataclass(frozen=True)
class CheckedLocation:
    """A location from a PATCH, checked against its store: the store said
    how big the data is; validation_data may bring its checksums."""
    location: Location
    size: int | None = None
    validation: dict | None = None


LocationLookup = Callable[[Any], CheckedLocation]


@dataclass
class PatchResult:
    image: Image
    changed: list[str]
    removed_locations: list[Location]
    added_locations: list[Location]


def apply_changes(image: Image, changes: list[Change], caller: Caller, formats: FormatRules,
                  limits: ImageLimits, *, locations_enabled: bool,
                  check_location: LocationLookup) -> PatchResult:
    """Apply PATCH operations, in order, to a copy of the image."""
    result = PatchResult(image.copy(), [], [], [])
    for change in changes:
        _apply_one(result, change, caller, formats, locations_enabled, check_location)
    check_limits(result.image, limits)
    return result


def _apply_one(result: PatchResult, change: Change, caller: Caller, formats: FormatRules,
               locations_enabled: bool, check_location: LocationLookup) -> None:
    image, name = result.image, change.attribute
    if name in READ_ONLY:
        raise NotAllowed(f"Attribute '{name}' is read-only.")
    if name in RESERVED or name.startswith(RESERVED_PREFIX):
        raise NotAllowed(f"Attribute '{name}' is reserved.")
    if name == "locations":
        _change_locations(result, change, locations_enabled, check_location)
        result.changed.append(name)
        return
    core = name in ("name", "visibility", "protected", "os_hidden", "min_disk", "min_ram",
                    "disk_format", "container_format", "tags", "owner")
    if change.op == "remove":
        if core:
            raise NotAllowed(f"Property {name} may not be removed.")
        if name not in image.properties:
            raise IllegalTransition(f"Property {name} does not exist.")
        del image.properties[name]
    elif core:
        value = check_core_value(name, change.value, formats)
        if name in ("disk_format", "container_format") and value != getattr(image, name) \
                and image.status != st.QUEUED:
            raise NotAllowed(f"Attribute {name} can be only replaced for a queued image "
                             f"(this one is {image.status}).")
        if name == "owner" and value != image.owner and not caller.is_admin:
            raise NotAllowed("Owner can't be updated by non admin.")
        setattr(image, name, value)
    else:
        if change.op == "replace" and name not in image.properties:
            raise IllegalTransition(f"Property {name} does not exist.")
        check_property(name, change.value)
        image.properties[name] = change.value
    result.changed.append(name)


def _change_locations(result: PatchResult, change: Change, enabled: bool,
                      check_location: LocationLookup) -> None:
    """Locations, as Glance with show_multiple_locations: add one (queued ->
    active, never through saving), remove one (the last one: active ->
    queued), or replace the list of a queued image."""
    image = result.image
    if not enabled:
        raise NotAllowed("It's not allowed to change locations if locations are invisible "
                         "(show_multiple_locations is off).")
    if change.op == "replace":
        if not isinstance(change.value, list) or not change.value:
            raise NotAllowed("Cannot set locations to an empty list.")
        if image.status not in (st.QUEUED, st.ACTIVE):
            raise IllegalTransition(f"It's not allowed to replace locations if image status "
                                    f"is {image.status}.")
        replacements = [check_location(raw) for raw in change.value]
        new = [item.location for item in replacements]
        kept = {loc.url for loc in new}
        result.removed_locations += [loc for loc in image.locations if loc.url not in kept]
        result.added_locations += [loc for loc in new
                                   if loc.url not in {old.url for old in image.locations}]
        image.locations = new
        if image.status == st.QUEUED:
            _activate_from_location(image, replacements[0])
        return
    position = change.path[1]
    if change.op == "add":
        if image.status not in (st.QUEUED, st.ACTIVE):
            raise IllegalTransition(f"It's not allowed to add locations if image status is "
                                    f"{image.status}.")
        index = _position(position, len(image.locations), allow_end=True)
        checked = check_location(change.value)
        location = checked.location
        if any(loc.url == location.url for loc in image.locations):
            raise InvalidInput(f"The location {location.url} is already present.")
        image.locations.insert(index, location)
        result.added_locations.append(location)
        if image.status == st.QUEUED:
            _activate_from_location(image, checked)
        return
    if image.status != st.ACTIVE:
        raise IllegalTransition(f"It's not allowed to remove locations if image status is "
                                f"{image.status}.")
    index = _position(position, len(image.locations), allow_end=False)
    result.removed_locations.append(image.locations.pop(index))
    if not image.locations:
        # The reference diagram's "active -> queued (last location removed)":
        # the record stays, without data, ready for a new upload or location.
        st.require(image.status, st.QUEUED, "remove the last location")
        image.status = st.QUEUED
        image.size = image.virtual_size = None
        image.checksum = image.os_hash_algo = image.os_hash_value = None


def _activate_from_location(image: Image, checked: CheckedLocation) -> None:
    st.require(image.status, st.ACTIVE, "add a location")
    image.status = st.ACTIVE
    image.size = checked.size
    image.virtual_size = checked.size if image.disk_format in ("raw", "iso") else None
    for key, value in (checked.validation or {}).items():
        setattr(image, key, value)


def _position(text: str, length: int, allow_end: bool) -> int:
    if text == "-":
        index = length if allow_end else length - 1
    elif text.isdigit():
        index = int(text)
    else:
        index = -1
    if not (0 <= index <= length if allow_end else 0 <= index < length):
        raise InvalidInput(f"Invalid position {text!r} for this location operation.")
    return index


# -- who sees what -----------------------------------------------------------

def can_see(image: Image, caller: Caller, membership: Member | None) -> bool:
    """Glance's visibility: admins see everything; others see their own
    images, public and community ones, and shared ones they are a member
    of (whatever the member status: pending members may look before they
    accept). Everything else is 404."""
    if image.status in st.GONE:
        return False
    if caller.is_admin or image.owner == caller.project_id:
        return True
    if image.visibility in ("public", "community"):
        return True
    return image.visibility == "shared" and membership is not None


def is_owner(image: Image, caller: Caller) -> bool:
    return caller.is_admin or (caller.project_id is not None and image.owner == caller.project_id)


def check_can_share(image: Image) -> None:
    if image.visibility != "shared":
        raise NotAllowed(f"Only shared images have members (image {image.id} is "
                         f"{image.visibility}).")


def check_member_status(value: Any) -> str:
    if value not in MEMBER_STATUSES:
        raise InvalidInput(f"Invalid member status {value!r}: allowed values are pending, "
                           f"accepted, rejected.")
    return value


def check_member_limit(current: int, limits: ImageLimits) -> None:
    if _over(limits.members, current + 1):
        raise QuotaExceeded(f"An image may have at most {limits.members} members "
                            f"(image_member_quota).")
