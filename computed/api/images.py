"""Nova's 2.1 image proxy: /v2.1/images and their metadata, answered from
imaged with the caller's token (so imaged's policy and visibility rules
hold), in Nova's shapes (nova/api/openstack/compute/images.py,
image_metadata.py, views/images.py; the pure part is domain/images.py).

    GET    /images, /images/detail     name, status, changes-since, server,
                                       type, minRam, minDisk, property-*;
                                       limit/marker, images_links "next"
    GET    /images/{id}                404 "Image not found."
    DELETE /images/{id}                204; 403 "You are not allowed to delete
                                       the image."
    GET/POST/PUT /images/{id}/metadata             the properties; POST merges,
                                                   PUT replaces them all
    GET/PUT/DELETE /images/{id}/metadata/{key}     one property
More properties than [quota] metadata_items is 403 "Image metadata limit
exceeded", as Nova's check_img_metadata_properties_quota. Nova checks no
policy of its own here: imaged decides.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
from urllib.parse import urlencode

from flask import Blueprint, Response, jsonify, request

from computed.api import schemas
from computed.api.common import API_PREFIX, base_url, runtime
from computed.api.microversion import COMPUTE, NO_PROXIES
from computed.domain import images as nova_images
from shared.api import context, json_body
from shared.clients import Caller, RemoteError
from shared.errors import ApiError, BadRequest, Conflict, Forbidden, NotFound
from shared.openapi import describe
from shared.strutils import NotABoolean, bool_from_string

bp = Blueprint("images", __name__, url_prefix=API_PREFIX)


@bp.before_request
def _proxy_removed_at_2_36():
    """Nova's proxy APIs answer 404 from microversion 2.36 on."""
    COMPUTE.below(NO_PROXIES)


MAX_LIMIT = 1000  # Nova's [api] max_limit
KEY = re.compile(r"^[a-zA-Z0-9-_:. ]{1,255}$")  # Nova's image metadata schema
JSON_PROPERTIES = ("block_device_mapping", "mappings")  # Nova decodes these
UNTOUCHABLE = ("stores",)  # imaged's own: never removed by a metadata update
NOT_FOUND = "Image not found."


# --- images ------------------------------------------------------------------------------
@bp.get("/images")
def list_images():
    return jsonify(_listing(detail=False))


@bp.get("/images/detail")
def list_images_detail():
    return jsonify(_listing(detail=True))


@bp.get("/images/<image_id>")
def show_image(image_id: str):
    return jsonify({"image": _detail(_get(image_id))})


@bp.delete("/images/<image_id>")
def delete_image(image_id: str):
    try:
        runtime().deps.images.delete(_caller(), image_id, missing_ok=False)
    except RemoteError as exc:
        if exc.status == 404:
            raise NotFound(NOT_FOUND) from None
        if exc.status in (401, 403):
            raise Forbidden("You are not allowed to delete the image.") from None
        raise _unexpected(exc) from None
    return Response(status=204)


# --- metadata ----------------------------------------------------------------------------
@bp.get("/images/<image_id>/metadata")
def list_metadata(image_id: str):
    return jsonify({"metadata": _metadata(_get(image_id))})


@bp.post("/images/<image_id>/metadata")
@describe(request=schemas.IMAGE_METADATA)
def merge_metadata(image_id: str):
    wanted = _checked_metadata(json_body(), "metadata")
    schemas.checked_nova({"metadata": wanted}, schemas.IMAGE_METADATA)
    image = _get(image_id)
    merged = {**_metadata(image), **wanted}
    return jsonify({"metadata": _metadata(_update(image, merged))})


@bp.put("/images/<image_id>/metadata")
@describe(request=schemas.IMAGE_METADATA)
def replace_metadata(image_id: str):
    wanted = _checked_metadata(json_body(), "metadata")
    schemas.checked_nova({"metadata": wanted}, schemas.IMAGE_METADATA)
    image = _get(image_id)
    _update(image, wanted)
    return jsonify({"metadata": wanted})


