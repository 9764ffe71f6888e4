"""The JSON schemas of /v2/schemas/{image,images,member,members}.

python-glanceclient downloads the image schema and checks what a user types
against it (types, enums, read-only attributes) before it sends anything, so
the schema must describe exactly what imaged accepts and returns: the enums
come from the same configured format lists the API checks.
"""
from __future__ import annotations

from imaged.domain.status import ALL_STATUSES

UUID_PATTERN = ("^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-"
                "([0-9a-fA-F]){12}$")


def _nullable_string(description: str, max_length: int | None = None, read_only=False) -> dict:
    prop: dict[str, object] = {"type": ["null", "string"], "description": description}
    if max_length:
        prop["maxLength"] = max_length
    if read_only:
        prop["readOnly"] = True
    return prop


def image_properties(disk_formats, container_formats) -> dict:
    read_only_string = {"type": "string", "readOnly": True}
    return {
        "id": {"type": "string", "description": "The image's UUID.", "pattern": UUID_PATTERN},
        "name": _nullable_string("A name for people; not unique.", 255),
        "status": {"type": "string", "readOnly": True, "enum": list(ALL_STATUSES),
                   "description": "Where the image is in its life (see the status diagram)."},
        "visibility": {"type": "string", "enum": ["community", "public", "private", "shared"],
                       "description": "Who may see the image."},
        "protected": {"type": "boolean", "description": "A protected image cannot be deleted."},
        "os_hidden": {"type": "boolean",
                      "description": "Left out of image lists unless asked for."},
        "checksum": _nullable_string("MD5 of the data.", 32, read_only=True),
        "os_hash_algo": _nullable_string("Algorithm of os_hash_value.", 64, read_only=True),
        "os_hash_value": _nullable_string("Secure hash of the data.", 128, read_only=True),
        "owner": _nullable_string("The owning project.", 255),
        "size": {"type": ["null", "integer"], "readOnly": True,
                 "description": "Bytes of image data."},
        "virtual_size": {"type": ["null", "integer"], "readOnly": True,
                         "description": "Bytes of the virtual disk the data holds."},
        "container_format": {"type": ["null", "string"], "enum": [None, *container_formats],
                             "description": "What wraps the disk (bare: nothing)."},
        "disk_format": {"type": ["null", "string"], "enum": [None, *disk_formats],
                        "description": "The disk image's format."},
        "created_at": {**read_only_string, "description": "When the image was created."},
        "updated_at": {**read_only_string, "description": "When it last changed."},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 255},
                 "description": "Free-form labels."},
        "direct_url": {**read_only_string,
                       "description": "Where the store keeps the data (when shown)."},
        "stores": {**read_only_string,
                   "description": "Comma-separated ids of the stores that hold the data."},
        "min_ram": {"type": "integer", "description": "MiB of RAM needed to boot."},
        "min_disk": {"type": "integer", "description": "GiB of disk needed to boot."},
        "self": read_only_string,
        "file": read_only_string,
        "schema": read_only_string,
        "locations": {
            "type": "array",
            "description": "Where the data is (when show_multiple_locations is on).",
            "items": {"type": "object", "required": ["url", "metadata"], "properties": {
                "url": {"type": "string", "maxLength": 255},
                "metadata": {"type": "object"},
                "validation_data": {"type": "object", "writeOnly": True,
                                    "additionalProperties": False, "properties": {
                                        "checksum": {"type": "string", "minLength": 32,
                                                     "maxLength": 32},
                                        "os_hash_algo": {"type": "string", "maxLength": 64},
                                        "os_hash_value": {"type": "string",
                                                          "maxLength": 128}},
                                    # as Glance's: with validation data, both hash fields
                                    "required": ["os_hash_algo", "os_hash_value"]}}}},
    }


def image_schema(disk_formats, container_formats) -> dict:
    return {
        "name": "image",
        "properties": image_properties(disk_formats, container_formats),
        "additionalProperties": {"type": "string"},
        "links": [{"rel": "self", "href": "{self}"},
                  {"rel": "enclosure", "href": "{file}"},
                  {"rel": "describedby", "href": "{schema}"}],
    }


def images_schema(disk_formats, container_formats) -> dict:
    return {
        "name": "images",
        "properties": {
            "images": {"type": "array",
                       "items": image_schema(disk_formats, container_formats)},
            "schema": {"type": "string"},
            "first": {"type": "string"},
            "next": {"type": "string"},
        },
        "links": [{"rel": "first", "href": "{first}"},
                  {"rel": "next", "href": "{next}"},
                  {"rel": "describedby", "href": "{schema}"}],
    }


def member_schema() -> dict:
    return {
        "name": "member",
        "properties": {
            "created_at": {"type": "string", "description": "When the member was added."},
            "updated_at": {"type": "string", "description": "When its status last changed."},
            "image_id": {"type": "string", "pattern": UUID_PATTERN,
                         "description": "The shared image."},
            "member_id": {"type": "string", "description": "The project it is shared with."},
            "schema": {"type": "string", "readOnly": True},
            "status": {"type": "string", "enum": ["pending", "accepted", "rejected"],
                       "description": "The member's answer."},
        },
    }


def members_schema() -> dict:
    return {
        "name": "members",
        "properties": {"members": {"type": "array", "items": member_schema()},
                       "schema": {"type": "string"}},
        "links": [{"rel": "describedby", "href": "{schema}"}],  # Glance's: no self link
    }
