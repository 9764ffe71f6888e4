"""Creating a volume: empty, from an image, from another volume, or from a
snapshot.

    check rules + quota, record the volume   (creating | downloading)
    -> build the file under a temporary name, rename it into place
    -> available (or error, with the reason in the events)

An empty volume is made at once (a sparse file costs nothing). Copies and
images take time, so they run in the background as Cinder's do; the client
polls the status.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from shared.context import RequestContext
from shared.db import transaction
from shared.errors import BadRequest
from shared.units import GiB
from volumed import images as image_tools
from volumed import qemu, repo
from volumed.domain import quotas, status
from volumed.domain.sizes import gib_ceil, to_bytes
from volumed.flows import Deps, now, user_token
from volumed.models import Volume

LOG = logging.getLogger(__name__)


@dataclass
class CreateRequest:
    size: int | None
    name: str | None = None
    description: str | None = None
    volume_type: str | None = None
    metadata: dict | None = None
    snapshot_id: str | None = None
    source_volid: str | None = None
    image_ref: str | None = None
    availability_zone: str | None = None


def create_volume(deps: Deps, ctx: RequestContext, project_id: str,
                  request: CreateRequest) -> Volume:
    sources = [s for s in (request.snapshot_id, request.source_volid, request.image_ref) if s]
    if len(sources) > 1:
        raise BadRequest("Invalid input received: give at most one of snapshot_id, "
                         "source_volid and imageRef.")
    image = None
    if request.image_ref:
        image = deps.images.show(request.image_ref, user_token(ctx))
        request.size = _size_for_image(image, request.size)
    if request.availability_zone not in (None, "nova"):
        raise BadRequest(f"Invalid input received: Availability zone "
                         f"'{request.availability_zone}' is invalid.")

    with transaction(deps.sessions) as session:
        volume_type = repo.get_type(session, request.volume_type or deps.settings.default_type)
        size = _size_from_source(session, request, project_id)
        _check_per_volume_limit(deps, size)
        limits = repo.limits(session, project_id, deps.settings.quota_defaults)
        quotas.check(limits, repo.usage(session, project_id), volumes=1, gigabytes=size)
        volume = Volume(id=repo.new_id(), project_id=project_id, user_id=ctx.user_id,
                        name=request.name, description=request.description, size=size,
                        status=status.DOWNLOADING if image else status.CREATING,
                        volume_type_id=volume_type.id, metadata_=request.metadata or {},
                        snapshot_id=request.snapshot_id, source_volid=request.source_volid,
                        image_id=image["id"] if image else None)
        session.add(volume)
        deps.event(ctx, "volume.create.start", volume, session=session)

    if request.snapshot_id:
        snapshot_id = request.snapshot_id
        deps.background(f"create-{volume.id}", lambda: _finish(deps, ctx, volume.id, lambda:
                        deps.backend.create_from_snapshot(snapshot_id, volume.id, size)))
    elif request.source_volid:
        source_volid = request.source_volid
        deps.background(f"create-{volume.id}", lambda: _finish(deps, ctx, volume.id, lambda:
                        deps.backend.clone(source_volid, volume.id, size)))
    elif image:
        token = user_token(ctx)
        deps.background(f"create-{volume.id}", lambda: _finish(deps, ctx, volume.id, lambda:
                        _fill_from_image(deps, token, volume.id, size, image)))
    else:
        _finish(deps, ctx, volume.id, lambda: deps.backend.create(volume.id, size))
    with transaction(deps.sessions, write=False) as session:
        return repo.get_volume(session, volume.id, None)


def _finish(deps: Deps, ctx: RequestContext, volume_id: str, work) -> None:
    """Run the work that makes the file; record available or error."""
    try:
        updates = work() or {}
    except Exception as exc:
        LOG.warning("creating volume %s failed: %s", volume_id, exc)
        with transaction(deps.sessions) as session:
            volume = session.get_one(Volume, volume_id)
            volume.status = status.ERROR
            volume.error_message = str(exc)
            deps.event(ctx, "volume.create.error", volume, session=session, reason=str(exc))
        return
    with transaction(deps.sessions) as session:
        volume = session.get_one(Volume, volume_id)
        if volume.deleted:  # force-deleted while we worked: do not leave the file behind
            deps.backend.delete(volume_id)
            return
        for key, value in updates.items():
            setattr(volume, key, value)
        volume.status = status.AVAILABLE
        volume.updated_at = now()
        deps.event(ctx, "volume.create.end", volume, session=session)


def _fill_from_image(deps: Deps, user_token: str, volume_id: str, size: int,
                     image: dict) -> dict:
    """Download the image (hashes verified) into the new volume's file.

    A raw image is written straight into the volume, zero blocks skipped so
    the file stays sparse. Any other format is downloaded beside the volumes,
    looked at with qemu-img info (no backing file, no data file, not larger
    than the volume) and converted to raw into the volume's file."""
    source_format = qemu.qemu_format(image.get("disk_format"))
    limit = to_bytes(size)
    result = {"bootable": True, "image_metadata": image_tools.volume_image_metadata(image)}
    if source_format == "raw" and _clone_from_image(deps, volume_id, size, image):
        return result
    if source_format == "raw":
        def fill(target: Path) -> None:
            with open(target, "r+b") as out:
                deps.images.download(image, user_token, SparseWriter(out, limit).write)
        deps.backend.create(volume_id, size, fill=fill)
    else:
        download = deps.backend.scratch_path(f"image-{volume_id}")
        try:
            deps.images.download_to_file(image, user_token, download)
            details = qemu.info(download, source_format)
            qemu.check_safe(details)
            if details["virtual-size"] > limit:
                raise qemu.ImageFormatError(
                    f"the image's virtual size ({details['virtual-size']} bytes) is larger "
                    f"than the volume ({size} GiB)")
            deps.backend.create(volume_id, size, fill=lambda target: qemu.convert_into(
                download, source_format, Path(target)))
        finally:
            download.unlink(missing_ok=True)
    return result


