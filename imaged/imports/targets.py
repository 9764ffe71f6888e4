"""Which stores an import writes to, from the request (Glance's rules):

    {"all_stores": true}            every writable store (not with `stores`
                                    or the X-Image-Meta-Store header)
    {"stores": ["fast", "cheap"]}   those (not with the header)
    X-Image-Meta-Store: cheap       that one
    nothing                         the default store

`all_stores_must_succeed` (default true): one store failing fails the
import and nothing is kept; false: the failures are recorded in
os_glance_failed_import and the image keeps the copies that worked.

copy-image writes only where the image is not yet: a store named
explicitly that already holds it is 409; all_stores skips those.
"""
from __future__ import annotations

from dataclasses import dataclass

from imaged.domain.errors import IllegalTransition, InvalidInput
from imaged.domain.image import Image
from imaged.store import Stores


@dataclass(frozen=True)
class Targets:
    store_ids: list[str]
    must_succeed: bool


def import_targets(stores: Stores, image: Image, request: dict, header: str | None,
                   method: str, imaged) -> Targets:
    all_stores = request.get("all_stores", False)
    named = request.get("stores")
    must_succeed = request.get("all_stores_must_succeed", True)
    if not isinstance(all_stores, bool) or not isinstance(must_succeed, bool):
        raise InvalidInput("all_stores and all_stores_must_succeed must be true or false.")
    if all_stores:
        if named or header:
            raise InvalidInput("all_stores cannot be combined with stores or the "
                               "X-Image-Meta-Store header.")
        store_ids = stores.writable_ids()
    elif named is not None:
        if header:
            raise InvalidInput("stores and the X-Image-Meta-Store header cannot both be "
                               "given.")
        if not isinstance(named, list) or not named \
                or not all(isinstance(s, str) for s in named):
            raise InvalidInput("stores must be a non-empty list of store ids.")
        store_ids = list(dict.fromkeys(named))
    else:
        store_ids = [header.strip() if header else stores.default.store_id]
    for store_id in store_ids:
        stores.named_for_writing(store_id)  # 400 naming the stores for a bad one
    if method == "copy-image":
        holding = {stores.store_id_of(location) for location in image.locations}
        if all_stores:
            store_ids = [s for s in store_ids if s not in holding]
            if not store_ids:
                raise IllegalTransition(f"Image {image.id} is already in every store.")
        else:
            already = [s for s in store_ids if s in holding]
            if already:
                raise IllegalTransition(f"Image {image.id} is already present in store(s) "
                                        f"{', '.join(already)}.")
    return Targets(store_ids, must_succeed)
