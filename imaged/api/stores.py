"""DELETE /v2/stores/{store_id}/{image_id}: remove an image's data from one
store only (Glance's multi-store API, Image API 2.10).

The delete keeps the image active, served from its other stores. It is
refused, with the reason:

    404  the store is unknown, or the image has no data in it
    409  the image is not active, or that store holds its only copy
         (delete the image instead)

Policy: delete_image_location (admin-only, Glance's default). The work is
images.delete_from_store.
"""
from __future__ import annotations

from flask import Blueprint

from imaged import images
from imaged.api import runtime
from shared.api import context

#: The header that names the store an upload or import goes to.
STORE_HEADER = "X-Image-Meta-Store"

bp = Blueprint("image_stores", __name__)


@bp.delete("/v2/stores/<store_id>/<image_id>")
def delete_from_store(store_id: str, image_id: str):
    images.delete_from_store(runtime(), context(), store_id, image_id)
    return "", 204