def _clone_from_image(deps: Deps, volume_id: str, size: int, image: dict) -> bool:
    """A copy-on-write clone instead of a copy, when the backend reaches a
    location of the image itself (an rbd volume of an image in imaged's rbd
    store, in the same cluster: Cinder's clone_image). The locations are
    what imaged shows (direct_url, locations)."""
    urls = [location.get("url", "") for location in image.get("locations") or []]
    if image.get("direct_url"):
        urls.append(image["direct_url"])
    return any(deps.backend.clone_image(url, volume_id, size) for url in urls if url)


class SparseWriter:
    """Writes a stream into a file that is all zeroes, seeking over zero
    chunks instead of writing them (so they stay holes), and refuses to go
    past the volume's size."""

    def __init__(self, out, limit: int):
        self.out, self.limit, self.offset = out, limit, 0

    def write(self, chunk: bytes) -> None:
        if self.offset + len(chunk) > self.limit:
            raise qemu.ImageFormatError(f"the image is larger than the volume "
                                        f"({self.limit // GiB} GiB)")
        if chunk.count(0) == len(chunk):
            self.out.seek(len(chunk), 1)
        else:
            self.out.write(chunk)
        self.offset += len(chunk)


def _size_for_image(image: dict, size: int | None) -> int:
    """Refuse an image larger than the volume before anything is stored."""
    if image.get("status") != "active":
        raise BadRequest(f"Invalid image: image {image['id']} is not active "
                         f"(status {image.get('status')}).")
    # What the disk holds once converted: the virtual size when imaged knows
    # it (a qcow2 file can be larger or smaller than its disk); for raw, the
    # file itself. Otherwise qemu-img info checks it before anything is written.
    virtual = image.get("virtual_size")
    if not virtual and image.get("disk_format") in ("raw", "iso"):
        virtual = image.get("size")
    needed = max(image.get("min_disk") or 0,
                 gib_ceil(virtual or image.get("size") or 1))
    if size is None:
        return needed
    if virtual and virtual > size * GiB:
        raise BadRequest(f"Invalid input received: Size of specified image "
                         f"{gib_ceil(virtual)} GiB is larger than volume size {size} GiB.")
    if (image.get("min_disk") or 0) > size:
        raise BadRequest(f"Invalid input received: Volume size {size} GiB cannot be smaller "
                         f"than the image minDisk size {image['min_disk']} GiB.")
    return size


def _size_from_source(session, request: CreateRequest, project_id: str) -> int:
    if request.snapshot_id:
        snapshot = repo.get_snapshot(session, request.snapshot_id, project_id)
        status.require_snapshot("create_volume_from", snapshot.status)
        return _at_least(request.size, snapshot.size, "snapshot")
    if request.source_volid:
        source = repo.get_volume(session, request.source_volid, project_id)
        status.require("clone", source.status, what="Source volume")
        return _at_least(request.size, source.size, "source volume")
    if request.size is None:
        raise BadRequest("Invalid input received: size is required.")
    return request.size


def _at_least(size: int | None, source_size: int, what: str) -> int:
    if size is None:
        return source_size
    if size < source_size:
        raise BadRequest(f"Invalid input received: Volume size '{size}' GiB cannot be smaller "
                         f"than the {what} size {source_size} GiB. They must be >= "
                         f"original {what} size.")
    return size


def _check_per_volume_limit(deps: Deps, size: int) -> None:
    limit = deps.settings.per_volume_gigabytes
    if limit != -1 and size > limit:
        raise BadRequest(f"Invalid input received: Volume size {size} GiB exceeds the "
                         f"per-volume limit of {limit} GiB.")
