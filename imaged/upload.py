"""PUT /v2/images/{id}/file: the whole upload, top to bottom.

    1. check     the image is queued, has its formats, fits the quota
    2. saving    queued -> saving, in one short transaction (compare-and-set)
    3. stream    body -> store, 4 MiB at a time, while md5 and sha512 run in
                 their own threads and the format inspector reads the headers
    4. verify    the inspector's verdict: safe, and the declared disk_format
    5. activate  commit the data, then saving -> active with size, hashes,
                 virtual_size and the location, in one short transaction

No database transaction is open during step 3, however long it takes.

Every failure removes the partial data first, then sets the status:

    client went away, size cap, quota, store failure  -> queued (upload again)
    data received in full and proven bad (unsafe, wrong format) -> killed
    image deleted while the data was arriving -> the data is removed, 410

and answers with what happened. The status diagram is in domain/status.py.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import time
from dataclasses import dataclass

from imaged.buffers import BufferPool
from imaged.db.repository import Notice, StaleImage
from imaged.domain import formats, quotas
from imaged.domain import status as st
from imaged.domain.errors import IllegalTransition, QuotaExceeded
from imaged.domain.image import Image, Location
from imaged.incoming import ClientDisconnected, IncomingData
from imaged.pipeline import FanOut
from imaged.runtime import Imaged
from imaged.store.base import Store, StoreError, StoreFull, StoreWriter
from shared.context import RequestContext
from shared.errors import ApiError
from shared.imageformat import ImageSafetyError, InspectionResult, StreamingInspector, check

LOG = logging.getLogger(__name__)
HASH_ALGORITHM = "sha512"
CLEARED = {"size": None, "virtual_size": None, "checksum": None, "os_hash_algo": None,
           "os_hash_value": None}


class UploadFailed(ApiError):
    """An upload that did not make the image active (status in the message)."""


class TooBig(Exception):
    def __init__(self, received: int):
        self.received = received


@dataclass
class Received:
    size: int
    md5: str
    sha512: str
    verdict: InspectionResult


def upload(imaged: Imaged, context: RequestContext, image: Image, body: IncomingData,
           store: Store | None = None) -> Image:
    """`store`: where the data goes (X-Image-Meta-Store); the default store if None."""
    repo, store = imaged.repo, store or imaged.stores.default

    # 1. check
    st.require_uploadable(image.id, image.status)
    formats.required_before_upload(image.disk_format, image.container_format)
    owner = image.owner or ""
    stored = repo.usage(owner).stored_bytes if imaged.quotas.image_size_total else 0
    allowance = quotas.upload_allowance(imaged.quotas, owner, stored)
    if body.expected is not None and body.expected > allowance:
        raise QuotaExceeded(quotas.over_allowance_message(imaged.quotas, allowance,
                                                          body.expected))

    # 2. saving
    try:
        repo.set_status(image.id, [st.QUEUED], st.SAVING, notices=[
            _notice("image.prepare", image, context)])
    except StaleImage as stale:
        raise IllegalTransition(f"Image {image.id} is {stale.actual_status}: data can only be "
                                f"uploaded to a queued image.") from None

    # 3. stream
    started = time.monotonic()
    writer = store.open_writer(image.id)
    try:
        received = stream_into_store(body, writer, allowance, imaged.conf.upload.chunk_size,
                                     imaged.conf.image.vmdk_allowed_types)
    except ClientDisconnected as exc:
        _fail(imaged, context, image, writer, st.QUEUED, f"the upload was interrupted: {exc}")
        raise UploadFailed(f"The upload of image {image.id} was interrupted ({exc}); no data "
                           f"was kept and the image is queued again.", status=400) from None
    except TooBig as exc:
        message = quotas.over_allowance_message(imaged.quotas, allowance, exc.received)
        _fail(imaged, context, image, writer, st.QUEUED, message)
        raise UploadFailed(f"{message} No data was kept; the image is queued again.",
                           status=413) from None
    except StoreFull as exc:
        _fail(imaged, context, image, writer, st.QUEUED, str(exc))
        raise UploadFailed(f"{exc} The image is queued again.", status=413) from None
    except StoreError as exc:
        _fail(imaged, context, image, writer, st.QUEUED, str(exc))
        raise UploadFailed(f"{exc} The image is queued again.", status=503) from None
    except BaseException as exc:
        _fail(imaged, context, image, writer, st.QUEUED, f"internal error: {exc!r}")
        raise

    # 4. verify
    try:
        verdict = received.verdict
        if imaged.conf.image.require_image_format_match:
            check(verdict, image.disk_format)
        else:
            verdict.raise_if_unsafe()
    except ImageSafetyError as exc:
        _fail(imaged, context, image, writer, st.KILLED, str(exc))
        raise UploadFailed(f"Image {image.id} was refused and killed: {exc}.",
                           status=400) from None

    # 5. activate (a store may still fail here: the volume store only
    # creates and fills its volume at commit)
    try:
        url = writer.commit()
    except StoreError as exc:
        _fail(imaged, context, image, writer, st.QUEUED, str(exc))
        raise UploadFailed(f"{exc} The image is queued again.",
                           status=413 if isinstance(exc, StoreFull) else 503) from None
    values = {"size": received.size, "virtual_size": verdict.virtual_size,
              "checksum": received.md5, "os_hash_algo": HASH_ALGORITHM,
              "os_hash_value": received.sha512,
              "locations": [Location(url, {"store": store.store_id})]}
    details = {key: value for key, value in values.items() if key != "locations"}
    try:
        active = repo.set_status(image.id, [st.SAVING], st.ACTIVE, values, notices=[
            _notice("image.upload", image, context, **details),
            _notice("image.activate", image, context, **details)])
        elapsed = max(time.monotonic() - started, 1e-6)
        LOG.info("image %s uploaded: %d bytes in %.2f s (%.0f MB/s, %s)", image.id,
                 received.size, elapsed, received.size / elapsed / 1e6,
                 "from the socket" if body.direct else "through wsgi.input")
        return active
    except StaleImage as stale:
        store.delete(url)
        raise UploadFailed(f"Image {image.id} was {stale.actual_status or 'deleted'} while "
                           f"its data was uploaded; the data was removed.", status=410) from None


def stream_into_store(body: IncomingData, writer: StoreWriter, allowance: int,
                      chunk_size: int, vmdk_types: list[str]) -> Received:
    """Move the body into the store; hash and inspect it on the way. The
    request thread receives and inspects; hashing and writing run in
    threads of their own (see pipeline.py)."""
    pool = BufferPool(chunk_size)
    md5, secure = hashlib.md5(), hashlib.new(HASH_ALGORITHM)
    workers = FanOut({"md5": md5.update, HASH_ALGORITHM: secure.update, "store": writer.write})
    inspector = StreamingInspector(vmdk_allowed_types=vmdk_types)
    size = 0
    try:
        while workers.error is None:
            buffer = pool.acquire()
            count = body.readinto(buffer)
            if count == 0:
                pool.release(buffer)
                break
            size += count
            if size > allowance:
                pool.release(buffer)
                raise TooBig(size)
            chunk = memoryview(buffer)[:count]
            inspector.feed(chunk)
            workers.submit(chunk, functools.partial(pool.release, buffer))
        workers.finish()
    finally:
        workers.stop()
        body.finish()
    return Received(size=size, md5=md5.hexdigest(), sha512=secure.hexdigest(),
                    verdict=inspector.finish())


def _fail(imaged: Imaged, context: RequestContext, image: Image, writer: StoreWriter,
          status: str, reason: str) -> None:
    """Remove the partial data, then leave saving for `status`."""
    writer.abort()
    LOG.warning("upload of image %s failed (%s): %s", image.id, status, reason)
    with contextlib.suppress(StaleImage):  # deleted meanwhile: nothing left to change
        imaged.repo.set_status(image.id, [st.SAVING], status, CLEARED, notices=[
            _notice("image.upload.failed", image, context, status=status, reason=reason)])


def _notice(event_type: str, image: Image, context: RequestContext, **payload) -> Notice:
    return Notice(event_type, image.id, {"image_id": image.id, "name": image.name,
                                         "owner": image.owner, **payload},
                  context=context, project_id=image.owner)

