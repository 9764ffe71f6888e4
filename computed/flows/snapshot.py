"""Snapshot (createImage): a server's root disk becomes a new image.

    API        task_state image_snapshot; the image is created in imaged
               at once (queued, owned by the server's project, with
               image_type=snapshot, instance_uuid and base_image_ref), so it
               exists when the 202 returns with its id and Location
    1. copy    image_pending_upload: a standalone qcow2 of vda (a file or an
               RBD image) into <instances_path>/snapshots/ (a running guest
               keeps running: libvirt copies the disk as it was at one instant)
    2. upload  image_uploading: PUT to imaged (saving, then active once
               imaged has checked it)
    3. done    task_state back to None; the copy is removed
A failure deletes the half-made image, as Nova does. The ephemeral disk and
the volumes are never part of a snapshot.

backup.py (createBackup) and shelve.py make their images with the same two
pieces: create_image (the record, in the request) and copy_and_upload (the
data, under their own task_states).
"""
from __future__ import annotations

import logging

from computed.db import repository as repo
from computed.db.models import Instance
from computed.domain import states
from computed.domain.devices import LocalDisks
from computed.flows import Deps, fault, finish_task
from computed.virt.guest import LocalDisk
from shared.clients import RemoteError
from shared.context import RequestContext
from shared.db import transaction
from shared.errors import ApiError

LOG = logging.getLogger(__name__)

# Properties of the base image a snapshot must not inherit (Nova's
# non_inheritable_image_properties, plus what describes the data itself).
NOT_INHERITED = {
    "id", "name", "status", "visibility", "protected", "os_hidden", "owner", "checksum",
    "os_hash_algo", "os_hash_value", "size", "virtual_size", "created_at", "updated_at",
    "file", "self", "schema", "tags", "locations", "direct_url", "disk_format",
    "container_format", "min_disk", "min_ram", "image_type", "instance_uuid",
    "base_image_ref", "cache_in_nova", "bittorrent", "img_signature",
    "img_signature_hash_method", "img_signature_key_type",
    "img_signature_certificate_uuid", "stores", "os_glance_import_task",
    "os_glance_importing_to_stores", "os_glance_failed_import",
}
# imaged refuses keys of the reserved os_glance namespace
RESERVED_PREFIXES = ("os_glance", "owner_specified.")


def begin(deps: Deps, ctx: RequestContext, uuid: str, project_scope, name: str,
          metadata: dict[str, str]) -> str:
    """In the request: set the task, create the image (queued); return its id."""
    with transaction(deps.sessions) as session:
        instance = repo.get_instance(session, uuid, project_scope)
        repo.begin_task(session, instance, "createImage")
        deps.event(ctx, "compute.instance.snapshot.start", instance, session=session,
                   image_name=name)
    try:
        image = create_image(deps, ctx, instance, name, "snapshot", metadata)
    except ApiError:
        finish_task(deps, uuid, states.IMAGE_SNAPSHOT, task_state=None)
        raise
    return image["id"]


def create_image(deps: Deps, ctx: RequestContext, instance: Instance, name: str,
                 image_type: str, properties: dict[str, str]) -> dict:
    """The new image's record in imaged (queued), as Nova's
    compute_utils.create_image makes it: the base image's inheritable
    properties, then `properties`, then image_type (snapshot or backup),
    instance_uuid, user_id ... Raises ApiError (imaged's 4xx, else 503)."""
    caller = deps.caller(ctx)
    try:
        base = deps.images.show(caller, instance.image_ref) or {}
        body: dict[str, object] = {key: value for key, value in base.items()
                if key not in NOT_INHERITED and isinstance(value, str)
                and not key.startswith(RESERVED_PREFIXES)}
        body.update(properties)
        body.update({
            "name": name, "disk_format": "qcow2", "container_format": "bare",
            "visibility": "private", "min_disk": instance.root_gb,
            "min_ram": int(base.get("min_ram") or 0),
            "image_type": image_type, "instance_uuid": instance.uuid,
            "base_image_ref": instance.image_ref, "user_id": instance.user_id,
            "owner_project_name": ctx.project_name or "", "owner_user_name":
            ctx.user_name or "", "image_location": "snapshot"})
        return deps.images.create(caller, body)
    except RemoteError as exc:
        status = exc.status if 400 <= exc.status < 500 else 503
        raise ApiError(f"Creating the {image_type} image failed: {exc.message}", status) \
            from None


def copy_and_upload(deps: Deps, caller, uuid: str, image_id: str, tasks: tuple[str, str, str],
                    ) -> None:
    """vda into the image: `tasks` are (the task_state the server must be in,
    the one while the copy is made, the one while it is uploaded), e.g.
    (image_snapshot, image_pending_upload, image_uploading). Raises if a
    step fails or another action (a delete) took the server over; the
    caller deletes the image then. The copy is always removed."""
    expected, pending, uploading = tasks
    target = deps.settings.instances_path / "snapshots" / f"{image_id}.qcow2"
    try:
        domain_name = _next(deps, uuid, expected, pending)
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        deps.driver.snapshot_root_disk(domain_name, _root_disk(deps, uuid), target)
        _next(deps, uuid, pending, uploading)
        deps.images.upload(caller, image_id, target)
    finally:
        target.unlink(missing_ok=True)


def run(deps: Deps, ctx: RequestContext, uuid: str, image_id: str,
        first_task: str = states.IMAGE_SNAPSHOT, event: str = "snapshot") -> bool:
    """In the background: the copy and its upload; True once the image is
    active (backup.py goes on to rotate the older backups then)."""
    caller = deps.caller(ctx)
    with deps.locks.hold(uuid):
        try:
            copy_and_upload(deps, caller, uuid, image_id,
                            (first_task, states.IMAGE_PENDING_UPLOAD, states.IMAGE_UPLOADING))
        except Exception as exc:
            LOG.warning("snapshot of server %s failed: %s", uuid, exc)
            try:
                deps.images.delete(caller, image_id)
            except RemoteError as cleanup:
                LOG.warning("could not delete the failed snapshot image %s: %s",
                            image_id, cleanup)
            for task in states.SNAPSHOT_TASKS:
                if finish_task(deps, uuid, task, task_state=None,
                               fault=fault(f"Snapshot failed: {exc}", exc)):
                    _event(deps, ctx, uuid, f"compute.instance.{event}.error",
                           image_id=image_id, reason=str(exc))
            return False
        if finish_task(deps, uuid, states.IMAGE_UPLOADING, task_state=None):
            _event(deps, ctx, uuid, f"compute.instance.{event}.end", image_id=image_id)
            return True
        return False


def _root_disk(deps: Deps, uuid: str) -> LocalDisk:
    """vda where it lies (the bus does not matter to a copy)."""
    return deps.disks.disks(uuid, LocalDisks(), "virtio")[0]


class _Overtaken(Exception):
    """Another action (a delete) took the server over."""


def _next(deps: Deps, uuid: str, expected: str, task: str) -> str:
    with transaction(deps.sessions) as session:
        instance = repo.get_instance(session, uuid, None, include_deleted=True)
        if instance.task_state != expected:
            raise _Overtaken(f"server {uuid} is now {instance.task_state}")
        instance.task_state = task
        return instance.domain_name


def _event(deps: Deps, ctx, uuid: str, event_type: str, **payload) -> None:
    with transaction(deps.sessions) as session:
        instance = repo.get_instance(session, uuid, None, include_deleted=True)
        deps.event(ctx, event_type, instance, session=session, **payload)
