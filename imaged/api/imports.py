"""Interoperable import over HTTP: PUT /v2/images/{id}/stage, POST
/v2/images/{id}/import, GET /v2/info/import and /v2/info/stores, and the
OpenStack-image-import-methods header on POST /v2/images (the clients read
it to learn whether --import can work). The flow is in imaged/imports/flow.py.
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from imaged.api.data import receive_image_data
from imaged.api.lookup import visible_image
from imaged.domain.errors import InvalidInput
from imaged.imports import flow
from imaged.runtime import Imaged
from shared.api import context

STAGE_READ_TIMEOUT = 120.0


def imports_blueprint(imaged: Imaged) -> Blueprint:
    bp = Blueprint("image_import", __name__)
    importer = flow.importer_of(imaged)

    @bp.put("/v2/images/<image_id>/stage")
    def stage(image_id: str):
        receive_image_data(imaged, image_id, STAGE_READ_TIMEOUT,
                           lambda ctx, image, body: flow.stage(importer, ctx, image, body))
        return "", 204

    @bp.post("/v2/images/<image_id>/import")
    def import_image(image_id: str):
        ctx = context()
        image = visible_image(imaged, ctx, image_id)
        imaged.authorize("import_image", ctx, image)
        body = request.get_json(silent=True, force=True)
        if not isinstance(body, dict):
            raise InvalidInput("The import request must be a JSON object.")
        task = flow.start_import(importer, ctx, image, body)
        response = jsonify({"task_id": task.id})
        response.status_code = 202
        return response

    @bp.get("/v2/info/import")
    def import_info():
        return jsonify({"import-methods": {
            "description": "Import methods available.", "type": "array",
            "value": list(importer.settings.methods)}})

    @bp.get("/v2/info/stores")
    def stores_info():
        default = imaged.stores.default.name
        return jsonify({"stores": [{"id": store_id, "default": store_id == default}
                                   for store_id in importer.store_ids()]})

    @bp.after_app_request
    def _advertise_import_methods(response):
        if request.method == "POST" and request.path.rstrip("/") == "/v2/images" \
                and response.status_code == 201:
            response.headers["OpenStack-image-import-methods"] = \
                ",".join(importer.settings.methods)
        return response

    return bp
