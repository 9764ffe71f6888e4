"""Uploading a volume to a new image in imaged (os-volume_upload_image).

    volume available (in-use with force) -> uploading
    -> POST /v2/images in imaged (answered at once with the new image id)
    -> in the background: convert the raw file to the wanted disk_format in a
       temporary file (raw is sent as it is), PUT it to imaged
    -> back to the status it had (available or in-use)
A failed upload deletes the half-made image and leaves the volume as it was.
"""
from __future__ import annotations

import contextlib
import logging
from pathlib import Path

from shared.context import RequestContext
from shared.db import transaction
from shared.errors import ApiError, BadRequest
from shared.strutils import bool_param
from volumed import qemu, repo
from volumed.domain import status
from volumed.flows import Deps, iso, now, user_token
from volumed.images import ImageError
from volumed.models import Volume

LOG = logging.getLogger(__name__)
DISK_FORMATS = ("raw", "qcow2", "vmdk", "vdi", "vhd", "vhdx")
CONTAINER_FORMATS = ("bare", "ovf", "ova", "compressed")


def upload_to_image(deps: Deps, ctx: RequestContext, project_id: str | None, volume_id: str,
                    options: dict) -> dict:
    image_name = options.get("image_name")
    disk_format = options.get("disk_format") or "raw"
    container_format = options.get("container_format") or "bare"
    force = bool_param("force", options.get("force", False))
    if not image_name:
        raise BadRequest("Invalid input received: image_name is required.")
    if disk_format not in DISK_FORMATS:
        raise BadRequest(f"Invalid input received: disk_format must be one of "
                         f"{', '.join(DISK_FORMATS)}.")
    if container_format not in CONTAINER_FORMATS:
        raise BadRequest(f"Invalid input received: container_format must be one of "
                         f"{', '.join(CONTAINER_FORMATS)}.")

    with transaction(deps.sessions) as session:
        volume = repo.get_volume(session, volume_id, project_id)
        status.require("upload_to_image_forced" if force else "upload_to_image", volume.status)
        volume.previous_status, volume.status = volume.status, status.UPLOADING
        type_name = repo.type_names(session).get(volume.volume_type_id or "")
        deps.event(ctx, "volume.upload_image.start", volume, session=session)

    body = {"name": image_name, "disk_format": disk_format,
            "container_format": container_format}
    for key in ("visibility", "protected"):
        if key in options:
            body[key] = options[key]
    try:
        image = deps.images.create(body, user_token(ctx))
    except Exception as exc:
        _back_to_previous(deps, ctx, volume.id, "volume.upload_image.error", reason=str(exc))
        raise ApiError(f"imaged could not create the image: {exc}", status=503) from None

    deps.background(f"upload-{volume.id}", lambda: _upload(deps, ctx, volume.id, image["id"],
                                                           disk_format))
    return {"os-volume_upload_image": {
        "id": volume.id, "updated_at": iso(now()), "status": status.UPLOADING,
        "display_description": volume.description, "size": volume.size,
        "volume_type": {"name": type_name} if type_name else None,
        "image_id": image["id"], "container_format": container_format,
        "disk_format": disk_format, "image_name": image_name,
        "protected": image.get("protected", False),
        "visibility": image.get("visibility", "shared")}}


def _upload(deps: Deps, ctx: RequestContext, volume_id: str, image_id: str,
            disk_format: str) -> None:
    source = deps.backend.qemu_source(volume_id)
    converted: Path | None = None
    try:
        # A volume that is a file goes up as it is when raw; anything else
        # (another format, an RBD image qemu-img reads itself) is written
        # to a scratch file first.
        if disk_format != "raw" or not Path(source).is_file():
            converted = deps.backend.scratch_path(f"upload-{volume_id}")
            qemu.convert(source, "raw", converted, qemu.qemu_format(disk_format))
        deps.images.upload(image_id, converted or Path(source), user_token(ctx))
    except (ImageError, qemu.ImageFormatError, OSError) as exc:
        LOG.warning("uploading volume %s to image %s failed: %s", volume_id, image_id, exc)
        with contextlib.suppress(ImageError):
            deps.images.delete(image_id, user_token(ctx))
        _back_to_previous(deps, ctx, volume_id, "volume.upload_image.error", reason=str(exc))
        return
    finally:
        if converted is not None:
            converted.unlink(missing_ok=True)
    _back_to_previous(deps, ctx, volume_id, "volume.upload_image.end", image_id=image_id)


def _back_to_previous(deps: Deps, ctx, volume_id: str, event: str, **extra) -> None:
    with transaction(deps.sessions) as session:
        volume = session.get_one(Volume, volume_id)
        attachments = repo.active_attachments(session, volume_id)
        # Back to available, or in-use if it is (still) attached.
        volume.status = status.status_after_detach(len(attachments))
        volume.updated_at = now()
        deps.event(ctx, event, volume, session=session, **extra)
