"""What a POST /servers body asks to boot from: block_device_mapping_v2 (or
the legacy block_device_mapping) read as Nova reads it
(nova/block_device.py BlockDeviceDict.from_api and from_legacy_mapping,
nova/compute/api.py _validate_bdm), without the database or the services.

The entries PocketStack knows:

    source      destination   what it is
    image       local         the root disk made from imageRef (the real client
                              always sends this one beside imageRef, boot_index 0)
    volume      volume        an existing volume; with boot_index 0 it is the
                              root disk: the server is volume-backed
    image       volume        a new volume made from the image (volume_size GiB,
                              required), at the build, as Nova's compute does;
                              with boot_index 0 it is the root disk

A volume-backed server has no imageRef (Nova keeps its image_ref empty):
its vda is the volume, nothing of the image is copied into the instance
directory. `snapshot` and `blank` sources are not built here: 400 naming
them. Messages are Nova's (exception.InvalidBDM* and friends).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from computed.domain.devices import InvalidBlockDeviceMapping
from shared.strutils import NotABoolean, bool_from_string

MAX_VOLUMES = 23  # 26 virtio letters, less vda, vdb and one for swap
ROOT_DEVICE = "vda"  # Nova's default root_device_name for the legacy syntax
UUID_PATTERN = re.compile(r"^[a-zA-Z0-9._-]*$")  # Nova's schema for `uuid`
INVALID = "Block Device Mapping is Invalid"

__all__ = ["BootRequest", "InvalidBlockDeviceMapping", "VolumeRequest", "parse_boot_request"]


@dataclass(frozen=True)
class VolumeRequest:
    """One volume of the server: an existing one (volume_id), or one to make
    from an image (image_id, volume_size) during the build."""
    volume_id: str | None
    boot_index: int | None = None
    delete_on_termination: bool = False
    image_id: str | None = None
    volume_size: int | None = None

    @property
    def source_type(self) -> str:
        return "image" if self.image_id else "volume"


@dataclass(frozen=True)
class BootRequest:
    """image_id: the image the local root disk is made from, None for a
    volume-backed server (then root_volume is its boot volume)."""
    image_id: str | None
    volumes: list[VolumeRequest] = field(default_factory=list)

    @property
    def root_volume(self) -> VolumeRequest | None:
        return next((v for v in self.volumes if v.boot_index == 0), None)

    @property
    def volume_backed(self) -> bool:
        return self.root_volume is not None


def _format_error(details: str) -> InvalidBlockDeviceMapping:
    """Nova's InvalidBDMFormat."""
    return InvalidBlockDeviceMapping(f"{INVALID}: {details}")


