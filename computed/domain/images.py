"""Nova's 2.1 proxy of the image service, the pure part: how an imaged
(Glance v2) record reads as a Nova image (nova/image/glance.py
_extract_attributes_v2, nova/api/openstack/compute/views/images.py), what a
Nova listing query asks imaged for (images.py _get_filters and glance.py
_extract_query_params_v2), and the JSON patch that makes an image's
properties what the metadata calls ask for (glance.py update with
purge_props).

    status   active ACTIVE, queued and saving SAVING, deleted and
             pending_delete DELETED, killed ERROR, any other UNKNOWN
    progress queued 25, saving 50, active 100, else 0
    metadata every field that is not one of Glance's base schema
             properties (os_distro, hw_*, instance_uuid, image_type ...)
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

STATUS = {"active": "ACTIVE", "queued": "SAVING", "saving": "SAVING",
          "deleted": "DELETED", "pending_delete": "DELETED", "killed": "ERROR"}
PROGRESS = {"queued": 25, "saving": 50, "active": 100}
# Glance v2's image schema (is_base): the rest of a record is its properties.
BASE_FIELDS = frozenset((
    "id", "name", "status", "visibility", "protected", "os_hidden", "checksum",
    "os_hash_algo", "os_hash_value", "owner", "size", "virtual_size", "container_format",
    "disk_format", "created_at", "updated_at", "tags", "direct_url", "min_ram", "min_disk",
    "self", "file", "schema", "locations"))
# Nova's query parameters -> Glance's (SUPPORTED_FILTERS, then the v2 renames)
FILTERS = {"name": "name", "status": "status", "changes-since": "updated_at",
           "server": "instance_uuid", "type": "image_type", "minRam": "min_ram",
           "minDisk": "min_disk"}
# What Glance compares to its own columns: equality, as its database API does
# for any other column (so minRam=512 finds images whose min_ram is 512).
COLUMN_FILTERS = ("min_ram", "min_disk")


def status(image: Mapping) -> str:
    return STATUS.get(str(image.get("status")), "UNKNOWN")


def progress(image: Mapping) -> int:
    return PROGRESS.get(str(image.get("status")), 0)


def properties(image: Mapping) -> dict:
    """The image's metadata as Nova shows it."""
    return {key: value for key, value in image.items() if key not in BASE_FIELDS}


def glance_filters(args: Iterable[tuple[str, str]]) -> tuple[list[tuple[str, str]], dict]:
    """A Nova query -> (the query parameters for imaged, the filters on
    min_ram/min_disk computed applies itself, which imaged lists by
    property). `server` may be a server's URL (its last segment is the id);
    `status` is lowercased; `property-<name>` filters on a property."""
    query: list[tuple[str, str]] = []
    columns: dict[str, str] = {}
    for key, value in args:
        if key in FILTERS:
            name = FILTERS[key]
        elif key.startswith("property-"):
            name = key[len("property-"):]
        else:
            continue
        if key == "server":
            value = value.rsplit("/", 1)[-1]
        elif key == "status":
            value = value.lower()
        elif key == "changes-since":
            value = f"gte:{value}"
        if name in COLUMN_FILTERS:
            columns[name] = value
        else:
            query.append((name, value))
    return query, columns


def matches_columns(image: Mapping, columns: Mapping[str, str]) -> bool:
    return all(str(image.get(name) or 0) == value for name, value in columns.items())


def properties_patch(current: Mapping, wanted: Mapping[str, str],
                     untouchable: Iterable[str] = ()) -> list[dict]:
    """The JSON patch from the image's properties (`current`, as properties()
    reads them) to exactly `wanted` (Nova's update with purge_props): add or
    replace each wanted one, remove the others but the `untouchable` ones
    (the image service's own, which it refuses to remove)."""
    keep = set(untouchable)
    changes = [{"op": "replace" if key in current else "add", "path": f"/{key}",
                "value": value}
               for key, value in wanted.items() if current.get(key) != value]
    changes += [{"op": "remove", "path": f"/{key}"}
                for key in current if key not in wanted and key not in keep]
    return changes
