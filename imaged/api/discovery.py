"""GET /v2/info/import, /v2/info/stores and /v2/info/stores/detail: what
this imaged offers, in Glance's shapes (the clients read them:
`openstack image stores list`, `glance stores-info`, and `openstack image
import`, which refuses a method not listed here).

    /v2/info/stores         every store the operator configured: id,
                            description (when set), "default": "true" on the
                            default one, "read-only": "true" on http stores
                            (strings, as Glance writes them: a client that
                            compares with "true" must find them)
    /v2/info/stores/detail  the same with type, weight and the store's
                            settings (a file store's data_dir); admins and
                            services only (stores_info_detail)
"""
from __future__ import annotations

from flask import Blueprint, jsonify

from imaged.api import runtime
from imaged.imports import flow
from imaged.runtime import Imaged
from imaged.store.base import Store
from shared.api import context

bp = Blueprint("image_discovery", __name__)


@bp.get("/v2/info/import")
def import_info():
    return jsonify({"import-methods": {
        "description": "Import methods available.", "type": "array",
        "value": flow.importer_of(runtime()).offered_methods()}})


@bp.get("/v2/info/stores")
def stores_info():
    imaged = runtime()
    return jsonify({"stores": [_summary(imaged, store) for store in imaged.stores.listed()]})


@bp.get("/v2/info/stores/detail")
def stores_info_detail():
    imaged = runtime()
    imaged.authorize("stores_info_detail", context())
    return jsonify({"stores": [
        {**_summary(imaged, store), "type": store.name, "weight": store.weight,
         "properties": store.properties()} for store in imaged.stores.listed()]})


def _summary(imaged: Imaged, store: Store) -> dict:
    entry: dict = {"id": store.store_id}
    if store.description:
        entry["description"] = store.description
    if store is imaged.stores.default:
        entry["default"] = "true"
    if not store.writable:
        entry["read-only"] = "true"
    return entry
