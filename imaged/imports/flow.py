"""Interoperable image import, top to bottom (Glance's /stage and /import).

Two ways in, one way through:

    glance-direct   PUT /v2/images/{id}/stage   queued -> uploading
                      the body goes to the staging area (hashed and inspected
                      on the way, with the upload's code); unsafe content is
                      refused at once (400, back to queued)
                    POST /v2/images/{id}/import  uploading -> importing
    web-download    POST /v2/images/{id}/import  queued -> importing
                      {"method": {"name": "web-download", "uri": URL}}: the
                      URL must pass the filter (uri_filter.py) or 400 at once

POST /import answers 202 with a task; the rest runs in a thread of the API
worker (`run_import`), each step reported in the task:

    1. fetch     web-download only: the URL into the staging area
    2. inspect   imaged.inspect on the staged file: safe, and what
                 disk_format says; else refused, naming the reason
    3. convert   qemu-img -f <inspected> -O <output_format> (qcow2 by
                 default), only now that the data is known to be safe
    4. store     the final data into the store with the upload's hashing
                 threads: size, checksum, os_hash_value and virtual_size
                 describe the data that is kept, not what was sent
    5. activate  importing -> active (disk_format updated); task success

Any failure: whatever was written to the store is removed, the image goes
back to queued with os_glance_failed_import naming the store (Glance's
convention: import again), the task fails with the reason as its message,
and an image.import.failed event carries it too. Whatever way the import
ends, the staging area keeps nothing of it.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import replace

from imaged.api.body import ClientDisconnected
from imaged.db.repository import Notice, StaleImage
from imaged.db.tasks import FAILURE, PENDING, PROCESSING, SUCCESS, Task, TaskRepository
from imaged.domain import formats, quotas
from imaged.domain import status as st
from imaged.domain.errors import IllegalTransition, InvalidInput, QuotaExceeded
from imaged.domain.image import Image, Location, utcnow
from imaged.imports.convert import ConversionFailed, convert, needs_conversion
from imaged.imports.fetch import DownloadFailed, open_url
from imaged.imports.settings import ImportSettings
from imaged.imports.staging import FileSource, Staging
from imaged.imports.uri_filter import UriRefused, check_uri
from imaged.inspect import ImageSafetyError, check, inspect_file
from imaged.runtime import Imaged
from imaged.store.base import StoreError, StoreFull, StoreWriter
# The upload's streaming code, reused as it is: hashing threads, inspector, size cap.
from imaged.upload import CLEARED, HASH_ALGORITHM, UploadFailed, _stream, _TooBig
from shared.context import RequestContext

LOG = logging.getLogger("imaged.imports")
TASK_TYPE = "api_image_import"
KNOWN_METHODS = ("glance-direct", "web-download", "copy-image", "glance-download")
# qemu-img convert is CPU-heavy: at most this many at once per API worker.
CONVERSIONS = threading.BoundedSemaphore(2)


class ImportFailed(Exception):
    """An import that could not make the image active (message for the user)."""


class Importer:
    """What the import code works with, built once per API worker."""

    def __init__(self, imaged: Imaged):
        self.imaged = imaged
        self.settings = ImportSettings.from_config(imaged.conf, imaged.service.state.lib)
        self.staging = Staging(self.settings.staging_dir)
        self.tasks = TaskRepository(imaged.service.sessions, imaged.service.notifier)

    def store_ids(self) -> list[str]:
        return [self.imaged.stores.default.name]

    def sweep_staging(self) -> None:
        """Drop staged data of images deleted meanwhile (DELETE does not know
        about the staging area) or left by a worker that died mid-import."""
        def still_needed(image_id: str) -> bool:
            image = self.imaged.repo.get(image_id) if len(image_id) <= 36 else None
            return image is not None and image.status in (st.UPLOADING, st.IMPORTING)
        self.staging.sweep(still_needed)


def importer_of(imaged: Imaged) -> Importer:
    """The worker's Importer (the import and task blueprints share it)."""
    importer = imaged.service.extras.get("importer")
    if importer is None:
        importer = imaged.service.extras["importer"] = Importer(imaged)
    return importer


# -- PUT /v2/images/{id}/stage --------------------------------------------------------------

