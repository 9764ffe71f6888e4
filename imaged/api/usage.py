"""GET /v2/info/usage: the caller's project quota usage, in Glance's shape.

    {"usage": {"image_size_total":      {"limit": L, "usage": U},   MiB
               "image_count_total":     {...},                      images
               "image_stage_total":     {...},                      MiB in staging
               "image_count_uploading": {...}}}                     images

Limits come from [quota] of imaged-api.conf, usage from the repository and
the import staging area; the numbers are worked out in domain/quotas.py.
"""
from __future__ import annotations

import contextlib

from flask import Blueprint, jsonify

from imaged.api import runtime
from imaged.domain import quotas
from imaged.domain import status as st
from imaged.imports import flow
from imaged.imports.staging import SUFFIXES
from shared.api import context

# Images whose data is on its way in (Glance's image_count_uploading).
UPLOADING = (st.SAVING, st.UPLOADING, st.IMPORTING)
# Images whose data may wait in the staging area.
STAGED = (st.UPLOADING, st.IMPORTING)


bp = Blueprint("image_usage", __name__)


@bp.get("/v2/info/usage")
def usage():
    imaged = runtime()
    project = context().project_id or ""
    repo = imaged.repo
    stored = repo.usage(project)
    uploading = repo.ids_in_status(project, UPLOADING)
    staged = repo.ids_in_status(project, STAGED)
    measured = quotas.ProjectUsage(images=stored.images, stored_bytes=stored.stored_bytes,
                                   staged_bytes=_staged_bytes(flow.importer_of(imaged).staging,
                                                              staged),
                                   uploading=len(uploading))
    return jsonify({"usage": quotas.usage_report(imaged.quotas, measured)})


def _staged_bytes(staging, image_ids: list[str]) -> int:
    """Bytes the images' data takes in the staging area (staged, arriving,
    or being converted)."""
    total = 0
    for image_id in image_ids:
        for suffix in SUFFIXES:
            with contextlib.suppress(FileNotFoundError):
                total += (staging.directory / (image_id + suffix)).stat().st_size
    return total
