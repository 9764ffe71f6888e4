"""Interoperable import over HTTP: PUT /v2/images/{id}/stage, POST
/v2/images/{id}/import, and the headers of POST /v2/images the clients
read: OpenStack-image-import-methods (whether --import can work) and, with
more than one writable store, OpenStack-image-store-ids (where data may go).
The flow is in imaged/imports/flow.py; /v2/info/* in api/discovery.py.
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from imaged.api import runtime
from imaged.api.data import receive_image_data
from imaged.api.stores import STORE_HEADER
from imaged.domain.errors import InvalidInput
from imaged.images import visible_image
from imaged.imports import flow
from shared.api import context
from shared.openapi import IMAGE_DATA, describe

STAGE_READ_TIMEOUT = 120.0

bp = Blueprint("image_import", __name__)


@bp.put("/v2/images/<image_id>/stage")
@describe(request_media="application/octet-stream", request=IMAGE_DATA, status="204")
def stage(image_id: str):
    imaged = runtime()
    importer = flow.importer_of(imaged)
    receive_image_data(imaged, image_id, STAGE_READ_TIMEOUT,
                       lambda ctx, image, body: flow.stage(importer, ctx, image, body))
    return "", 204


@bp.post("/v2/images/<image_id>/import")
def import_image(image_id: str):
    imaged, ctx = runtime(), context()
    image = visible_image(imaged, ctx, image_id)
    imaged.authorize("import_image", ctx, image)
    body = request.get_json(silent=True, force=True)
    if not isinstance(body, dict):
        raise InvalidInput("The import request must be a JSON object.")
    task = flow.start_import(flow.importer_of(imaged), ctx, image, body,
                             header_store=request.headers.get(STORE_HEADER))
    response = jsonify({"task_id": task.id})
    response.status_code = 202
    return response


@bp.after_app_request
def _advertise_import_methods(response):
    if request.method == "POST" and request.path.rstrip("/") == "/v2/images" \
            and response.status_code == 201:
        imaged = runtime()
        response.headers["OpenStack-image-import-methods"] = \
            ",".join(flow.importer_of(imaged).offered_methods())
        writable = imaged.stores.writable_ids()
        if len(writable) > 1:
            response.headers["OpenStack-image-store-ids"] = ",".join(writable)
    return response