def stage(importer: Importer, context: RequestContext, image: Image, body) -> None:
    imaged, staging = importer.imaged, importer.staging
    importer.sweep_staging()
    st.require_stageable(image.id, image.status)
    formats.required_before_upload(image.disk_format, image.container_format)
    allowance = _allowance(imaged, image)
    if body.expected is not None and body.expected > allowance:
        raise QuotaExceeded(quotas.over_allowance_message(imaged.quotas, allowance,
                                                          body.expected))
    try:
        imaged.repo.set_status(image.id, [st.QUEUED], st.UPLOADING, notices=[
            _notice("image.prepare", image, context, staging=True)])
    except StaleImage as stale:
        raise IllegalTransition(f"Image {image.id} is {stale.actual_status}: data can only be "
                                f"staged for a queued image.") from None

    writer = staging.writer(image.id)
    try:
        received = _stream(body, writer, allowance, imaged.conf.upload.chunk_size,
                           imaged.conf.image.vmdk_allowed_types)
        _judge(imaged, received.verdict, image.disk_format)
    except ClientDisconnected as exc:
        _unstage(importer, context, image, writer, f"the upload was interrupted: {exc}")
        raise UploadFailed(f"Staging image {image.id} was interrupted ({exc}); nothing was "
                           f"kept and the image is queued again.", status=400) from None
    except _TooBig as exc:
        message = quotas.over_allowance_message(imaged.quotas, allowance, exc.received)
        _unstage(importer, context, image, writer, message)
        raise UploadFailed(f"{message} Nothing was kept; the image is queued again.",
                           status=413) from None
    except ImageSafetyError as exc:
        _unstage(importer, context, image, writer, str(exc))
        raise UploadFailed(f"Image {image.id} was refused: {exc}. Nothing was kept; the "
                           f"image is queued again.", status=400) from None
    except StoreError as exc:
        _unstage(importer, context, image, writer, str(exc))
        raise UploadFailed(f"Staging failed: {exc} The image is queued again.",
                           status=413 if isinstance(exc, StoreFull) else 503) from None
    except BaseException as exc:
        _unstage(importer, context, image, writer, f"internal error: {exc!r}")
        raise
    writer.commit()
    current = imaged.repo.get(image.id)
    if current is None or current.status != st.UPLOADING:
        staging.remove(image.id)
        raise UploadFailed(f"Image {image.id} was {current.status if current else 'deleted'} "
                           f"while its data was staged; the data was removed.", status=410)
    imaged.repo.record([_notice("image.upload", image, context, staging=True,
                                size=received.size)])


def _unstage(importer: Importer, context: RequestContext, image: Image, writer: StoreWriter,
             reason: str) -> None:
    writer.abort()
    importer.staging.remove(image.id)
    LOG.warning("staging of image %s failed: %s", image.id, reason)
    try:
        importer.imaged.repo.set_status(image.id, [st.UPLOADING], st.QUEUED, CLEARED, notices=[
            _notice("image.upload.failed", image, context, staging=True, reason=reason)])
    except StaleImage:
        pass  # deleted meanwhile


# -- POST /v2/images/{id}/import ------------------------------------------------------------

def start_import(importer: Importer, context: RequestContext, image: Image,
                 request: dict) -> Task:
    """Check the request, move the image to importing, create the task and
    start the import thread. Everything wrong with the request is answered
    here (400/409), before any task exists."""
    imaged, settings = importer.imaged, importer.settings
    importer.sweep_staging()
    method, uri = _method_of(request)
    if method not in KNOWN_METHODS:
        raise InvalidInput(f"Unknown import method name '{method}'.")
    if method == "copy-image":
        imaged.authorize("copy_image", context, image)
        raise InvalidInput("copy-image needs more than one store, and imaged has only "
                           f"'{imaged.stores.default.name}'.")
    if method not in settings.methods:
        raise InvalidInput(f"Import method {method} is not enabled (enabled: "
                           f"{', '.join(settings.methods) or 'none'}).")
    _check_stores(importer, request)
    if not image.disk_format or not image.container_format:
        raise IllegalTransition(f"Image {image.id} needs a disk_format and a "
                                f"container_format before it can be imported.")
    if method == "glance-direct":
        if image.status != st.UPLOADING or not importer.staging.has(image.id):
            raise IllegalTransition(f"Image {image.id} is {image.status}: glance-direct "
                                    f"imports data staged first with PUT "
                                    f"/v2/images/{image.id}/stage (status uploading).")
    else:  # web-download
        if image.status != st.QUEUED:
            raise IllegalTransition(f"Image {image.id} is {image.status}: web-download "
                                    f"needs a queued image.")
        if not uri:
            raise InvalidInput("web-download needs the URL in method.uri.")
        try:
            check_uri(uri, settings)
        except UriRefused as exc:
            raise InvalidInput(f"URI for web-download does not pass filtering: {exc}") \
                from None

    task = Task(type=TASK_TYPE, owner=image.owner, image_id=image.id,
                user_id=context.user_id, request_id=context.request_id,
                input={"image_id": image.id, "import_req": request,
                       "backend": importer.store_ids()})
    importing = _with_properties(image, os_glance_import_task=task.id,
                                 os_glance_importing_to_stores=",".join(importer.store_ids()),
                                 os_glance_failed_import="")
    importing.status = st.IMPORTING
    try:
        imaged.repo.save(importing, expected_status=image.status, notices=[
            _notice("image.import.start", image, context, method=method, task_id=task.id)])
    except StaleImage as stale:
        raise IllegalTransition(f"Image {image.id} became {stale.actual_status} meanwhile; "
                                f"it cannot be imported now.") from None
    importer.tasks.create(task, context)
    threading.Thread(target=run_import, args=(importer, context, image.id, task, method, uri),
                     name=f"import-{image.id[:8]}", daemon=True).start()
    return task


