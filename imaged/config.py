"""imaged-api.conf and imaged-scrubber.conf: every option imaged reads.

The defaults are Glance's where Glance has the same option (formats,
image_size_cap, delayed_delete, show_multiple_locations, the per-image
quotas), so a lab can compare the two side by side.
"""
from __future__ import annotations

from shared.config import Opt, Schema
from shared.service import common_sections
from shared.units import GiB, KiB, MiB

DEFAULT_PORT = 9292
API_CONF = "imaged-api.conf"
SCRUBBER_CONF = "imaged-scrubber.conf"

TIB = 1 << 40

# Glance's lists and order (glance/common/config.py), plus nothing else.
KNOWN_DISK_FORMATS = ("ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi",
                      "iso", "ploop")
KNOWN_CONTAINER_FORMATS = ("ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed")
WRITABLE_STORES = ("file", "volume", "rbd", "swift")
VMDK_TYPES = ("monolithicSparse", "streamOptimized", "monolithicFlat", "twoGbMaxExtentSparse",
              "twoGbMaxExtentFlat", "vmfs", "vmfsSparse")


def api_schema() -> Schema:
    schema = Schema(API_CONF, common_sections(DEFAULT_PORT, username="imaged"))
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
        Opt("property_protection_file", "", "Rules file of property protections (which "
            "roles may create, read, update, delete which extra properties; see "
            "imaged/protections.py). Empty: no protections. A relative name is looked for "
            "beside this file."),
        Opt("show_image_direct_url", False, "Show the image's first location as direct_url "
            "(reveals where the store keeps the data: off by default).", kind="bool"),
        Opt("show_multiple_locations", False, "Show the image's locations and let owners "
            "add and remove them with PATCH /locations (as Glance).", kind="bool"),
        Opt("do_secure_hash", True, "When a service adds an image's location (POST "
            "/v2/images/{id}/locations), read the data to compute checksum and "
            "os_hash_value (and to check validation_data); off: record validation_data "
            "as given and read nothing.", kind="bool"),
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
        Opt("stores", ["file"], "Stores imaged may write to (the read-only http store is "
            "always there). volume: each image in a volume of volumed, as Glance's cinder "
            "store; rbd: each image an RBD image in Ceph, as Glance's rbd store; swift: "
            "each image an object in Swift, as Glance's swift store.",
            kind="multichoice", choices=WRITABLE_STORES),
        Opt("default_store", "file", "Where uploaded data goes (one of stores).",
            kind="choice", choices=WRITABLE_STORES),
        Opt("filesystem_store_datadir", "", "Directory of the file store. Empty: "
            "lib/images under the state directory."),
        Opt("volume_store_type", "", "Volume type of the volumes that hold images "
            "(Glance's cinder_volume_type). Empty: volumed's default type."),
        Opt("volume_store_initiator", "", "iSCSI initiator name imaged logs in with to "
            "write and read image volumes. Empty: iqn.2004-10.org.pocketstack:imaged-HOST."),
        Opt("volume_store_timeout", 300.0, "Seconds a volume of the volume store may take "
            "to become available, be attached (while another request reads it) or be "
            "written or read with qemu-img.", kind="float", minimum=1, maximum=86400),
        Opt("http_timeout", 30.0, "Seconds to wait for a remote server of the http store.",
            kind="float", minimum=1, maximum=3600),
        *RBD_STORE_OPTS,
        *SWIFT_STORE_OPTS,
        Opt("enabled_backends", [], "Named stores (Glance's multi-store): id:kind pairs, "
            "kind one of file, volume, http, rbd, swift, e.g. fast:file,cheap:file,web:http; each "
            "store's options in a [store:ID] section (a file store needs its own "
            "filesystem_store_datadir). Empty: one store of each kind in `stores`, named "
            "by its kind, with the options above.", kind="list"),
        Opt("default_backend", "", "With enabled_backends: the id of the store that data "
            "goes to when a request names none."),
    ])
    schema.add_named("store", STORE_OPTS)
    schema.check(_check_store_definitions)
    schema.add("data", [
        Opt("data_api", "database", "Where image metadata lives: 'database' (imaged-api "
            "opens the database itself) or 'registry' (every read and write goes to "
            "imaged-registry over HTTP, Glance's old registry layer).", kind="choice",
            choices=("database", "registry")),
        Opt("registry_url", "http://127.0.0.1:9191", "Where imaged-registry answers, when "
            "data_api is registry."),
    ])
    schema.add("upload", [
        Opt("chunk_size", 4 * MiB, "Bytes read from the client and written to the store at "
            "a time (large chunks keep the hashing threads busy and the GIL free).",
            kind="int", minimum=64 * KiB, maximum=64 * MiB),
    ])
    schema.add("import", IMPORT_OPTS)
    schema.add("image_cache", IMAGE_CACHE_OPTS)
    return schema