@bp.get("/images/<image_id>/metadata/<key>")
def show_metadata_item(image_id: str, key: str):
    metadata = _metadata(_get(image_id))
    if key not in metadata:
        raise NotFound("The resource could not be found.")
    return jsonify({"meta": {key: metadata[key]}})


@bp.put("/images/<image_id>/metadata/<key>")
@describe(request=schemas.IMAGE_META)
def set_metadata_item(image_id: str, key: str):
    meta = _checked_metadata(json_body(), "meta")
    if len(meta) != 1:
        raise BadRequest(f"Invalid input for field/attribute meta. Value: {meta}. "
                         f"It must have exactly one property.")
    if key not in meta:
        raise BadRequest("Request body and URI mismatch")
    schemas.checked_nova({"meta": meta}, schemas.IMAGE_META)
    image = _get(image_id)
    _update(image, {**_metadata(image), **meta})
    return jsonify({"meta": meta})


@bp.delete("/images/<image_id>/metadata/<key>")
def delete_metadata_item(image_id: str, key: str):
    image = _get(image_id)
    metadata = _metadata(image)
    if key not in metadata:
        raise NotFound("Invalid metadata key")
    del metadata[key]
    _update(image, metadata)
    return Response(status=204)


# --- helpers -----------------------------------------------------------------------------
def _caller() -> Caller:
    return runtime().deps.caller(context())


def _get(image_id: str) -> dict:
    try:
        image = runtime().deps.images.show(_caller(), image_id)
    except RemoteError as exc:
        if exc.status in (401, 403):
            raise Forbidden(f"Not authorized for image {image_id}.") from None
        raise _unexpected(exc) from None
    if image is None:
        raise NotFound(NOT_FOUND)
    return image


def _update(image: dict, wanted: dict) -> dict:
    """Make the image's properties exactly `wanted` (Nova's update with
    purge_props), after the metadata quota."""
    if len(wanted) > runtime().deps.settings.max_metadata_items:
        raise Forbidden("Image metadata limit exceeded")
    current = nova_images.properties(image)
    changes = nova_images.properties_patch(
        current, {key: _as_text(value) for key, value in wanted.items()},
        untouchable=[key for key in current
                     if key in UNTOUCHABLE or key.startswith("os_glance")])
    # Even with nothing to change, Glance is asked (an empty patch): Nova
    # always sends the update, so whether the caller may change the image is
    # Glance's policy to say (a reader's no-op is refused too).
    try:
        return runtime().deps.images.patch(_caller(), image["id"], changes)
    except RemoteError as exc:
        if exc.status == 404:
            raise NotFound(NOT_FOUND) from None
        if exc.status in (401, 403):
            raise Forbidden(f"Not authorized for image {image['id']}.") from None
        if exc.status in (400, 409, 413):
            raise ApiError(exc.message, exc.status) from None
        raise _unexpected(exc) from None


def _checked_metadata(body, name: str) -> dict[str, str]:
    """Nova's schema: {name: {key: value}}, keys of 1-255 of
    [a-zA-Z0-9-_:. ], values strings of at most 255 characters."""
    if not isinstance(body, dict) or name not in body:
        raise BadRequest(f"Invalid input for field/attribute {name}. Value: None. "
                         f"'{name}' is a required property")
    metadata = body[name]
    if not isinstance(metadata, dict):
        raise BadRequest(f"Invalid input for field/attribute {name}. Value: {metadata}. "
                         f"{metadata!r} is not of type 'object'")
    for key, value in metadata.items():
        if not KEY.match(key):
            raise BadRequest(f"Invalid input for field/attribute {name}. Value: {metadata}. "
                             f"Additional properties are not allowed ('{key}' was "
                             f"unexpected)")
        if not isinstance(value, str) or len(value) > 255:
            raise BadRequest(f"Invalid input for field/attribute {key}. Value: {value}. "
                             f"{value!r} is not of type 'string' or is longer than 255")
    return dict(metadata)