def _method_of(request: dict) -> tuple[str, str | None]:
    method = request.get("method")
    if not isinstance(method, dict) or not isinstance(method.get("name"), str):
        raise InvalidInput('The import request needs {"method": {"name": ...}}.')
    uri = method.get("uri")
    if uri is not None and not isinstance(uri, str):
        raise InvalidInput("method.uri must be a string.")
    return method["name"], uri


def _check_stores(importer: Importer, request: dict) -> None:
    stores = request.get("stores")
    if stores is None:
        return
    if not isinstance(stores, list) or not all(isinstance(s, str) for s in stores):
        raise InvalidInput("stores must be a list of store ids.")
    unknown = [store for store in stores if store not in importer.store_ids()]
    if unknown:
        raise InvalidInput(f"Unknown store(s) {', '.join(unknown)} (available: "
                           f"{', '.join(importer.store_ids())}).")


# -- the import thread ----------------------------------------------------------------------

def run_import(importer: Importer, context: RequestContext, image_id: str, task: Task,
               method: str, uri: str | None) -> None:
    imaged, staging, settings = importer.imaged, importer.staging, importer.settings
    writer: StoreWriter | None = None
    allowance = 0
    try:
        task = importer.tasks.advance(task, [PENDING], PROCESSING, context)
        image = imaged.repo.get(image_id)
        if image is None or image.status != st.IMPORTING:
            raise ImportFailed(f"image {image_id} is no longer importing")
        allowance = _allowance(imaged, image)
        staged = staging.path(image_id)

        # 1. fetch
        if method == "web-download":
            _download(importer, image, uri or "", allowance)

        # 2. inspect
        verdict = inspect_file(staged, vmdk_allowed_types=imaged.conf.image.vmdk_allowed_types)
        _judge(imaged, verdict, image.disk_format)
        disk_format, final = image.disk_format, staged

        # 3. convert
        if settings.convert and needs_conversion(image.disk_format, settings.output_format):
            final = staging.converted_path(image_id)
            with CONVERSIONS:
                convert(staged, verdict.qemu_format, final, settings.output_format,
                        settings.convert_timeout)
            disk_format = settings.output_format

        # 4. store (hashes, size and virtual size of the data kept)
        writer = imaged.stores.default.open_writer(image_id)
        received = _stream(FileSource(final), writer, allowance,
                           imaged.conf.upload.chunk_size, imaged.conf.image.vmdk_allowed_types)
        check(received.verdict, disk_format)  # our own output: a sanity check
        url = writer.commit()
        writer = None

        # 5. activate
        values = {"size": received.size, "virtual_size": received.verdict.virtual_size,
                  "checksum": received.md5, "os_hash_algo": HASH_ALGORITHM,
                  "os_hash_value": received.sha512}
        try:
            _finish(importer, image_id, st.ACTIVE, {**values, "disk_format": disk_format},
                    [Location(url, {})], {"os_glance_importing_to_stores": ""}, [
                        _notice("image.import", image, context, task_id=task.id,
                                disk_format=disk_format, **values),
                        _notice("image.activate", image, context, **values)])
        except StaleImage as stale:
            imaged.stores.default.delete(url)
            raise ImportFailed(f"image {image_id} was {stale.actual_status or 'deleted'} "
                               f"during the import; its data was removed") from None
        importer.tasks.advance(task, [PROCESSING], SUCCESS, context,
                               result={"image_id": image_id}, message="",
                               expires_at=_expiry(settings))
        LOG.info("image %s imported (%s, %s, %d bytes)", image_id, method, disk_format,
                 received.size)
    except BaseException as exc:  # noqa: BLE001 - every failure must leave a clear state
        reason = _reason(exc, allowance, imaged)
        if writer is not None:
            writer.abort()
        _fail(importer, context, image_id, task, reason)
        if not isinstance(exc, Exception):
            raise
    finally:
        staging.remove(image_id)


