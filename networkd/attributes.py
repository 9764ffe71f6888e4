"""What a request body may carry, per resource: Neutron's attribute maps
(neutron_lib/api/definitions), reduced to what networkd uses.

Each attribute says whether POST and PUT may set it, whether POST needs it,
its default, and a converter that returns the clean value or raises
ValueError with Neutron's reason ("'abc' is not a valid IP address"). The
messages of a body that does not fit are Neutron's (HTTPBadRequest):

    Unable to find 'network' in request body
    Unrecognized attribute(s) 'colour'
    Failed to parse request. Required attribute 'network_id' not specified
    Cannot update read-only attribute network_id
    Invalid input for cidr. Reason: '10.0.0.0/33' is not a valid IP subnet.

A resource module declares its map once (a dict of Attr) and calls
parse_create / parse_update; the routers and security groups do the same.
"""
from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from networkd.errors import BadRequest

NAME_MAX_LEN = 255
DESCRIPTION_MAX_LEN = 255
UNSET = object()


class HTTPBadRequest(BadRequest):
    """webob's 400, which Neutron's API layer raises for a body that does
    not fit the attribute map."""
    template = "%(msg)s"


@dataclass(frozen=True)
class Attr:
    convert: Callable[[Any], Any]
    post: bool = True
    put: bool = True
    required: bool = False
    default: Any = UNSET            # a value, or a callable returning a fresh one


def parse_create(resource: str, body: Any, attrs: dict[str, Attr],
                 ignored: tuple[str, ...] = ()) -> dict[str, Any]:
    """The fields of a POST body, converted, with the defaults of what it
    leaves out (attributes without a default stay absent)."""
    given = _resource_body(resource, body, attrs, ignored)
    result = {}
    for name, attr in attrs.items():
        if name in given:
            if not attr.post:
                raise HTTPBadRequest(f"Attribute '{name}' not allowed in POST")
            result[name] = _convert(name, attr, given[name])
        elif attr.required:
            raise HTTPBadRequest(f"Failed to parse request. Required attribute '{name}' "
                                 "not specified")
        elif attr.default is not UNSET:
            result[name] = attr.default() if callable(attr.default) else attr.default
    return result


def parse_update(resource: str, body: Any, attrs: dict[str, Attr],
                 ignored: tuple[str, ...] = ()) -> dict[str, Any]:
    """The fields a PUT body changes, converted."""
    given = _resource_body(resource, body, attrs, ignored)
    result = {}
    for name, value in given.items():
        attr = attrs[name]
        if not attr.put:
            raise HTTPBadRequest(f"Cannot update read-only attribute {name}")
        result[name] = _convert(name, attr, value)
    return result


def _resource_body(resource: str, body: Any, attrs: dict[str, Attr],
                   ignored: tuple[str, ...]) -> dict:
    if not isinstance(body, dict) or not isinstance(body.get(resource), dict):
        raise HTTPBadRequest(f"Unable to find '{resource}' in request body")
    given = {k: v for k, v in body[resource].items() if k not in ignored}
    unknown = [name for name in given if name not in attrs]
    if unknown:
        raise HTTPBadRequest(f"Unrecognized attribute(s) '{', '.join(unknown)}'")
    return given


def _convert(name: str, attr: Attr, value: Any) -> Any:
    try:
        return attr.convert(value)
    except ValueError as exc:
        raise HTTPBadRequest(f"Invalid input for {name}. Reason: {exc}.") from None


# --- converters (each returns the clean value or raises ValueError(reason)) ------------
def string(max_len: int = NAME_MAX_LEN) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError(f"'{value}' is not a valid string")
        if len(value) > max_len:
            raise ValueError(f"'{value}' exceeds maximum length of {max_len}")
        return value
    return convert


def nullable_string(max_len: int = NAME_MAX_LEN) -> Callable[[Any], str]:
    """A string where null means empty (Neutron's description, device_id)."""
    inner = string(max_len)
    return lambda value: "" if value is None else inner(value)


def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (str, int)):
        text = str(value).strip().lower()
        if text in ("true", "1", "t", "yes", "y", "on"):
            return True
        if text in ("false", "0", "f", "no", "n", "off"):
            return False
    raise ValueError(f"'{value}' cannot be converted to boolean")


def uuid_string(value: Any) -> str:
    try:
        if isinstance(value, str):
            return str(uuid.UUID(value))
    except ValueError:
        pass
    raise ValueError(f"'{value}' is not a valid UUID")