def _as_text(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _metadata(image: dict) -> dict:
    """The properties, with Nova's JSON-encoded ones decoded."""
    metadata = nova_images.properties(image)
    for key in JSON_PROPERTIES:
        if isinstance(metadata.get(key), str):
            with contextlib.suppress(ValueError):  # left as it is, as Nova would fail
                metadata[key] = json.loads(metadata[key])
    return metadata


def _listing(detail: bool) -> dict:
    """imaged's pages until the limit asked for (all of them without one),
    in Nova's shape, with a next link when the page is full."""
    limit = _int_param("limit")
    query, columns = nova_images.glance_filters(request.args.items(multi=True))
    if "changes-since" in request.args:
        _check_time("changes-since", request.args["changes-since"])
    if limit:
        query.append(("limit", str(min(limit, MAX_LIMIT))))
    if request.args.get("marker"):
        query.append(("marker", request.args["marker"]))
    deps, caller = runtime().deps, _caller()
    found: list[dict] = []
    try:
        page, link = deps.images.list_page(caller, query)
        while True:
            found += [i for i in page if nova_images.matches_columns(i, columns)]
            if not link or (limit and len(found) >= limit):
                break
            page, link = deps.images.next_page(caller, link)
    except RemoteError as exc:
        if exc.status == 400:
            raise BadRequest(exc.message) from None
        raise _unexpected(exc) from None
    if limit:
        found = found[:limit]
    body: dict = {"images": [_detail(i) if detail else _summary(i) for i in found]}
    page_size = min(limit or MAX_LIMIT, MAX_LIMIT)
    if found and len(found) == page_size:
        params = dict(sorted(request.args.items()))
        params["marker"] = found[-1]["id"]
        collection = "images/detail" if detail else "images"
        body["images_links"] = [{"rel": "next", "href": f"{base_url()}{API_PREFIX}/"
                                 f"{collection}?{urlencode(params)}"}]
    return body


def _int_param(name: str) -> int | None:
    text = request.args.get(name)
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        raise BadRequest(f"{name} must be an integer") from None
    if value < 0:
        raise BadRequest(f"{name} must be >= 0")
    return value


def _check_time(name: str, text: str) -> None:
    try:
        dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"Invalid input for query parameters {name}. Value: {text}. "
                         f"'{text}' is not a 'date-time'") from None


def _links(image_id: str) -> list[dict]:
    image_url = runtime().deps.settings.image_public_url.rstrip("/")
    return [{"rel": "self", "href": f"{base_url()}{API_PREFIX}/images/{image_id}"},
            {"rel": "bookmark", "href": f"{base_url()}/images/{image_id}"},
            {"rel": "alternate", "type": "application/vnd.openstack.image",
             "href": f"{image_url}/images/{image_id}"}]


def _summary(image: dict) -> dict:
    return {"id": image.get("id"), "name": image.get("name"), "links": _links(image["id"])}


def _time(value) -> str | None:
    if not value:
        return None
    moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _detail(image: dict) -> dict:
    """views/images.py show()."""
    metadata = _metadata(image)
    size = image.get("size")
    body = {
        "id": image.get("id"), "name": image.get("name"),
        "minRam": int(image.get("min_ram") or 0), "minDisk": int(image.get("min_disk") or 0),
        "metadata": metadata, "created": _time(image.get("created_at")),
        "updated": _time(image.get("updated_at")), "status": nova_images.status(image),
        "progress": nova_images.progress(image),
        "OS-EXT-IMG-SIZE:size": 0 if size is None else size,
        "links": _links(image["id"]),
    }
    server = metadata.get("instance_uuid")
    if server is not None:
        body["server"] = {"id": server, "links": [
            {"rel": "self", "href": f"{base_url()}{API_PREFIX}/servers/{server}"},
            {"rel": "bookmark", "href": f"{base_url()}/servers/{server}"}]}
    auto_disk_config = metadata.get("auto_disk_config")
    if auto_disk_config is not None:
        try:
            body["OS-DCF:diskConfig"] = "AUTO" if bool_from_string(auto_disk_config) \
                else "MANUAL"
        except NotABoolean:
            body["OS-DCF:diskConfig"] = "MANUAL"
    return body


def _unexpected(exc: RemoteError) -> ApiError:
    if exc.status == 409:
        return Conflict(exc.message)
    return ApiError(f"The image service failed: {exc.message}", 503)
