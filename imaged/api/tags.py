"""/v2/images/{id}/tags/{tag}: add (PUT) and remove (DELETE) one tag."""
from __future__ import annotations

from flask import Blueprint

from imaged import images
from imaged.api import runtime
from shared.api import context

bp = Blueprint("image_tags", __name__)


@bp.put("/v2/images/<image_id>/tags/<tag>")
def add_tag(image_id: str, tag: str):
    images.add_tag(runtime(), context(), image_id, tag)
    return "", 204


@bp.delete("/v2/images/<image_id>/tags/<tag>")
def delete_tag(image_id: str, tag: str):
    images.delete_tag(runtime(), context(), image_id, tag)
    return "", 204