def ip_address(value: Any) -> str:
    """An IPv4 address in its normal form."""
    try:
        if not isinstance(value, str):
            raise ValueError
        return str(ipaddress.IPv4Address(value))
    except ValueError:
        raise ValueError(f"'{value}' is not a valid IP address") from None


def nullable_ip_address(value: Any) -> str | None:
    return None if value is None else ip_address(value)


def subnet_cidr(value: Any) -> str:
    """An IPv4 network; host bits set is an error, as Neutron's
    validate_subnet ("'10.0.0.1/24' isn't a recognized IP subnet cidr,
    '10.0.0.0/24' is recommended")."""
    try:
        if not isinstance(value, str) or "/" not in value:
            raise ValueError
        loose = ipaddress.IPv4Network(value, strict=False)
    except ValueError:
        raise ValueError(f"'{value}' is not a valid IP subnet") from None
    if str(loose) != value:
        raise ValueError(f"'{value}' isn't a recognized IP subnet cidr, '{loose}' is "
                         "recommended")
    return str(loose)


def integer(minimum: int | None = None, maximum: int | None = None) -> Callable[[Any], int]:
    def convert(value: Any) -> int:
        try:
            if isinstance(value, bool):
                raise ValueError
            number = int(value)
        except (TypeError, ValueError, OverflowError):   # OverflowError: infinity
            raise ValueError(f"'{value}' is not an integer") from None
        if minimum is not None and number < minimum:
            raise ValueError(f"'{number}' is too small - must be at least '{minimum}'")
        if maximum is not None and number > maximum:
            raise ValueError(f"'{number}' is too large - must be no larger than '{maximum}'")
        return number
    return convert


def ip_version(value: Any) -> int:
    number = integer()(value)
    if number not in (4, 6):
        raise ValueError(f"{number} is not in [4, 6]")
    return number


def list_of(item: Callable[[Any], Any], unique: bool = True) -> Callable[[Any], list]:
    def convert(value: Any) -> list:
        if value is None:
            return []
        if not isinstance(value, list):
            raise ValueError(f"'{value}' is not a list")
        items = [item(v) for v in value]
        if unique:
            seen = set()
            for one in items:
                key = repr(one)
                if key in seen:
                    raise ValueError(f"Duplicate items in the list: '{one}'")
                seen.add(key)
        return items
    return convert


def dict_with(keys: dict[str, Callable[[Any], Any]], required: tuple[str, ...] = (),
              what: str = "dict") -> Callable[[Any], dict]:
    def convert(value: Any) -> dict:
        if not isinstance(value, dict):
            raise ValueError(f"'{value}' is not a dictionary")
        unknown = [k for k in value if k not in keys]
        if unknown:
            raise ValueError(f"Unexpected keys supplied: {', '.join(unknown)}")
        missing = [k for k in required if k not in value]
        if missing:
            raise ValueError(f"Validation of dictionary's keys failed. Expected keys: "
                             f"{set(required)} Provided keys: {set(value)}")
        return {k: keys[k](v) for k, v in value.items()}
    return convert


def any_dict(value: Any) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"'{value}' is not a dictionary")
    return value


MAC_RE = re.compile(r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$")


def mac_address(value: Any) -> str:
    text = str(value).lower().replace("-", ":") if isinstance(value, str) else ""
    if not MAC_RE.match(text) or text == "00:00:00:00:00:00" or int(text[:2], 16) & 1:
        raise ValueError(f"'{value}' is not a valid MAC address")
    return text


# --- shared attribute sets ------------------------------------------------------------
def standard_attrs() -> dict[str, Attr]:
    """name, description, project_id / tenant_id (admins may create for
    another project)."""
    return {
        "name": Attr(string(), default=""),
        "description": Attr(nullable_string(DESCRIPTION_MAX_LEN), default=""),
        "project_id": Attr(string(64), put=False),
        "tenant_id": Attr(string(64), put=False),
    }


def owner_of(fields: dict[str, Any], caller_project: str | None) -> str:
    """The project a new resource belongs to: project_id or tenant_id from
    the body (both must agree), else the caller's."""
    project, tenant = fields.pop("project_id", None), fields.pop("tenant_id", None)
    if project and tenant and project != tenant:
        raise HTTPBadRequest("'project_id' and 'tenant_id' do not match")
    return project or tenant or caller_project or ""
