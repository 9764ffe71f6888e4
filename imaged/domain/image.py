"""What an image is: its record, its members and its locations.

Plain dataclasses, handed between the API, the upload flow and the
repository. Core attributes are columns; anything else a user sets
("os_distro", "hw_disk_bus"...) is an extra property, a string.
"""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field, replace

# Attributes Glance computes or owns: a request may never set them.
READ_ONLY = ("created_at", "updated_at", "status", "checksum", "size", "virtual_size",
             "direct_url", "self", "file", "schema", "id", "os_hash_algo", "os_hash_value",
             "stores")
# Names refused as extra properties (Glance's reserved words and namespace).
RESERVED = ("location", "deleted", "deleted_at")
RESERVED_PREFIX = "os_glance"
# Never accepted in a create body, even where they are not read-only.
DISALLOWED_ON_CREATE = ("direct_url", "self", "file", "schema", "stores", "locations")
# Core attributes a user may set (in create, or PATCH replace).
WRITABLE_CORE = ("name", "visibility", "protected", "os_hidden", "min_disk", "min_ram",
                 "disk_format", "container_format", "tags", "owner")
CORE = WRITABLE_CORE + ("id", "status", "checksum", "os_hash_algo", "os_hash_value", "size",
                        "virtual_size", "created_at", "updated_at")

VISIBILITIES = ("public", "private", "shared", "community")
MEMBER_STATUSES = ("pending", "accepted", "rejected")
MAX_PROPERTY_KEY = 255
MAX_NAME = 255


def utcnow() -> dt.datetime:
    """Naive UTC (what every database stores the same way). Microseconds are
    kept so that "newest first" holds for images made within one second;
    the API shows whole seconds, as Glance does."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def new_image_id() -> str:
    return str(uuid.uuid4())


@dataclass
class Location:
    url: str
    metadata: dict = field(default_factory=dict)


@dataclass
class Image:
    id: str
    owner: str | None
    status: str = "queued"
    name: str | None = None
    visibility: str = "shared"
    protected: bool = False
    os_hidden: bool = False
    disk_format: str | None = None
    container_format: str | None = None
    min_disk: int = 0
    min_ram: int = 0
    size: int | None = None
    virtual_size: int | None = None
    checksum: str | None = None
    os_hash_algo: str | None = None
    os_hash_value: str | None = None
    created_at: dt.datetime = field(default_factory=utcnow)
    updated_at: dt.datetime = field(default_factory=utcnow)
    deleted_at: dt.datetime | None = None
    properties: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    locations: list[Location] = field(default_factory=list)

    def copy(self) -> Image:
        return replace(self, properties=dict(self.properties), tags=list(self.tags),
                       locations=[Location(loc.url, dict(loc.metadata))
                                  for loc in self.locations])

    def summary(self) -> dict:
        """The image in event payloads (what changed, without links)."""
        return {"id": self.id, "name": self.name, "status": self.status,
                "owner": self.owner, "visibility": self.visibility,
                "disk_format": self.disk_format, "container_format": self.container_format,
                "size": self.size, "virtual_size": self.virtual_size,
                "checksum": self.checksum, "protected": self.protected,
                "tags": list(self.tags), "properties": dict(self.properties)}


@dataclass
class Member:
    image_id: str
    member_id: str
    status: str = "pending"
    created_at: dt.datetime = field(default_factory=utcnow)
    updated_at: dt.datetime = field(default_factory=utcnow)


@dataclass(frozen=True)
class Caller:
    """Who is asking, as the rules need it (built from the request context)."""
    project_id: str | None
    is_admin: bool = False
    roles: tuple[str, ...] = ()