def _download(importer: Importer, image: Image, uri: str, allowance: int) -> None:
    """web-download's step 1: the URL's body into staging/<id>."""
    source = open_url(uri, importer.settings)
    writer = importer.staging.writer(image.id)
    try:
        _stream(source, writer, allowance, importer.imaged.conf.upload.chunk_size,
                importer.imaged.conf.image.vmdk_allowed_types)
    except BaseException:
        writer.abort()
        raise
    writer.commit()


def _judge(imaged: Imaged, verdict, disk_format: str | None) -> None:
    """The same verdict as an upload's: safe, and (by default) what
    disk_format says. Raises ImageSafetyError naming every reason."""
    if imaged.conf.image.require_image_format_match:
        check(verdict, disk_format)
    else:
        verdict.raise_if_unsafe()


def _reason(exc: BaseException, allowance: int, imaged: Imaged) -> str:
    if isinstance(exc, ImageSafetyError):
        return f"the image was refused: {exc}"
    if isinstance(exc, _TooBig):
        return quotas.over_allowance_message(imaged.quotas, allowance, exc.received)
    if isinstance(exc, (ImportFailed, DownloadFailed, UriRefused, ConversionFailed,
                        StoreError)):
        return str(exc)
    LOG.exception("import failed unexpectedly")
    return f"internal error: {exc!r}"


def _fail(importer: Importer, context: RequestContext, image_id: str, task: Task,
          reason: str) -> None:
    """importing -> queued with os_glance_failed_import, task failure."""
    imaged = importer.imaged
    LOG.warning("import of image %s failed: %s", image_id, reason)
    importer.staging.remove(image_id)
    image = imaged.repo.get(image_id)
    if image is not None and image.status == st.IMPORTING:
        failed = [s for s in image.properties.get("os_glance_failed_import", "").split(",") if s]
        for store in importer.store_ids():
            if store not in failed:
                failed.append(store)
        try:
            _finish(importer, image_id, st.QUEUED, dict(CLEARED), [],
                    {"os_glance_failed_import": ",".join(failed),
                     "os_glance_importing_to_stores": ""},
                    [_notice("image.import.failed", image, context, task_id=task.id,
                             reason=reason)])
        except StaleImage:
            pass  # deleted meanwhile: nothing left to change
    try:
        importer.tasks.advance(task, [PENDING, PROCESSING], FAILURE, context, message=reason,
                               expires_at=_expiry(importer.settings))
    except Exception:  # noqa: BLE001
        LOG.exception("could not record the failure of task %s", task.id)


def _finish(importer: Importer, image_id: str, status: str, values: dict,
            locations: list[Location], properties: dict, notices: list[Notice]) -> None:
    """Leave importing for `status` in one compare-and-set save."""
    image = importer.imaged.repo.get(image_id)
    if image is None or image.status != st.IMPORTING:
        raise StaleImage(image_id, image.status if image else None)
    changed = _with_properties(image, **properties)
    for key, value in values.items():
        setattr(changed, key, value)
    changed.status = status
    changed.locations = locations
    importer.imaged.repo.save(changed, expected_status=st.IMPORTING, notices=notices)


def _with_properties(image: Image, **properties: str) -> Image:
    return replace(image, properties={**image.properties, **properties},
                   tags=list(image.tags), locations=list(image.locations))


def _allowance(imaged: Imaged, image: Image) -> int:
    stored = imaged.repo.usage(image.owner).stored_bytes if imaged.quotas.image_size_total \
        else 0
    return quotas.upload_allowance(imaged.quotas, image.owner, stored)


def _expiry(settings: ImportSettings) -> dt.datetime:
    return utcnow() + dt.timedelta(hours=settings.task_ttl_hours)


def _notice(event_type: str, image: Image, context: RequestContext, **payload) -> Notice:
    return Notice(event_type, image.id, {"image_id": image.id, "name": image.name,
                                         "owner": image.owner, **payload},
                  context=context, project_id=image.owner)


__all__ = ["Importer", "importer_of", "stage", "start_import", "run_import"]
