"""The API's checks of what a server boots from when it is not a plain
image: the boot volume of a volume-backed server, and every volume and
image its block_device_mapping names (Nova's _validate_bdm and
block_device.get_bdm_image_metadata, before anything is recorded).

    boot volume (volume -> volume, boot_index 0)
        the volume exists for the caller, else 400 "failed to get volume";
        it is bootable, else 400 "Block Device <id> is not bootable.";
        the server's "image" is the volume's volume_image_metadata (the
        image it was made from: hw_* properties, min_ram)
    boot image (image -> volume, boot_index 0)
        the image exists and is active; min_ram fits the flavor and
        min_disk the volume_size asked for (Nova: "Volume is smaller than
        the minimum size specified in image metadata...")
    the flavor's root disk is not checked for either: the root is a volume

Whether a volume is free is volumed's to say when it is reserved
(compute_api.reserve_volumes), as Nova leaves it to Cinder's
attachment_create.
"""
from __future__ import annotations

from computed.domain.block_devices import BootRequest, VolumeRequest
from computed.domain.image_properties import InvalidImageProperty, guest_hardware
from computed.flows import Deps
from shared.clients import Caller, RemoteError
from shared.errors import ApiError, BadRequest
from shared.units import GiB

INVALID = "Block Device Mapping is Invalid"


def volume_backed_image(deps: Deps, caller: Caller, boot: BootRequest, flavor: dict) -> dict:
    """The image record the build of a volume-backed server reads (its
    hardware properties), after Nova's checks of the boot volume or image."""
    root = boot.root_volume
    assert root is not None, "only for a volume-backed server"
    if root.image_id:
        image = _image(deps, caller, root.image_id)
        min_disk = int(image.get("min_disk") or 0) * GiB
        if root.volume_size and min_disk > root.volume_size * GiB:
            raise BadRequest(f"Volume is smaller than the minimum size specified in image "
                             f"metadata. Volume size is {root.volume_size * GiB} bytes, "
                             f"minimum size is {min_disk} bytes.")
    else:
        image = _volume_image(deps, caller, str(root.volume_id))
    if int(image.get("min_ram") or 0) > flavor["ram"]:
        raise BadRequest("Flavor's memory is too small for requested image.")
    try:
        guest_hardware(image, flavor["vcpus"], deps.settings.machine_type)
    except InvalidImageProperty as exc:
        raise BadRequest(str(exc)) from None
    return image


def check_mapped(deps: Deps, caller: Caller, boot: BootRequest) -> None:
    """Every other volume exists for the caller, every image to make a
    volume of too (400 with Nova's messages)."""
    for volume in boot.volumes:
        if volume.boot_index == 0 and boot.volume_backed:
            continue  # checked by volume_backed_image
        if volume.image_id:
            _image(deps, caller, volume.image_id)
        else:
            _volume(deps, caller, volume)


def _volume(deps: Deps, caller: Caller, volume: VolumeRequest) -> dict:
    try:
        found = deps.volumes.show_volume(caller, str(volume.volume_id))
    except RemoteError as exc:
        raise ApiError(f"The volume service failed: {exc.message}", 503) from None
    if found is None:
        raise BadRequest(f"{INVALID}: failed to get volume {volume.volume_id}.")
    return found


def _volume_image(deps: Deps, caller: Caller, volume_id: str) -> dict:
    """Nova's get_image_metadata_from_volume: the volume's image properties,
    its size for the image's, and active."""
    volume = _volume(deps, caller, VolumeRequest(volume_id))
    if str(volume.get("bootable", "true")).lower() != "true":
        raise BadRequest(f"Block Device {volume_id} is not bootable.")
    image = dict(volume.get("volume_image_metadata") or {})
    image.pop("id", None)  # a volume-backed server has no image of its own
    image.update(size=int(volume.get("size") or 0) * GiB, status="active")
    return image


def _image(deps: Deps, caller: Caller, image_id: str) -> dict:
    try:
        image = deps.images.show(caller, image_id)
    except RemoteError as exc:
        raise ApiError(f"The image service failed: {exc.message}", 503) from None
    if image is None:
        raise BadRequest(f"{INVALID}: failed to get image {image_id}.")
    if image.get("status") != "active":
        raise BadRequest(f"Image {image_id} is not active.")
    return image
