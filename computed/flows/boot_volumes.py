"""Volumes the build makes from images (block_device_mapping_v2 source_type
image, destination_type volume; `openstack server create --boot-from-volume`),
as Nova's compute makes them (nova/virt/block_device.py
DriverImageBlockDevice.attach, the manager's _await_block_device_map_created):

    1. create    POST volumes in volumed {size, imageRef} with the user's
                 token (name and description empty, as Nova's)
    2. wait      until it is available: volumed copies the image into it
                 ([block_device_allocate_retries] of Nova: 60 tries, 3 s
                 apart); error or still creating: the build fails
    3. reserve   POST attachments for the server: from here on it is one of
                 the server's volumes like the others (launch connects it)
                 undo: the attachment deleted; the volume deleted only if
                 delete_on_termination (Nova's _cleanup_volumes keeps the
                 others, available, for the user)
"""
from __future__ import annotations

import logging
import time
from functools import partial

from computed.db.models import BlockDeviceImageSource, BlockDeviceMapping, Instance
from computed.flows import Deps, Undo
from shared.clients import Caller
from shared.db import transaction

LOG = logging.getLogger(__name__)
ATTEMPTS = 60          # Nova's [DEFAULT] block_device_allocate_retries
INTERVAL = 3.0         # Nova's block_device_allocate_retries_interval
WAITING = ("creating", "downloading")


class VolumeNotCreated(Exception):
    """Nova's exception of the same name."""


def make_volumes(deps: Deps, caller: Caller, instance: Instance, undo: Undo,
                 check=lambda: None) -> None:
    """Make, wait for and reserve each volume of the server that comes
    from an image; `check` raises if the build was cancelled meanwhile."""
    for bdm in instance.volumes:
        if bdm.volume_id is not None or bdm.source_type != "image":
            continue
        with transaction(deps.sessions, write=False) as session:
            source = session.get(BlockDeviceImageSource, bdm.id)
        if source is None:
            raise VolumeNotCreated(f"the image of block device mapping {bdm.id} is not "
                                   f"recorded")
        volume = deps.volumes.create_volume(caller, {"volume": {          # 1
            "size": source.volume_size, "imageRef": source.image_id,
            "name": "", "description": ""}})
        _record(deps, bdm.id, volume_id=volume["id"])
        if bdm.delete_on_termination:
            undo.push(f"delete volume {volume['id']}",
                      partial(deps.volumes.delete_volume, caller, volume["id"]))
        _wait_available(deps, caller, volume["id"], check)                # 2
        attachment_id = deps.volumes.reserve(caller, volume["id"], instance.uuid)  # 3
        undo.push(f"delete the attachment of volume {volume['id']}",
                  partial(deps.volumes.delete_attachment, caller, attachment_id))
        _record(deps, bdm.id, attachment_id=attachment_id)
        LOG.info("server %s: volume %s made from image %s", instance.uuid, volume["id"],
                 source.image_id)


def _wait_available(deps: Deps, caller: Caller, volume_id: str, check) -> None:
    started = time.monotonic()
    status, attempt = "creating", 0
    while attempt < ATTEMPTS:
        attempt += 1
        check()
        volume = deps.volumes.show_volume(caller, volume_id)
        status = volume.get("status", "unknown") if volume else "deleted"
        if status == "available":
            return
        if status not in WAITING:
            break
        time.sleep(INTERVAL)
    raise VolumeNotCreated(
        f"Volume {volume_id} did not finish being created even after we waited "
        f"{int(time.monotonic() - started)} seconds or {attempt} attempts. And its "
        f"status is {status}.")


def _record(deps: Deps, bdm_id: int, **values) -> None:
    with transaction(deps.sessions) as session:
        bdm = session.get(BlockDeviceMapping, bdm_id)
        if bdm is None:
            raise VolumeNotCreated(f"block device mapping {bdm_id} is gone")
        for key, value in values.items():
            setattr(bdm, key, value)