RBD_STORE_OPTS = [
    Opt("rbd_store_pool", "images", "rbd stores: the Ceph pool images are kept in."),
    Opt("rbd_store_user", "glance", "rbd stores: the cephx user imaged connects as (its "
        "keyring found through the Ceph config, e.g. ceph.client.glance.keyring beside it)."),
    Opt("rbd_store_ceph_conf", "", "rbd stores: the Ceph config file. Empty: the stack's "
        "own Ceph (etc/ceph/ceph.conf under the state directory; pocketstack.conf [ceph])."),
    Opt("rbd_store_chunk_size", 8, "rbd stores: MiB per RADOS object and per read "
        "(rounded down to a power of two).", kind="int", minimum=1, maximum=32),
    Opt("rados_connect_timeout", 30.0, "rbd stores: seconds to wait for the Ceph cluster "
        "when connecting.", kind="float", minimum=1, maximum=600),
    Opt("rados_op_timeout", 60, "rbd stores: seconds a read or write waits for the "
        "cluster before it fails (librados' rados_osd_op_timeout and rados_mon_op_timeout): "
        "an upload during a Ceph outage then ends, and what it wrote is removed once Ceph is "
        "back. 0: wait for ever, as Glance's store does.", kind="int", minimum=0,
        maximum=3600),
]


SWIFT_STORE_OPTS = [
    Opt("swift_store_container", "glance", "swift stores: the container images are kept "
        "in (in the account of imaged's own project, found in the catalog)."),
    Opt("swift_store_create_container_on_put", True, "swift stores: make the container at "
        "the first upload when it is missing (Glance's default is false).", kind="bool"),
    Opt("swift_store_large_object_size", 5120, "swift stores: MiB above which an image is "
        "uploaded in segments with a manifest (a Dynamic Large Object); up to this size "
        "the data is spooled locally first.", kind="int", minimum=1, maximum=5120),
    Opt("swift_store_large_object_chunk_size", 200, "swift stores: MiB per segment of a "
        "large image.", kind="int", minimum=1, maximum=5120),
    Opt("swift_store_timeout", 300.0, "swift stores: seconds a call to Swift may wait "
        "for an answer.", kind="float", minimum=1, maximum=86400),
]


# [store:ID]: one named store of enabled_backends (Glance's [fast] section;
# prefixed so that a store id never collides with a section of imaged's own).
STORE_KINDS = ("file", "volume", "http", "rbd", "swift")
STORE_OPTS = [
    Opt("store_description", "", "What GET /v2/info/stores tells users about this store."),
    Opt("weight", 0, "Downloads read from the location whose store weighs most first, "
        "falling back to the others (Glance's weight).", kind="int", minimum=-1000000,
        maximum=1000000),
    Opt("filesystem_store_datadir", "", "file stores: the directory of this store "
        "(required; no two file stores may share one)."),
    Opt("volume_store_type", "", "volume stores: volume type of the volumes that hold "
        "images. Empty: volumed's default type."),
    Opt("volume_store_initiator", "", "volume stores: iSCSI initiator name. Empty: "
        "iqn.2004-10.org.pocketstack:imaged-HOST."),
    Opt("volume_store_timeout", 300.0, "volume stores: seconds a volume may take to become "
        "available, be attached or be written or read.", kind="float", minimum=1,
        maximum=86400),
    Opt("http_timeout", 30.0, "http stores: seconds to wait for a remote server.",
        kind="float", minimum=1, maximum=3600),
    *RBD_STORE_OPTS,
    *SWIFT_STORE_OPTS,
]


