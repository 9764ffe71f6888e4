"""/v2/images and /v2/images/{id}: create, list, show, update (JSON patch),
delete, and the deactivate/reactivate actions."""
from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, jsonify, request

from imaged.api.lookup import visible_image
from imaged.api.render import image_view
from imaged.cache import image_cache_of
from imaged.db.repository import DuplicateImage, Notice, StaleImage
from imaged.domain import quotas, rules
from imaged.domain import status as st
from imaged.domain.errors import Conflict, ImageNotFound, InvalidInput, NotAllowed
from imaged.domain.image import Image, Location, utcnow
from imaged.domain.listing import parse_query
from imaged.domain.patch import dialect_of, parse_changes
from imaged.runtime import Imaged, caller_of
from imaged.store.base import LocationRefused, StoreError
from shared.api import context
from shared.context import RequestContext
from shared.errors import Forbidden, NotFound

LOG = logging.getLogger("imaged.api")
SAVE_ATTEMPTS = 3


def notice(event_type: str, image: Image, ctx: RequestContext, **extra) -> Notice:
    return Notice(event_type, image.id, {**image.summary(), **extra}, context=ctx,
                  project_id=image.owner)


def images_blueprint(imaged: Imaged) -> Blueprint:
    bp = Blueprint("images", __name__)
    conf = imaged.conf

    def view(image: Image, ctx: RequestContext) -> dict:
        """The image as this caller may see it: extra properties its roles
        may not read (property protections) are left out."""
        readable = imaged.protections.readable(image.properties, ctx.roles)
        return image_view(image, conf, ctx, properties=readable)

    @bp.post("/v2/images")
    def create_image():
        ctx = context()
        image = rules.new_image(_json(), caller_of(ctx), imaged.formats, imaged.limits)
        imaged.authorize("add_image", ctx, image)
        check_protected_properties(imaged, ctx, {}, image.properties)
        _authorize_visibility(imaged, ctx, image, image.visibility)
        if imaged.quotas.image_count_total:  # counting costs a query: only with a quota
            quotas.check_image_count(imaged.quotas, image.owner,
                                     imaged.repo.usage(image.owner).images)
        try:
            imaged.repo.create(image, [notice("image.create", image, ctx)])
        except DuplicateImage:
            raise Conflict(f"An image with identifier {image.id} already exists.") from None
        response = jsonify(view(image, ctx))
        response.status_code = 201
        response.headers["Location"] = f"/v2/images/{image.id}"
        return response

    @bp.get("/v2/images")
    def list_images():
        ctx = context()
        imaged.authorize("get_images", ctx)
        query = parse_query(request.args.items(multi=True), caller_of(ctx),
                            default_limit=conf.image.limit_param_default,
                            max_limit=conf.image.api_limit_max)
        marker = None
        if query.marker:
            try:
                marker = visible_image(imaged, ctx, query.marker)
            except ImageNotFound:
                raise InvalidInput(f"Invalid marker. Image {query.marker} could not be "
                                   f"found.") from None
        images = imaged.repo.list(query, marker)
        return jsonify(_page(images, query.limit, ctx))

    def _page(images: list[Image], limit: int, ctx: RequestContext) -> dict:
        params = [(k, v) for k, v in request.args.items(multi=True) if k != "marker"]
        body = {"images": [view(image, ctx) for image in images],
                "first": _link(params), "schema": "/v2/schemas/images"}
        if limit and len(images) == limit:
            body["next"] = _link(params + [("marker", images[-1].id)])
        return body

    @bp.get("/v2/images/<image_id>")
    def show_image(image_id: str):
        ctx = context()
        image = visible_image(imaged, ctx, image_id)
        imaged.authorize("get_image", ctx, image)
        return jsonify(view(image, ctx))

    @bp.patch("/v2/images/<image_id>")
    def update_image(image_id: str):
        ctx = context()
        changes = parse_changes(_json(any_type=True), dialect_of(request.content_type))
        for _attempt in range(SAVE_ATTEMPTS):
            image = visible_image(imaged, ctx, image_id)
            imaged.authorize("modify_image", ctx, image)
            result = rules.apply_changes(image, changes, caller_of(ctx), imaged.formats,
                                         imaged.limits,
                                         locations_enabled=conf.image.show_multiple_locations,
                                         check_location=_location_checker(imaged))
            updated = result.image
            check_protected_properties(imaged, ctx, image.properties, updated.properties)
            if updated.visibility != image.visibility:
                _authorize_visibility(imaged, ctx, updated, updated.visibility)
            if result.added_locations:
                imaged.authorize("set_image_location", ctx, image)
            if result.removed_locations:
                imaged.authorize("delete_image_location", ctx, image)
            notices = [notice("image.update", updated, ctx, changed=result.changed)]
            if image.status != updated.status and updated.status == st.ACTIVE:
                notices.append(notice("image.activate", updated, ctx))
            try:
                imaged.repo.save(updated, expected_status=image.status, notices=notices)
            except StaleImage:
                continue  # the status moved meanwhile (an upload ended): look again
            _delete_data(imaged, result.removed_locations)
            return jsonify(view(updated, ctx))
        raise Conflict(f"Image {image_id} kept changing status; try the update again.")

    @bp.delete("/v2/images/<image_id>")
    def delete_image(image_id: str):
        ctx = context()
        for _attempt in range(SAVE_ATTEMPTS):
            image = visible_image(imaged, ctx, image_id)
            imaged.authorize("delete_image", ctx, image)
            if image.protected:
                raise NotAllowed(f"Image {image.id} is protected and cannot be deleted "
                                 f"(set protected to false first).")
            target = st.after_delete(image.status, has_data=bool(image.locations),
                                     delayed_delete=conf.image.delayed_delete)
            try:
                imaged.repo.set_status(image.id, [image.status], target,
                                       {"deleted_at": utcnow()},
                                       notices=[notice("image.delete", image, ctx,
                                                       new_status=target)])
            except StaleImage:
                continue
            if target == st.DELETED:
                _delete_data(imaged, image.locations)
            _forget_copies(imaged, image.id)
            return "", 204
        raise Conflict(f"Image {image_id} kept changing status; try the delete again.")

    @bp.post("/v2/images/<image_id>/actions/<action>")
    def image_action(image_id: str, action: str):
        ctx = context()
        if action not in ("deactivate", "reactivate"):
            raise NotFound(f"Unknown image action {action!r}: the actions are deactivate "
                           f"and reactivate.")
        image = visible_image(imaged, ctx, image_id)
        imaged.authorize(action, ctx, image)
        target = st.after_deactivate(image.status) if action == "deactivate" \
            else st.after_reactivate(image.status)
        if target != image.status:
            try:
                imaged.repo.set_status(image.id, [image.status], target,
                                       notices=[notice(f"image.{action}", image, ctx)])
            except StaleImage as stale:
                raise Conflict(f"Cannot {action} the image: its status changed to "
                               f"{stale.actual_status}.") from None
        return "", 204

    return bp


