"""createImage of a volume-backed server, as Nova's compute API does it
(nova/compute/api.py snapshot_volume_backed), all in the request:

    1. check     vm_state active, stopped, paused or suspended, no task
                 (409 otherwise); no task_state is set, as in Nova
    2. snapshots each volume of the server snapshotted in volumed (force: it
                 is in use), named "snapshot for <image name>"
                 undo: the snapshots made are deleted
    3. image     an image without data in imaged: its properties say how to
                 boot it again (block_device_mapping: one source_type
                 snapshot -> volume entry per volume, bdm_v2 True,
                 root_device_name /dev/vda), size 0, raw/bare, made active by
                 an upload of no bytes (Nova's force_activate)
                 undo: the image deleted

Booting a server from such an image (snapshot -> volume) is not built here.
"""
from __future__ import annotations

import json
import logging
import os
from functools import partial
from pathlib import Path

from computed.db import repository as repo
from computed.db.models import BlockDeviceMapping, Instance
from computed.domain import states
from computed.flows import Deps, Undo
from shared.clients import RemoteError
from shared.context import RequestContext
from shared.db import transaction
from shared.errors import ApiError, Conflict

LOG = logging.getLogger(__name__)
SNAPSHOT_STATES = (states.ACTIVE, states.STOPPED, states.PAUSED, states.SUSPENDED)
# What Nova's image properties never carry over (NON_INHERITABLE_IMAGE_PROPERTIES
# and the data's own fields, as volumed's volume_image_metadata holds them).
NOT_INHERITED = {"image_id", "image_name", "checksum", "size", "container_format",
                 "disk_format", "min_ram", "min_disk", "img_signature",
                 "img_signature_hash_method", "img_signature_key_type",
                 "img_signature_certificate_uuid", "cache_in_nova", "bittorrent",
                 "os_hash_algo", "os_hash_value", "signature_verified"}


def is_volume_backed(deps: Deps, uuid: str, project_scope) -> bool:
    with transaction(deps.sessions, write=False) as session:
        instance = repo.get_instance(session, uuid, project_scope)
        return not instance.image_ref and any(b.boot_index == 0 for b in instance.volumes)


def snapshot(deps: Deps, ctx: RequestContext, uuid: str, project_scope, name: str,
             metadata: dict[str, str]) -> str:
    """The new image's id, once it is active; Conflict if the server's
    state does not allow it, ApiError if volumed or imaged refuse."""
    caller = deps.caller(ctx)
    with transaction(deps.sessions) as session:                             # 1
        instance = repo.get_instance(session, uuid, project_scope)
        if instance.vm_state not in SNAPSHOT_STATES or instance.task_state is not None:
            what, state = ("vm_state", instance.vm_state) \
                if instance.vm_state not in SNAPSHOT_STATES \
                else ("task_state", instance.task_state)
            raise Conflict(f"Cannot 'createImage' instance {uuid} while it is in "
                           f"{what} {state}")
        volumes = [bdm for bdm in instance.volumes if bdm.status == "attached"]
        deps.event(ctx, "compute.instance.snapshot.start", instance, session=session,
                   image_name=name, volume_backed=True)
    undo = Undo()
    try:
        mappings, root_meta = _snapshot_volumes(deps, caller, name, volumes, undo)  # 2
        image_id = _make_image(deps, caller, instance, name, metadata, mappings,
                               root_meta, undo)                              # 3
    except RemoteError as exc:
        LOG.warning("snapshot of volume-backed server %s failed: %s", uuid, exc)
        undo.run()
        _event(deps, ctx, uuid, "compute.instance.snapshot.error", reason=str(exc))
        status = exc.status if 400 <= exc.status < 500 else 503
        raise ApiError(f"Creating the snapshot failed: {exc.message}", status) from None
    _event(deps, ctx, uuid, "compute.instance.snapshot.end", image_id=image_id,
           snapshots=[m["snapshot_id"] for m in mappings])
    return image_id


def _snapshot_volumes(deps: Deps, caller, name: str, volumes: list[BlockDeviceMapping],
                      undo: Undo) -> tuple[list[dict], dict]:
    """One snapshot per volume, and the image mapping of each (Nova's
    snapshot_from_bdm + get_image_mapping); the root volume's image metadata."""
    mappings, root_meta = [], {}
    for bdm in volumes:
        volume = deps.volumes.show_volume(caller, str(bdm.volume_id)) or {}
        made = deps.volumes.create_snapshot(caller, str(bdm.volume_id),
                                            f"snapshot for {name}",
                                            volume.get("description"), force=True)
        undo.push(f"delete snapshot {made['id']}",
                  partial(deps.volumes.delete_snapshot, caller, made["id"]))
        if bdm.boot_index == 0:
            root_meta = dict(volume.get("volume_image_metadata") or {})
        mappings.append({
            "source_type": "snapshot", "destination_type": "volume",
            "snapshot_id": made["id"], "volume_id": None, "image_id": None,
            "boot_index": bdm.boot_index, "device_name": f"/dev/{bdm.device_name}",
            "delete_on_termination": bdm.delete_on_termination,
            "volume_size": volume.get("size"), "device_type": "disk", "disk_bus": "virtio",
            "guest_format": None, "no_device": False, "tag": None, "volume_type": None})
    return mappings, root_meta


def _make_image(deps: Deps, caller, instance: Instance, name: str,
                metadata: dict[str, str], mappings: list[dict], root_meta: dict,
                undo: Undo) -> str:
    body: dict[str, object] = {key: str(value) for key, value in root_meta.items()
                               if key not in NOT_INHERITED and value is not None}
    body.update(metadata)
    body.update({"name": name, "visibility": "private", "disk_format": "raw",
                 "container_format": "bare", "root_device_name": "/dev/vda",
                 "min_ram": int(root_meta.get("min_ram") or 0),
                 "min_disk": int(root_meta.get("min_disk") or 0)})
    if mappings:
        body.update(block_device_mapping=json.dumps(mappings), bdm_v2="True")
    image = deps.images.create(caller, body)
    undo.push(f"delete image {image['id']}", partial(deps.images.delete, caller, image["id"]))
    deps.images.upload(caller, image["id"], Path(os.devnull))  # no data: active
    return image["id"]


def _event(deps: Deps, ctx, uuid: str, event_type: str, **payload) -> None:
    with transaction(deps.sessions) as session:
        instance = repo.get_instance(session, uuid, None, include_deleted=True)
        deps.event(ctx, event_type, instance, session=session, volume_backed=True,
                   **payload)
