"""/v2/images and /v2/images/{id}: create, list, show, update (JSON patch),
delete, and the deactivate/reactivate actions. What each call does is in
imaged/images.py; here the request is read and the image rendered."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, jsonify, request

from imaged import images
from imaged.api import runtime, schemas
from imaged.api.render import image_view
from imaged.domain.errors import InvalidInput
from imaged.domain.image import Image
from imaged.domain.patch import dialect_of, parse_changes
from imaged.runtime import Imaged
from shared.api import context
from shared.context import RequestContext
from shared.openapi import describe

bp = Blueprint("images", __name__)


@bp.post("/v2/images")
@describe(request=schemas.of("image"), response=schemas.of("image"), status="201")
def create_image():
    imaged, ctx = runtime(), context()
    image = images.create_image(imaged, ctx, json_object())
    response = jsonify(view(imaged, image, ctx))
    response.status_code = 201
    # An absolute URL, as Glance's (webob's) Location.
    response.headers["Location"] = f"{request.host_url.rstrip('/')}/v2/images/{image.id}"
    return response


@bp.get("/v2/images")
@describe(response=schemas.of("images"))
def list_images():
    imaged, ctx = runtime(), context()
    page = images.list_images(imaged, ctx, list(request.args.items(multi=True)))
    links = [(k, v) for k, v in request.args.items(multi=True) if k != "marker"]
    body = {"images": [view(imaged, image, ctx) for image in page.images],
            "first": _link(links), "schema": "/v2/schemas/images"}
    if page.limit and len(page.images) == page.limit:
        body["next"] = _link(links + [("marker", page.images[-1].id)])
    return jsonify(body)


@bp.get("/v2/images/<image_id>")
@describe(response=schemas.of("image"))
def show_image(image_id: str):
    imaged, ctx = runtime(), context()
    return jsonify(view(imaged, images.show_image(imaged, ctx, image_id), ctx))


@bp.patch("/v2/images/<image_id>")
@describe(request_media="application/openstack-images-v2.1-json-patch",
          request={"type": "array", "items": {"type": "object"}},
          response=schemas.of("image"))
def update_image(image_id: str):
    imaged, ctx = runtime(), context()
    changes = parse_changes(json_object(any_type=True), dialect_of(request.content_type))
    return jsonify(view(imaged, images.update_image(imaged, ctx, image_id, changes), ctx))


@bp.delete("/v2/images/<image_id>")
def delete_image(image_id: str):
    images.delete_image(runtime(), context(), image_id)
    return "", 204


@bp.post("/v2/images/<image_id>/actions/<action>")
def image_action(image_id: str, action: str):
    images.image_action(runtime(), context(), image_id, action)
    return "", 204


def view(imaged: Imaged, image: Image, ctx: RequestContext) -> dict:
    """The image as this caller may see it: extra properties its roles
    may not read (property protections) are left out."""
    readable = imaged.protections.readable(image.properties, ctx.roles)
    return image_view(image, imaged.conf, ctx, properties=readable)


def json_object(any_type: bool = False) -> Any:
    """The request's JSON body (a JSON object unless any_type), or 400."""
    body = request.get_json(silent=True, force=True)
    if body is None and request.get_data(cache=True):
        raise InvalidInput("The request body is not valid JSON.")
    if body is None:
        raise InvalidInput("Body expected in request.")
    if not any_type and not isinstance(body, dict):
        raise InvalidInput("The request body must be a JSON object.")
    return body


def _link(params: list[tuple[str, str]]) -> str:
    return "/v2/images" + (f"?{urlencode(params)}" if params else "")
