"""imaged-api.conf and imaged-scrubber.conf: every option imaged reads.

The defaults are Glance's where Glance has the same option (formats,
image_size_cap, delayed_delete, show_multiple_locations, the per-image
quotas), so a lab can compare the two side by side.
"""
from __future__ import annotations

from shared.config import Opt, Schema
from shared.service import common_sections

DEFAULT_PORT = 9292
API_CONF = "imaged-api.conf"
SCRUBBER_CONF = "imaged-scrubber.conf"

GIB = 1 << 30
TIB = 1 << 40

# Glance's lists and order (glance/common/config.py), plus nothing else.
KNOWN_DISK_FORMATS = ("ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi",
                      "iso", "ploop")
KNOWN_CONTAINER_FORMATS = ("ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed")
VMDK_TYPES = ("monolithicSparse", "streamOptimized", "monolithicFlat", "twoGbMaxExtentSparse",
              "twoGbMaxExtentFlat", "vmfs", "vmfsSparse")


def api_schema() -> Schema:
    schema = Schema(API_CONF, common_sections(DEFAULT_PORT, username="imaged", workers=2))
    schema.add("image", [
        Opt("disk_formats", list(KNOWN_DISK_FORMATS), "Disk formats an image may declare; "
            "any other value is refused with 400.", kind="multichoice",
            choices=KNOWN_DISK_FORMATS),
        Opt("container_formats", list(KNOWN_CONTAINER_FORMATS), "Container formats an image "
            "may declare.", kind="multichoice", choices=KNOWN_CONTAINER_FORMATS),
        Opt("image_size_cap", TIB, "Largest image (bytes) that can be uploaded; a bigger "
            "upload is refused with 413 and the image goes back to queued.",
            kind="int", minimum=1),
        Opt("require_image_format_match", True, "Refuse (and kill) an upload whose content "
            "is not what its disk_format says (a qcow2 uploaded as raw, say).", kind="bool"),
        Opt("vmdk_allowed_types", ["monolithicSparse", "streamOptimized"], "VMDK subformats "
            "accepted at upload (Glance's default: the two that cannot name host files).",
            kind="multichoice", choices=VMDK_TYPES),
        Opt("show_image_direct_url", False, "Show the image's first location as direct_url "
            "(reveals where the store keeps the data: off by default).", kind="bool"),
        Opt("show_multiple_locations", False, "Show the image's locations and let owners "
            "add and remove them with PATCH /locations (as Glance).", kind="bool"),
        Opt("delayed_delete", False, "Deleting an image only marks it pending_delete; "
            "imaged-scrubber removes the data once scrub_time has passed.", kind="bool"),
        Opt("limit_param_default", 25, "Images per page when the request names no limit.",
            kind="int", minimum=1, maximum=1000),
        Opt("api_limit_max", 1000, "Largest page size a request may ask for.", kind="int",
            minimum=1, maximum=10000),
        Opt("image_member_quota", 128, "Members per image (-1: no limit).", kind="int",
            minimum=-1),
        Opt("image_property_quota", 128, "Extra properties per image (-1: no limit).",
            kind="int", minimum=-1),
        Opt("image_tag_quota", 128, "Tags per image (-1: no limit).", kind="int", minimum=-1),
        Opt("image_location_quota", 10, "Locations per image (-1: no limit).", kind="int",
            minimum=-1),
    ])
    schema.add("quota", [
        Opt("image_count_total", 0, "Images a project may have (0: no limit); one more is "
            "refused with 413.", kind="int", minimum=0),
        Opt("image_size_total", 0, "Bytes of image data a project may store (0: no limit); "
            "an upload that would go over is refused with 413.", kind="int", minimum=0),
    ])
    schema.add("store", [
        Opt("default_store", "file", "Where uploaded data goes.", kind="choice",
            choices=("file",)),
        Opt("filesystem_store_datadir", "", "Directory of the file store. Empty: "
            "lib/images under the state directory."),
        Opt("http_timeout", 30.0, "Seconds to wait for a remote server of the http store.",
            kind="float", minimum=1, maximum=3600),
    ])
    schema.add("upload", [
        Opt("chunk_size", 4 << 20, "Bytes read from the client and written to the store at "
            "a time (large chunks keep the hashing threads busy and the GIL free).",
            kind="int", minimum=64 * 1024, maximum=64 << 20),
    ])
    return schema


def scrubber_schema() -> Schema:
    """The scrubber reads imaged-api.conf too (database, store), so that the two
    can never disagree on where the data is; this file holds its timing."""
    schema = Schema(SCRUBBER_CONF)
    schema.add("scrubber", [
        Opt("wakeup_time", 300.0, "Seconds between two passes of the scrubber.",
            kind="float", minimum=0.1, maximum=86400),
        Opt("scrub_time", 86400.0, "Seconds an image stays pending_delete (its data kept, "
            "so an operator can still rescue it) before the scrubber removes the data.",
            kind="float", minimum=0, maximum=365 * 86400),
        Opt("batch_size", 100, "Images handled per pass at most.", kind="int", minimum=1,
            maximum=10000),
    ])
    schema.add("logging", [Opt("debug", False, "Log debug messages.", kind="bool")])
    return schema
