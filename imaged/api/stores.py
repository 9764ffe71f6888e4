"""DELETE /v2/stores/{store_id}/{image_id}: remove an image's data from one
store only (Glance's multi-store API, Image API 2.10).

The delete keeps the image active, served from its other stores. It is
refused, with the reason:

    404  the store is unknown, or the image has no data in it
    409  the image is not active, or that store holds its only copy
         (delete the image instead)

Policy: delete_image_location (admin-only, Glance's default).
"""
from __future__ import annotations

import logging
from dataclasses import replace

from flask import Blueprint

from imaged.api.images import notice
from imaged.api.lookup import visible_image
from imaged.db.repository import StaleImage
from imaged.domain import status as st
from imaged.domain.errors import IllegalTransition
from imaged.runtime import Imaged
from imaged.store.base import UnknownStore
from shared.api import context
from shared.errors import NotFound

LOG = logging.getLogger("imaged.api")
STORE_HEADER = "X-Image-Meta-Store"


def stores_blueprint(imaged: Imaged) -> Blueprint:
    bp = Blueprint("image_stores", __name__)

    @bp.delete("/v2/stores/<store_id>/<image_id>")
    def delete_from_store(store_id: str, image_id: str):
        ctx = context()
        try:
            store = imaged.stores.by_id(store_id)
        except UnknownStore as exc:
            raise NotFound(str(exc)) from None
        image = visible_image(imaged, ctx, image_id)
        imaged.authorize("get_image_location", ctx, image)
        imaged.authorize("delete_image_location", ctx, image)
        if image.status != st.ACTIVE:
            raise IllegalTransition(f"Image {image.id} is {image.status}: data can only be "
                                    f"removed from a store of an active image.")
        here = [loc for loc in image.locations
                if imaged.stores.store_id_of(loc) == store.store_id]
        if not here:
            raise NotFound(f"Image {image.id} is not stored in store {store.store_id}.")
        kept = [loc for loc in image.locations if loc not in here]
        if not kept:
            raise IllegalTransition(f"Store {store.store_id} holds the only copy of image "
                                    f"{image.id}'s data: delete the image instead.")
        changed = replace(image, locations=kept, properties=dict(image.properties),
                          tags=list(image.tags))
        try:
            imaged.repo.save(changed, expected_status=st.ACTIVE, notices=[
                notice("image.update", changed, ctx, changed=["locations"],
                       removed_from_store=store.store_id)])
        except StaleImage as stale:
            raise IllegalTransition(f"Image {image.id} became {stale.actual_status} "
                                    f"meanwhile; nothing was removed.") from None
        for location in here:
            try:
                store.delete(location.url)
            except Exception:  # noqa: BLE001 - the record no longer points at it
                LOG.exception("could not delete image data at %s", location.url)
        return "", 204

    return bp
