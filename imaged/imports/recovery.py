"""What a stopped imaged-api left half done, put right at its next start.

Imports, copies, staging and uploads run in threads of the API workers.
When imaged-api stops (`pocketstack down`, a crash, a reboot) those threads
die with it, and nothing would ever move their images out of importing,
uploading or saving, nor their tasks out of processing: the image could
never be imported or uploaded again. recover() runs once, in the parent
process, before any worker starts; nothing can be running then, so whatever
is still in one of those states is an orphan:

    task pending or processing      -> failure, "imaged-api stopped ..."
      its image, importing          -> queued, the task's stores added to
                                       os_glance_failed_import (import again)
      its image, active (a copy)    -> active, os_glance_importing_to_stores
                                       cleared, the stores marked failed
    image importing with no task    -> queued (a location was being checked)
    image saving (PUT /file)        -> queued
    image uploading, nothing staged -> queued (the stage was cut off)
    image uploading, data staged    -> kept: the user may still import it
    partial files in the stores and the staging area -> removed

Each change is the same compare-and-set the import thread would have made,
with the same events, so a lab can read what happened in the event list.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from imaged.db.repository import Notice, StaleImage
from imaged.domain import status as st
from imaged.imports import flow
from imaged.imports.targets import Targets
from imaged.upload import CLEARED
from shared.context import RequestContext

LOG = logging.getLogger(__name__)
REASON = "imaged-api stopped before this finished; nothing of it was kept"


@dataclass
class Recovered:
    tasks: int = 0
    images: int = 0
    partial_files: int = 0


def recover(importer: flow.Importer) -> Recovered:
    imaged = importer.imaged
    context = RequestContext(request_id=f"req-{uuid.uuid4()}", user_name="imaged-api")
    done = Recovered()

    for task in importer.tasks.unfinished():
        copy = _method(task.input) == "copy-image"
        targets = Targets(store_ids=list(task.input.get("backend") or []), must_succeed=True)
        flow.fail_task(importer, context, task, f"{REASON} (import again)", targets, copy=copy)
        done.tasks += 1

    for image_id in imaged.repo.ids_in_status(None, [st.IMPORTING, st.SAVING, st.UPLOADING]):
        image = imaged.repo.get(image_id)
        if image is None or (image.status == st.UPLOADING and importer.staging.has(image_id)):
            continue
        try:
            imaged.repo.set_status(image_id, [image.status], st.QUEUED, dict(CLEARED), notices=[
                Notice("image.upload.failed", image_id,
                       {"image_id": image_id, "name": image.name, "owner": image.owner,
                        "status": st.QUEUED, "reason": f"{REASON} (it was {image.status})"},
                       context=context, project_id=image.owner)])
            done.images += 1
        except StaleImage:
            pass  # changed meanwhile: nothing to put right

    for store_id in imaged.stores.writable_ids():
        done.partial_files += imaged.stores.by_id(store_id).remove_partial_writes()
    importer.sweep_staging()
    if done.tasks or done.images or done.partial_files:
        LOG.warning("put right after a stop: %d task(s) failed, %d image(s) queued again, "
                    "%d partial file(s) removed", done.tasks, done.images, done.partial_files)
    return done


def _method(task_input: dict) -> str | None:
    method = (task_input.get("import_req") or {}).get("method")
    return method.get("name") if isinstance(method, dict) else None
