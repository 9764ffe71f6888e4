"""Backup (createBackup): a snapshot kept in a rotation, as Nova's
compute API backup() and manager backup_instance() do it.

    API        task_state image_backup; the image is created in imaged at
               once (queued), as createImage's (snapshot.py) but with
               image_type=backup and backup_type=<the request's>; 202
    1. copy    image_pending_upload: vda into a standalone qcow2
    2. upload  image_uploading: PUT to imaged; task_state back to None
    3. rotate  the server's backups of this backup_type (image_type=backup,
               backup_type, instance_uuid), newest first: all but the first
               `rotation` are deleted. Rotation 0 keeps none, not even the
               one just made (Nova's API then sends no Location).
A failure in 1 or 2 deletes the new image (snapshot.py); a backup that
cannot be deleted in 3 is logged and the next one is tried, as Nova does.
"""
from __future__ import annotations

import logging

from computed.db import repository as repo
from computed.domain import states
from computed.flows import Deps, finish_task, snapshot
from shared.clients import RemoteError
from shared.context import RequestContext
from shared.db import transaction
from shared.errors import ApiError, BadRequest

LOG = logging.getLogger(__name__)


def begin(deps: Deps, ctx: RequestContext, uuid: str, project_scope, name: str,
          backup_type: str, metadata: dict[str, str]) -> str:
    """In the request: check the state, set the task, create the image
    (queued); return its id. InvalidState/NotReady for a 409."""
    with transaction(deps.sessions) as session:
        instance = repo.get_instance(session, uuid, project_scope)
        states.check("createBackup", uuid, instance.vm_state, instance.task_state,
                     instance.host)
        if not instance.image_ref:
            raise BadRequest("Backup is not supported for volume-backed instances.")
        repo.begin_task(session, instance, "createBackup")
        deps.event(ctx, "compute.instance.backup.start", instance, session=session,
                   image_name=name, backup_type=backup_type)
    try:
        image = snapshot.create_image(deps, ctx, instance, name, "backup",
                                      {**metadata, "backup_type": backup_type})
    except ApiError:
        finish_task(deps, uuid, states.IMAGE_BACKUP, task_state=None)
        raise
    return image["id"]


def run(deps: Deps, ctx: RequestContext, uuid: str, image_id: str, backup_type: str,
        rotation: int) -> None:
    """In the background: steps 1 and 2 (snapshot.run), then 3."""
    if snapshot.run(deps, ctx, uuid, image_id, first_task=states.IMAGE_BACKUP,
                    event="backup"):
        rotate(deps, ctx, uuid, backup_type, rotation)


def rotate(deps: Deps, ctx: RequestContext, uuid: str, backup_type: str,
           rotation: int) -> list[str]:
    """Delete the server's oldest backups of `backup_type` beyond `rotation`;
    returns the ids deleted."""
    caller = deps.caller(ctx)
    try:
        backups = deps.images.find(caller, image_type="backup", backup_type=backup_type,
                                   instance_uuid=uuid, sort_key="created_at",
                                   sort_dir="desc")
    except RemoteError as exc:
        LOG.warning("listing the backups of %s failed, none rotated: %s", uuid, exc)
        return []
    deleted = []
    for image in backups[rotation:]:
        try:
            deps.images.delete(caller, image["id"])
            deleted.append(image["id"])
        except RemoteError as exc:
            LOG.info("could not delete backup %s of %s while rotating (going on): %s",
                     image["id"], uuid, exc)
    if deleted:
        LOG.info("rotated out %d %s backup(s) of %s", len(deleted), backup_type, uuid)
    return deleted
