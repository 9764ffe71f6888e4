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
    copy-image      POST /v2/images/{id}/import  (admin) an active image's
                      data into more stores; the image stays active

Where the data goes (`stores`, `all_stores`, `all_stores_must_succeed`, the
X-Image-Meta-Store header) is decided by targets.py before anything starts.

POST /import answers 202 with a task; the rest runs in a thread of the API
worker (`run_import`), each step reported in the task:

    1. fetch     web-download only: the URL into the staging area
    2. inspect   shared.imageformat on the staged file: safe, and what
                 disk_format says; else refused, naming the reason
    3. convert   qemu-img -f <inspected> -O <output_format> (qcow2 by
                 default), only now that the data is known to be safe
    4. store     the final data into each target store in turn, with the
                 upload's hashing threads: size, checksum, os_hash_value and
                 virtual_size describe the data that is kept, not what was
                 sent; os_glance_importing_to_stores loses each store once
                 it is done, os_glance_failed_import gains each that failed
    5. activate  importing -> active (disk_format updated), with one
                 location per store ({"store": id}); task success

copy-image has steps 4 and 5 only: the source is the image's own data (its
best store), each copy must have the image's checksum, and step 5 adds the
new locations to the active image.

Any failure (with all_stores_must_succeed false, only when no store took
the data): whatever was written to the stores is removed, the image goes
back to queued (a copy: stays active) with os_glance_failed_import naming
the stores (Glance's convention: import again), the task fails with the
reason as its message, and an image.import.failed event carries it too.
Whatever way the import ends, the staging area keeps nothing of it.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
from dataclasses import replace

from imaged.db.repository import Notice, StaleImage
from imaged.db.tasks import FAILURE, PENDING, PROCESSING, SUCCESS, Task, TaskRepository
from imaged.domain import formats, quotas
from imaged.domain import status as st
from imaged.domain.errors import IllegalTransition, InvalidInput, QuotaExceeded
from imaged.domain.image import Image, Location, utcnow
from imaged.imports.convert import ConversionFailed, convert, needs_conversion
from imaged.imports.copy import StoredSource
from imaged.imports.fetch import DownloadFailed, open_url
from imaged.imports.settings import ImportSettings
from imaged.imports.staging import FileSource, Staging
from imaged.imports.targets import Targets, import_targets
from imaged.imports.uri_filter import UriRefused, check_uri
from imaged.incoming import ClientDisconnected
from imaged.runtime import Imaged
from imaged.store.base import Store, StoreError, StoreFull, StoreWriter

# The upload's streaming code, shared: hashing threads, inspector, size cap.
from imaged.upload import CLEARED, HASH_ALGORITHM, TooBig, UploadFailed, stream_into_store
from shared.context import RequestContext
from shared.imageformat import ImageSafetyError, check, inspect_file
from shared.request_ids import carried

LOG = logging.getLogger(__name__)
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

    def offered_methods(self) -> list[str]:
        """enabled_import_methods, less copy-image while there is only one
        store to copy to (Glance lists it only with several stores)."""
        several = len(self.imaged.stores.writable_ids()) > 1
        return [m for m in self.settings.methods if m != "copy-image" or several]

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
        received = stream_into_store(body, writer, allowance, imaged.conf.upload.chunk_size,
                                     imaged.conf.image.vmdk_allowed_types)
        _judge(imaged, received.verdict, image.disk_format)
    except ClientDisconnected as exc:
        _unstage(importer, context, image, writer, f"the upload was interrupted: {exc}")
        raise UploadFailed(f"Staging image {image.id} was interrupted ({exc}); nothing was "
                           f"kept and the image is queued again.", status=400) from None
    except TooBig as exc:
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
    with contextlib.suppress(StaleImage):  # deleted meanwhile
        importer.imaged.repo.set_status(image.id, [st.UPLOADING], st.QUEUED, CLEARED, notices=[
            _notice("image.upload.failed", image, context, staging=True, reason=reason)])


# -- POST /v2/images/{id}/import ------------------------------------------------------------

def start_import(importer: Importer, context: RequestContext, image: Image,
                 request: dict, header_store: str | None = None) -> Task:
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
        if len(imaged.stores.writable_ids()) < 2:
            raise InvalidInput("copy-image needs more than one store, and imaged has only "
                               f"'{imaged.stores.default.store_id}'.")
    if method not in settings.methods:
        raise InvalidInput(f"Import method {method} is not enabled (enabled: "
                           f"{', '.join(settings.methods) or 'none'}).")
    targets = import_targets(imaged.stores, image, request, header_store, method, imaged)
    if method == "copy-image":
        return _start_copy(importer, context, image, request, targets)
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

    task, importing = _task_for(image, context, request, targets)
    importing.status = st.IMPORTING
    try:
        imaged.repo.save(importing, expected_status=image.status, notices=[
            _notice("image.import.start", image, context, method=method, task_id=task.id)])
    except StaleImage as stale:
        raise IllegalTransition(f"Image {image.id} became {stale.actual_status} meanwhile; "
                                f"it cannot be imported now.") from None
    importer.tasks.create(task, context)
    threading.Thread(target=carried(run_import),
                     args=(importer, context, image.id, task, method, uri, targets),
                     name=f"import-{image.id[:8]}", daemon=True).start()
    return task


def _start_copy(importer: Importer, context: RequestContext, image: Image, request: dict,
                targets: Targets) -> Task:
    """copy-image: the image stays active; os_glance_importing_to_stores
    says where it is being copied (and that a copy is running)."""
    if image.status != st.ACTIVE:
        raise IllegalTransition(f"Image {image.id} is {image.status}: copy-image copies the "
                                f"data of an active image.")
    copying_to = image.properties.get("os_glance_importing_to_stores")
    previous = importer.tasks.get(image.properties.get("os_glance_import_task") or "") \
        if copying_to else None
    if previous is not None and previous.status in (PENDING, PROCESSING):
        raise IllegalTransition(f"Image {image.id} is already being copied to {copying_to} "
                                f"(task {previous.id}).")
    task, copying = _task_for(image, context, request, targets)
    try:
        importer.imaged.repo.save(copying, expected_status=st.ACTIVE, notices=[
            _notice("image.import.start", image, context, method="copy-image",
                    task_id=task.id, stores=targets.store_ids)])
    except StaleImage as stale:
        raise IllegalTransition(f"Image {image.id} became {stale.actual_status} meanwhile; "
                                f"it cannot be copied now.") from None
    importer.tasks.create(task, context)
    threading.Thread(target=carried(run_copy), args=(importer, context, image.id, task, targets),
                     name=f"copy-{image.id[:8]}", daemon=True).start()
    return task


def _task_for(image: Image, context: RequestContext, request: dict,
              targets: Targets) -> tuple[Task, Image]:
    """The import's task, and the image marked with it and with the stores
    it goes to (os_glance_importing_to_stores), as Glance marks it."""
    task = Task(type=TASK_TYPE, owner=image.owner, image_id=image.id,
                user_id=context.user_id, request_id=context.request_id,
                input={"image_id": image.id, "import_req": request,
                       "backend": targets.store_ids})
    marked = _with_properties(image, os_glance_import_task=task.id,
                              os_glance_importing_to_stores=",".join(targets.store_ids),
                              os_glance_failed_import="")
    return task, marked


def _method_of(request: dict) -> tuple[str, str | None]:
    method = request.get("method")
    if not isinstance(method, dict) or not isinstance(method.get("name"), str):
        raise InvalidInput('The import request needs {"method": {"name": ...}}.')
    uri = method.get("uri")
    if uri is not None and not isinstance(uri, str):
        raise InvalidInput("method.uri must be a string.")
    return method["name"], uri


# -- the import thread ----------------------------------------------------------------------

def run_import(importer: Importer, context: RequestContext, image_id: str, task: Task,
               method: str, uri: str | None, targets: Targets) -> None:
    imaged, staging, settings = importer.imaged, importer.staging, importer.settings
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

        # 4. store, into each target (hashes, size and virtual size of the data kept)
        stored = _store_everywhere(importer, image_id, targets, st.IMPORTING,
                                   lambda: FileSource(final), allowance, disk_format)
        received = stored.received

        # 5. activate
        values = {"size": received.size, "virtual_size": received.verdict.virtual_size,
                  "checksum": received.md5, "os_hash_algo": HASH_ALGORITHM,
                  "os_hash_value": received.sha512}
        try:
            _finish(importer, image_id, st.ACTIVE, {**values, "disk_format": disk_format},
                    stored.locations, {"os_glance_importing_to_stores": "",
                                       "os_glance_failed_import": ",".join(stored.failed)}, [
                        _notice("image.import", image, context, task_id=task.id,
                                disk_format=disk_format, stores=stored.store_ids(), **values),
                        _notice("image.activate", image, context, **values)])
        except StaleImage as stale:
            stored.remove(imaged)
            raise ImportFailed(f"image {image_id} was {stale.actual_status or 'deleted'} "
                               f"during the import; its data was removed") from None
        importer.tasks.advance(task, [PROCESSING], SUCCESS, context,
                               result={"image_id": image_id}, message="",
                               expires_at=_expiry(settings))
        LOG.info("image %s imported (%s, %s, %d bytes)", image_id, method, disk_format,
                 received.size)
    except BaseException as exc:  # noqa: BLE001 - every failure must leave a clear state
        reason = _reason(exc, allowance, imaged)
        _fail(importer, context, image_id, task, reason, targets)
        if not isinstance(exc, Exception):
            raise
    finally:
        staging.remove(image_id)


def run_copy(importer: Importer, context: RequestContext, image_id: str, task: Task,
             targets: Targets) -> None:
    """copy-image's thread: the image's data into each target store, then
    the new locations added to the (still active) image."""
    imaged = importer.imaged
    try:
        task = importer.tasks.advance(task, [PENDING], PROCESSING, context)
        image = imaged.repo.get(image_id)
        if image is None or image.status != st.ACTIVE:
            raise ImportFailed(f"image {image_id} is no longer active")
        stored = _store_everywhere(importer, image_id, targets, st.ACTIVE,
                                   lambda: StoredSource.open(imaged.stores, image),
                                   image.size if image.size is not None else 0, None,
                                   expected_md5=image.checksum)
        try:
            current = imaged.repo.get(image_id)
            if current is None or current.status != st.ACTIVE:
                raise StaleImage(image_id, current.status if current else None)
            copied = _with_properties(current, os_glance_importing_to_stores="",
                                      os_glance_failed_import=",".join(stored.failed))
            copied.locations = current.locations + stored.locations
            imaged.repo.save(copied, expected_status=st.ACTIVE, notices=[
                _notice("image.import", image, context, task_id=task.id, method="copy-image",
                        stores=stored.store_ids())])
        except StaleImage as stale:
            stored.remove(imaged)
            raise ImportFailed(f"image {image_id} was {stale.actual_status or 'deleted'} "
                               f"during the copy; the copies were removed") from None
        importer.tasks.advance(task, [PROCESSING], SUCCESS, context,
                               result={"image_id": image_id}, message="",
                               expires_at=_expiry(importer.settings))
        LOG.info("image %s copied to %s", image_id, ", ".join(stored.store_ids()))
    except BaseException as exc:  # noqa: BLE001 - every failure must leave a clear state
        _fail(importer, context, image_id, task, _reason(exc, 0, imaged), targets, copy=True)
        if not isinstance(exc, Exception):
            raise


class Stored:
    """What step 4 wrote: one location per store that took the data."""

    def __init__(self):
        self.locations: list[Location] = []
        self.failed: list[str] = []
        self.received = None

    def store_ids(self) -> list[str]:
        return [location.metadata["store"] for location in self.locations]

    def remove(self, imaged: Imaged) -> None:
        for location in self.locations:
            try:
                imaged.stores.for_location(location).delete(location.url)
            except Exception:  # noqa: BLE001 - leftover data harms no one
                LOG.exception("could not remove %s", location.url)


def _store_everywhere(importer: Importer, image_id: str, targets: Targets,
                      expected_status: str, open_source, allowance: int,
                      disk_format: str | None, expected_md5: str | None = None) -> Stored:
    """Step 4: the data into each target store in turn, counting down
    os_glance_importing_to_stores. A store that fails ends everything (its
    copies removed) when all_stores_must_succeed, else is recorded in
    os_glance_failed_import; at least one store must take the data."""
    imaged, stored = importer.imaged, Stored()
    try:
        for store_id in targets.store_ids:
            try:
                store = imaged.stores.writable_by_id(store_id)
                url, received = _store_one(imaged, store, image_id, open_source, allowance,
                                           disk_format, expected_md5)
            except (StoreError, TooBig, ImageSafetyError) as exc:
                if targets.must_succeed:
                    raise
                LOG.warning("image %s: store %s failed: %s", image_id, store_id, exc)
                stored.failed.append(store_id)
            else:
                stored.locations.append(Location(url, {"store": store_id}))
                stored.received = received
            _progress(importer, image_id, expected_status, store_id, stored.failed)
        if not stored.locations:
            raise ImportFailed(f"no store took the data (failed: {', '.join(stored.failed)})")
    except BaseException:
        stored.remove(imaged)
        raise
    return stored


def _store_one(imaged: Imaged, store: Store, image_id: str, open_source, allowance: int,
               disk_format: str | None, expected_md5: str | None):
    """The data into one store: (location URL, what was received)."""
    try:
        writer = store.open_writer(image_id)
    except OSError as exc:  # the store's directory is gone, say
        raise StoreError(f"store {store.store_id}: {exc.strerror or exc}") from None
    try:
        received = stream_into_store(open_source(), writer, allowance,
                                     imaged.conf.upload.chunk_size,
                                     imaged.conf.image.vmdk_allowed_types)
        if disk_format is not None:
            check(received.verdict, disk_format)  # our own output: a sanity check
        if expected_md5 and received.md5 != expected_md5:
            raise StoreError(f"the copy read from the image's store does not match its "
                             f"checksum {expected_md5}")
        return writer.commit(), received
    except OSError as exc:
        writer.abort()
        raise StoreError(f"store {store.store_id}: {exc.strerror or exc}") from None
    except BaseException:
        writer.abort()
        raise


def _progress(importer: Importer, image_id: str, expected_status: str, done: str,
              failed: list[str]) -> None:
    """One store less in os_glance_importing_to_stores (and the failures so far)."""
    image = importer.imaged.repo.get(image_id)
    if image is None or image.status != expected_status:
        raise ImportFailed(f"image {image_id} is {image.status if image else 'deleted'} now")
    left = [s for s in image.properties.get("os_glance_importing_to_stores", "").split(",")
            if s and s != done]
    changed = _with_properties(image, os_glance_importing_to_stores=",".join(left),
                               os_glance_failed_import=",".join(failed))
    try:
        importer.imaged.repo.save(changed, expected_status=expected_status)
    except StaleImage as stale:
        raise ImportFailed(f"image {image_id} became {stale.actual_status or 'deleted'} "
                           f"meanwhile") from None


def _download(importer: Importer, image: Image, uri: str, allowance: int) -> None:
    """web-download's step 1: the URL's body into staging/<id>."""
    source = open_url(uri, importer.settings)
    writer = importer.staging.writer(image.id)
    try:
        stream_into_store(source, writer, allowance, importer.imaged.conf.upload.chunk_size,
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
    if isinstance(exc, TooBig):
        return quotas.over_allowance_message(imaged.quotas, allowance, exc.received)
    if isinstance(exc, (ImportFailed, DownloadFailed, UriRefused, ConversionFailed,
                        StoreError)):
        return str(exc)
    LOG.exception("import failed unexpectedly")
    return f"internal error: {exc!r}"


def _fail(importer: Importer, context: RequestContext, image_id: str, task: Task,
          reason: str, targets: Targets, copy: bool = False) -> None:
    """importing -> queued (a copy: still active) with every target store in
    os_glance_failed_import (nothing was kept), task failure."""
    imaged = importer.imaged
    LOG.warning("import of image %s failed: %s", image_id, reason)
    importer.staging.remove(image_id)
    image = imaged.repo.get(image_id)
    copying = copy and image is not None and image.status == st.ACTIVE
    if image is not None and (image.status == st.IMPORTING or copying):
        failed = [s for s in image.properties.get("os_glance_failed_import", "").split(",") if s]
        for store in targets.store_ids:
            if store not in failed:
                failed.append(store)
        properties = {"os_glance_failed_import": ",".join(failed),
                      "os_glance_importing_to_stores": ""}
        notices = [_notice("image.import.failed", image, context, task_id=task.id,
                           reason=reason)]
        try:
            if copying:
                imaged.repo.save(_with_properties(image, **properties),
                                 expected_status=st.ACTIVE, notices=notices)
            else:
                _finish(importer, image_id, st.QUEUED, dict(CLEARED), [], properties,
                        notices)
        except StaleImage:
            pass  # deleted meanwhile: nothing left to change
    try:
        importer.tasks.advance(task, [PENDING, PROCESSING], FAILURE, context, message=reason,
                               expires_at=_expiry(importer.settings))
    except Exception:  # noqa: BLE001
        LOG.exception("could not record the failure of task %s", task.id)


def fail_task(importer: Importer, context: RequestContext, task: Task, reason: str,
              targets: Targets, copy: bool = False) -> None:
    """Fail a task whose thread is gone (imports/recovery.py), exactly as
    its thread would have failed it."""
    _fail(importer, context, task.image_id or "", task, reason, targets, copy=copy)


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
    owner = image.owner or ""
    stored = imaged.repo.usage(owner).stored_bytes if imaged.quotas.image_size_total else 0
    return quotas.upload_allowance(imaged.quotas, owner, stored)


def _expiry(settings: ImportSettings) -> dt.datetime:
    return utcnow() + dt.timedelta(hours=settings.task_ttl_hours)


def _notice(event_type: str, image: Image, context: RequestContext, **payload) -> Notice:
    return Notice(event_type, image.id, {"image_id": image.id, "name": image.name,
                                         "owner": image.owner, **payload},
                  context=context, project_id=image.owner)


__all__ = ["Importer", "importer_of", "stage", "start_import", "run_import"]