def check_protected_properties(imaged: Imaged, ctx: RequestContext, before: dict,
                               after: dict) -> None:
    """403 unless the caller's roles may make each change of extra
    properties: create a new key, update a changed one, delete a removed one
    (property protections; a property one may not read cannot be changed)."""
    roles = ctx.roles
    for key in after.keys() | before.keys():
        if key not in before:
            operations = ("create",)
        elif key not in after:
            operations = ("read", "delete")
        elif after[key] != before[key]:
            operations = ("read", "update")
        else:
            continue
        for operation in operations:
            if not imaged.protections.allows(operation, key, roles):
                raise Forbidden(f"Property '{key}' is protected: your roles may not "
                                f"{operation} it.")


def _json(any_type: bool = False) -> Any:
    body = request.get_json(silent=True, force=True)
    if body is None and request.get_data(cache=True):
        raise InvalidInput("The request body is not valid JSON.")
    if body is None:
        raise InvalidInput("Body expected in request.")
    if not any_type and not isinstance(body, dict):
        raise InvalidInput("The request body must be a JSON object.")
    return body


def _link(params: list[tuple[str, str]]) -> str:
    from urllib.parse import urlencode
    return "/v2/images" + (f"?{urlencode(params)}" if params else "")


def _authorize_visibility(imaged: Imaged, ctx: RequestContext, image: Image,
                          visibility: str) -> None:
    if visibility == "public":
        imaged.authorize("publicize_image", ctx, image)
    elif visibility == "community":
        imaged.authorize("communitize_image", ctx, image)


def _location_checker(imaged: Imaged):
    """Ask the store behind a URL whether it will serve it, and how big it is."""
    def check(raw) -> rules.CheckedLocation:
        if not isinstance(raw, dict) or not isinstance(raw.get("url"), str):
            raise InvalidInput("A location is an object with a 'url' string and a 'metadata' "
                               "object.")
        metadata = raw.get("metadata", {})
        if not isinstance(metadata, dict):
            raise InvalidInput("A location's metadata must be an object.")
        validation = raw.get("validation_data") or {}
        if not isinstance(validation, dict) or set(validation) - {"checksum", "os_hash_algo",
                                                                  "os_hash_value"}:
            raise InvalidInput("validation_data may hold checksum, os_hash_algo and "
                               "os_hash_value only.")
        try:
            store = imaged.stores.for_url(raw["url"])
            size = store.size_of(raw["url"])
        except (LocationRefused, StoreError) as exc:
            raise InvalidInput(f"Invalid location: {exc}") from None
        if imaged.stores.multi:  # the store that serves it, recorded as Glance does
            metadata = {**metadata, "store": store.store_id}
        return rules.CheckedLocation(Location(raw["url"], dict(metadata)), size, validation)
    return check


def _forget_copies(imaged: Imaged, image_id: str) -> None:
    """A deleted image's other copies go at once: data staged for an import
    that will never run, and its image cache copy (delayed delete keeps only
    the store's data, for the scrubber)."""
    from imaged.imports.flow import importer_of  # here: the import flow imports this module
    importer_of(imaged).staging.remove(image_id)
    cache = image_cache_of(imaged)
    if cache is not None:
        cache.entries.remove(image_id)
        cache.entries.index.dequeue(image_id)


def _delete_data(imaged: Imaged, locations: list[Location]) -> None:
    """Remove data no image points at any more (logged, never fatal: the
    record is already changed, and leftover data harms no one)."""
    for location in locations:
        try:
            imaged.stores.for_location(location).delete(location.url)
        except Exception:  # noqa: BLE001
            LOG.exception("could not delete image data at %s", location.url)