def _check_store_definitions(conf) -> None:
    """A bad store definition stops imaged at start (ConfigError)."""
    from imaged.store.definitions import store_definitions
    store_definitions(conf)


# [import]: interoperable image import (imaged/imports/). Glance's names
# where Glance has the option ([DEFAULT] enabled_import_methods,
# [import_filtering_opts], [image_conversion] output_format).
IMPORT_METHODS = ("glance-direct", "web-download", "copy-image")
IMPORT_OPTS = [
    Opt("enabled_import_methods", ["glance-direct", "web-download", "copy-image"],
        "Import methods offered by GET /v2/info/import (Glance's default; copy-image is "
        "only offered when more than one writable store is configured).",
        kind="multichoice", choices=IMPORT_METHODS),
    Opt("staging_dir", "", "Where staged and downloaded data waits for its import. "
        "Empty: lib/imaged/staging under the state directory."),
    Opt("image_conversion", True, "Convert imported disk images to output_format "
        "with qemu-img (after the format inspector said they are safe).", kind="bool"),
    Opt("output_format", "qcow2", "Disk format imports are converted to.", kind="choice",
        choices=("qcow2", "raw", "vmdk", "vdi", "vhd", "vhdx")),
    Opt("convert_timeout", 600.0, "Seconds a qemu-img convert may take.", kind="float",
        minimum=1, maximum=86400),
    Opt("allowed_schemes", ["http", "https"], "URL schemes web-download may fetch.",
        kind="multichoice", choices=("http", "https")),
    Opt("allowed_ports", ["80", "443"], "Ports web-download may connect to (as Glance: "
        "only 80 and 443, so that import cannot be used to scan ports).", kind="list"),
    Opt("allowed_hosts", [], "If not empty, the only hosts web-download may fetch from.",
        kind="list"),
    Opt("disallowed_hosts", [], "Hosts web-download must never fetch from.", kind="list"),
    Opt("web_download_timeout", 60.0, "Seconds to wait for the web server of a "
        "web-download.", kind="float", minimum=1, maximum=3600),
    Opt("task_time_to_live", 48, "Hours a finished import task stays listed.", kind="int",
        minimum=1),
]


# [image_cache]: Glance's image cache (imaged/cache/), Glance's option names.
IMAGE_CACHE_OPTS = [
    Opt("image_cache_dir", "image-cache", "Directory of the image cache, which keeps "
        "whole copies of images whose data is in a remote store (http, volume) and serves "
        "later downloads from them. A relative name is under lib/ of the state directory; "
        "empty turns the cache (and the /v2/cache API) off."),
    Opt("image_cache_max_size", 10 * GiB, "Bytes the cache should hold at most: POST "
        "/v2/cache/prune removes least recently used copies until it does (a download "
        "may take the cache over it, as in Glance; an image bigger than this is never "
        "cached).", kind="int", minimum=0),
    Opt("image_cache_stall_time", 86400, "Seconds after which a copy left half-written "
        "(a worker died while writing it) is removed by POST /v2/cache/clean.",
        kind="int", minimum=0),
    Opt("cache_prefetcher_interval", 300.0, "Seconds between two passes of the "
        "prefetcher, which copies the images queued with PUT /v2/cache/{image_id} into "
        "the cache (a worker also wakes its own prefetcher when it queues an image).",
        kind="float", minimum=0.1, maximum=86400),
]


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


def api_offset_settings(port_offset: int) -> dict[str, dict]:
    """For a second stack beside the first (`pocketstack up --port-offset N`):
    the imaged-registry imaged-api would use is shifted too."""
    return {"data": {"registry_url": f"http://127.0.0.1:{9191 + port_offset}"}}
