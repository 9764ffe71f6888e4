"""Tags on any resource (Neutron's standard-attr-tag): replace all, add
one, check one, remove one, remove all. Reading needs get_<resource>,
changing needs update_<resource> on the resource.

A resource module makes its collection taggable with one TAGGABLE entry
(its collection name in the URL, its resource name, how to find a
resource the caller may see, and its policy target).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from networkd import floatingips, networks, ports, routers, security_groups, subnets
from networkd.attributes import HTTPBadRequest
from networkd.call import Call
from networkd.db import common
from networkd.db.models import Network
from networkd.errors import HTTPNotFound, TagNotFound

MAX_TAG_LEN = 255


@dataclass(frozen=True)
class Taggable:
    resource: str                                   # "network"
    get: Callable[[Call, str], Any]                 # a row the caller sees, or 404
    target: Callable[[Call, Any], dict]             # its policy target


TAGGABLE: dict[str, Taggable] = {
    "networks": Taggable("network", networks.get, lambda call, row: networks.target(row)),
    "subnets": Taggable("subnet", subnets.get,
                        lambda call, row: subnets.target(row, row.network)),
    "ports": Taggable("port", ports.get, lambda call, row: ports.target(
        row, call.session.get_one(Network, row.network_id))),
    "routers": Taggable("router", routers.get, lambda call, row: routers.target(row)),
    "floatingips": Taggable("floatingip", floatingips.get,
                            lambda call, row: floatingips.target(row)),
    "security-groups": Taggable("security_group", security_groups.get,
                                lambda call, row: security_groups.target(row)),
}


def _find(call: Call, collection: str, resource_id: str, write: bool) -> tuple[Taggable, Any]:
    kind = TAGGABLE.get(collection)
    if kind is None:
        raise HTTPNotFound()
    row = kind.get(call, resource_id)
    action = "update" if write else "get"
    call.access.check(f"{action}_{kind.resource}", kind.target(call, row))
    return kind, row


def _valid(tag: Any) -> str:
    if not isinstance(tag, str) or not tag or len(tag) > MAX_TAG_LEN:
        raise HTTPBadRequest(f"Invalid input for operation: '{tag}' is not a valid tag "
                             f"(a string of 1 to {MAX_TAG_LEN} characters).")
    return tag


def get_all(call: Call, collection: str, resource_id: str) -> list[str]:
    kind, row = _find(call, collection, resource_id, write=False)
    return common.tags_of(call.session, kind.resource, [row.id])[row.id]


# PUT .../tags as the OpenAPI document shows it (replace checks it, in
# Neutron's words).
REPLACE_SCHEMA = {"type": "object", "required": ["tags"], "properties": {"tags": {
    "type": "array", "items": {"type": "string", "minLength": 1, "maxLength": MAX_TAG_LEN}}}}


def replace(call: Call, collection: str, resource_id: str, body: Any) -> list[str]:
    if not isinstance(body, dict) or not isinstance(body.get("tags"), list):
        raise HTTPBadRequest("Invalid input for operation: the body must be "
                             "{\"tags\": [...]}.")
    tags = [_valid(tag) for tag in body["tags"]]
    kind, row = _find(call, collection, resource_id, write=True)
    common.set_tags(call.session, kind.resource, row.id, tags)
    common.touch(row)
    return sorted(set(tags))


def add(call: Call, collection: str, resource_id: str, tag: str) -> None:
    kind, row = _find(call, collection, resource_id, write=True)
    common.add_tag(call.session, kind.resource, row.id, _valid(tag))
    common.touch(row)


def check(call: Call, collection: str, resource_id: str, tag: str) -> None:
    kind, row = _find(call, collection, resource_id, write=False)
    if tag not in common.tags_of(call.session, kind.resource, [row.id])[row.id]:
        raise TagNotFound(tag=tag, resource=kind.resource, resource_id=row.id)


def remove(call: Call, collection: str, resource_id: str, tag: str) -> None:
    kind, row = _find(call, collection, resource_id, write=True)
    if not common.remove_tag(call.session, kind.resource, row.id, tag):
        raise TagNotFound(tag=tag, resource=kind.resource, resource_id=row.id)
    common.touch(row)


def remove_all(call: Call, collection: str, resource_id: str) -> None:
    kind, row = _find(call, collection, resource_id, write=True)
    common.delete_tags(call.session, kind.resource, row.id)
    common.touch(row)