def _boot_index(value) -> int | None:
    """None, an integer or a string of one (Nova's schema); negative and
    None mean "not a boot device"."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)) or \
            not re.fullmatch(r"-?[0-9]+", str(value)):
        raise InvalidBlockDeviceMapping(
            f"Invalid input for field/attribute boot_index. Value: {value}. "
            f"'{value}' does not match '^-?[0-9]+$'")
    number = int(value)
    return None if number < 0 else number


def _delete_on_termination(value) -> bool:
    if value is None:
        return False
    try:
        return bool_from_string(value)
    except NotABoolean:
        raise InvalidBlockDeviceMapping(
            f"Invalid input for field/attribute delete_on_termination. Value: {value}. "
            f"{value!r} is not of type 'boolean', 'string'") from None


def _volume_size(value) -> int | None:
    """Nova's parameter_types.volume_size: a non-negative integer (0 and
    absent mean "not given")."""
    if value is None or value == "":
        return None
    try:
        size = int(value)
    except (TypeError, ValueError):
        raise InvalidBlockDeviceMapping(
            f"Invalid input for field/attribute volume_size. Value: {value}. "
            f"'{value}' is not of type 'integer', 'string'") from None
    if size < 0:
        raise InvalidBlockDeviceMapping(
            f"Invalid input for field/attribute volume_size. Value: {value}. "
            f"{value} is less than the minimum of 0")
    return size or None


def _from_legacy(entries, image_ref: str | None) -> list[dict]:
    """block_device_mapping (the EC2-era syntax) as v2 entries: a volume on
    vda is the root (boot_index 0) when no imageRef is given, as Nova's
    from_legacy_mapping decides with its default root device name."""
    converted = []
    for raw in entries:
        if not isinstance(raw, dict):
            raise _format_error("each block_device_mapping entry must be an object.")
        if raw.get("no_device"):
            continue
        if raw.get("snapshot_id"):
            raise _unsupported("snapshot", "volume")
        if not raw.get("volume_id"):
            raise _format_error("Missing device UUID.")
        device = str(raw.get("device_name") or "").removeprefix("/dev/")
        if image_ref and device == ROOT_DEVICE:
            raise InvalidBlockDeviceMapping(f"The volume cannot be assigned the same device "
                                            f"name as the root device {ROOT_DEVICE}")
        converted.append({"source_type": "volume", "destination_type": "volume",
                          "uuid": raw["volume_id"],
                          "boot_index": 0 if device == ROOT_DEVICE else -1,
                          "delete_on_termination": raw.get("delete_on_termination")})
    return converted


def _unsupported(source, destination) -> InvalidBlockDeviceMapping:
    return InvalidBlockDeviceMapping(
        f"{INVALID}: source_type {source!r} with destination_type {destination!r} is not "
        f"supported by PocketStack (image->local for the root disk, volume->volume and "
        f"image->volume).")


def _entry(raw, image_ref: str | None) -> tuple[str, dict]:
    """One v2 entry, checked as Nova's schema and from_api check it:
    (its kind: image-local, volume or image-volume, the entry)."""
    if not isinstance(raw, dict):
        raise _format_error("each block_device_mapping_v2 entry must be an object.")
    source = raw.get("source_type")
    destination = raw.get("destination_type")
    if source not in (None, "volume", "image", "snapshot", "blank"):
        raise InvalidBlockDeviceMapping(
            f"Invalid input for field/attribute source_type. Value: {source}. "
            f"'{source}' is not one of ['volume', 'image', 'snapshot', 'blank']")
    if destination not in (None, "local", "volume"):
        raise InvalidBlockDeviceMapping(
            f"Invalid input for field/attribute destination_type. Value: {destination}. "
            f"'{destination}' is not one of ['local', 'volume']")
    uuid = raw.get("uuid")
    if uuid is not None and (not isinstance(uuid, str) or not 1 <= len(uuid) <= 255
                             or not UUID_PATTERN.match(uuid)):
        raise InvalidBlockDeviceMapping(
            f"Invalid input for field/attribute uuid. Value: {uuid}. "
            f"'{uuid}' does not match '^[a-zA-Z0-9._-]*$'")
    boot_index = _boot_index(raw.get("boot_index"))
    if source == "blank" and uuid:
        raise _format_error("Invalid device UUID.")
    if source != "blank" and not uuid:
        raise _format_error("Missing device UUID.")
    if source == "image" and destination in (None, "local"):
        if not (image_ref and boot_index == 0):
            raise _format_error("Mapping image to local is not supported.")
        return "image-local", raw
    if source == "volume" and destination in (None, "volume"):
        return "volume", raw
    if source == "image" and destination == "volume":
        if not _volume_size(raw.get("volume_size")):
            raise InvalidBlockDeviceMapping("Images with destination_type 'volume' need to "
                                            "have a non-zero size specified")
        return "image-volume", raw
    raise _unsupported(source, destination)


def parse_boot_request(image_ref: str | None, bdm_v2, legacy_bdm=None) -> BootRequest:
    """imageRef plus the mappings -> what to boot and which volumes to attach.

    Leniency kept from before boot from volume: with imageRef and no
    boot_index 0 mapping the image is the root disk (Nova's v2 path asks for
    the image/local entry the real client always sends)."""
    if bdm_v2 and legacy_bdm:
        raise InvalidBlockDeviceMapping("Using different block_device_mapping syntaxes "
                                        "is not allowed in the same request.")
    if bdm_v2 is not None and not isinstance(bdm_v2, list):
        raise InvalidBlockDeviceMapping(
            f"Invalid input for field/attribute block_device_mapping_v2. Value: {bdm_v2}. "
            f"{bdm_v2!r} is not of type 'array'")
    if legacy_bdm is not None and not isinstance(legacy_bdm, list):
        raise InvalidBlockDeviceMapping(
            f"Invalid input for field/attribute block_device_mapping. Value: {legacy_bdm}. "
            f"{legacy_bdm!r} is not of type 'array'")
    image_id = image_ref or None
    entries = [_entry(raw, image_id) for raw in bdm_v2 or []]
    entries += [("volume", raw) for raw in _from_legacy(legacy_bdm or [], image_id)]

    volumes: list[VolumeRequest] = []
    boot_indexes: list[int] = []
    seen: set[str] = set()
    for kind, raw in entries:
        boot_index = _boot_index(raw.get("boot_index"))
        if boot_index is not None:
            boot_indexes.append(boot_index)
        if kind == "image-local":
            if image_id and str(raw["uuid"]) != image_id:
                raise _format_error("the image mapping names another image than imageRef.")
            continue
        delete = _delete_on_termination(raw.get("delete_on_termination"))
        if kind == "volume":
            if str(raw["uuid"]) in seen:
                raise _format_error(f"volume {raw['uuid']} is mapped twice.")
            seen.add(str(raw["uuid"]))
            volumes.append(VolumeRequest(str(raw["uuid"]), boot_index, delete))
        else:
            volumes.append(VolumeRequest(None, boot_index, delete, image_id=str(raw["uuid"]),
                                         volume_size=_volume_size(raw.get("volume_size"))))
    if image_id and not any(i == 0 for i in boot_indexes):
        boot_indexes.append(0)  # the image is the root disk (see the docstring)
    if image_id and any(v.boot_index == 0 for v in volumes):
        boot_indexes.append(0)  # an image root and a volume root: two boot devices 0
    boot_indexes.sort()
    if not boot_indexes or boot_indexes != list(range(len(boot_indexes))):
        if not image_id and not entries:
            raise InvalidBlockDeviceMapping("Missing imageRef attribute")
        raise InvalidBlockDeviceMapping(f"{INVALID}: Boot sequence for the instance and "
                                        f"image/block device mapping combination is not "
                                        f"valid.")
    if len(volumes) > MAX_VOLUMES:
        raise _format_error("too many volumes.")
    return BootRequest(image_id=image_id, volumes=volumes)
