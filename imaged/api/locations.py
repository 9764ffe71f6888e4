"""/v2/images/{id}/locations: the "new location APIs" of Image API 2.17.

POST adds the location of a queued image's data (services such as Nova and
Cinder, or a member of the owning project; 202, the flow is in
imaged/locations.py); GET lists an image's locations (services only: where
the data lives is not the users' business). The old PATCH /locations path
of api/images.py stays, behind show_multiple_locations.
"""
from __future__ import annotations

from flask import Blueprint, jsonify

from imaged import locations as flow
from imaged.api import runtime
from imaged.images import visible_image
from shared.api import context, json_body

bp = Blueprint("image_locations", __name__)


@bp.post("/v2/images/<image_id>/locations")
def add_location(image_id: str):
    imaged, ctx = runtime(), context()
    image = visible_image(imaged, ctx, image_id)
    imaged.authorize("add_image_location", ctx, image)
    url, validation = flow.parse_request(json_body())
    flow.add_location(imaged, ctx, image, url, validation)
    return "", 202


@bp.get("/v2/images/<image_id>/locations")
def list_locations(image_id: str):
    imaged, ctx = runtime(), context()
    image = visible_image(imaged, ctx, image_id)
    imaged.authorize("fetch_image_location", ctx, image)
    return jsonify([{"url": location.url, "metadata": dict(location.metadata)}
                    for location in image.locations])
