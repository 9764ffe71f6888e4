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

The same map is the body's JSON schema (`request_schema`): each converter
carries the schema of the JSON it takes (`takes`), POST and PUT bodies are
checked against it first (shared.validation, in Neutron's words above), and
networkd's OpenAPI document publishes it. The schema says what JSON an
attribute may be; its converter then says whether the value is good (an
address, a CIDR, a range), with Neutron's reason.
"""
from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from networkd.errors import BadRequest
from shared.validation import Problem, problem

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

    @property
    def schema(self) -> dict:
        """The JSON the converter takes (any JSON when it does not say)."""
        return getattr(self.convert, "schema", {})


def takes(schema: dict) -> Callable[[Callable], Callable]:
    """Mark a converter with the schema of the JSON it takes."""
    def mark(convert: Callable) -> Callable:
        convert.schema = schema  # type: ignore[attr-defined]
        return convert
    return mark


POST, PUT = "POST", "PUT"


def request_schema(resource: str, attrs: dict[str, Attr], method: str,
                   ignored: tuple[str, ...] = ()) -> dict:
    """The JSON schema of a POST or PUT body of `resource`: {resource:
    {attribute: ...}}, unknown attributes refused, the required ones
    required (POST), and the ones the method may not set refused."""
    allowed = (lambda attr: attr.post) if method == POST else (lambda attr: attr.put)
    inner: dict = {
        "type": "object",
        "properties": {**{name: attr.schema if allowed(attr) else False
                          for name, attr in attrs.items()},
                       **{name: {} for name in ignored}},
        "additionalProperties": False,
    }
    required = [name for name, attr in attrs.items() if attr.required]
    if method == POST and required:
        inner["required"] = required
    return {"type": "object", "required": [resource], "properties": {resource: inner}}


def check_body(resource: str, body: Any, attrs: dict[str, Attr], method: str,
               ignored: tuple[str, ...] = ()) -> None:
    """HTTPBadRequest, in Neutron's words, unless `body` fits the schema."""
    error = problem(body, request_schema(resource, attrs, method, ignored))
    if error is not None:
        raise HTTPBadRequest(neutron_message(resource, body, attrs, method, ignored, error))


def neutron_message(resource: str, body: Any, attrs: dict[str, Attr], method: str,
                    ignored: tuple[str, ...], error: Problem) -> str:
    path = list(error.absolute_path)
    if len(path) < 2 and error.validator in ("type", "required") and \
            (not path or not isinstance(body.get(resource), dict)):
        return f"Unable to find '{resource}' in request body"
    if len(path) == 1 and error.validator == "additionalProperties":
        unknown = [name for name in body[resource] if name not in attrs and name not in ignored]
        return f"Unrecognized attribute(s) '{', '.join(unknown)}'"
    if len(path) == 1 and error.validator == "required":
        missing = next(name for name in error.validator_value if name not in body[resource])
        return f"Failed to parse request. Required attribute '{missing}' not specified"
    if error.schema is False:   # jsonschema leaves the attribute out of its path here
        name = next(name for name in body[resource] if name in attrs
                    and not (attrs[name].post if method == POST else attrs[name].put))
        return (f"Attribute '{name}' not allowed in POST" if method == POST
                else f"Cannot update read-only attribute {name}")
    name = path[1]
    reason = (f"'{error.instance}' is not in {list(error.validator_value)}"
              if error.validator == "enum" else error.message)
    return f"Invalid input for {name}. Reason: {reason}."


def parse_create(resource: str, body: Any, attrs: dict[str, Attr],
                 ignored: tuple[str, ...] = ()) -> dict[str, Any]:
    """The fields of a POST body, converted, with the defaults of what it
    leaves out (attributes without a default stay absent)."""
    check_body(resource, body, attrs, POST, ignored)
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
    check_body(resource, body, attrs, PUT, ignored)
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
    @takes({"type": "string"})
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
    return takes({"type": ["string", "null"]})(
        lambda value: "" if value is None else inner(value))


@takes({"type": ["boolean", "string", "integer"]})
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


@takes({"type": "string", "format": "uuid"})
def uuid_string(value: Any) -> str:
    try:
        if isinstance(value, str):
            return str(uuid.UUID(value))
    except ValueError:
        pass
    raise ValueError(f"'{value}' is not a valid UUID")


@takes({"type": "string", "format": "ipv4"})
def ip_address(value: Any) -> str:
    """An IPv4 address in its normal form."""
    try:
        if not isinstance(value, str):
            raise ValueError
        return str(ipaddress.IPv4Address(value))
    except ValueError:
        raise ValueError(f"'{value}' is not a valid IP address") from None


@takes({"type": ["string", "null"], "format": "ipv4"})
def nullable_ip_address(value: Any) -> str | None:
    return None if value is None else ip_address(value)


@takes({"type": "string"})
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
    @takes({"type": ["integer", "number", "string"]})   # the range: Neutron's words
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


@takes({"type": ["integer", "number", "string"]})
def ip_version(value: Any) -> int:
    number = integer()(value)
    if number not in (4, 6):
        raise ValueError(f"{number} is not in [4, 6]")
    return number


def list_of(item: Callable[[Any], Any], unique: bool = True) -> Callable[[Any], list]:
    @takes({"type": ["array", "null"], "items": getattr(item, "schema", {})})
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
    @takes({"type": "object", "additionalProperties": False, "required": list(required),
            "properties": {key: getattr(convert, "schema", {})
                           for key, convert in keys.items()}})
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


@takes({"type": ["object", "null"]})
def any_dict(value: Any) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"'{value}' is not a dictionary")
    return value


MAC_RE = re.compile(r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$")


@takes({"type": "string"})
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
