"""/v2/images/{id}/tags/{tag}: add (PUT) and remove (DELETE) one tag."""
from __future__ import annotations

from flask import Blueprint

from imaged.api.images import notice
from imaged.api.lookup import visible_image
from imaged.domain import rules
from imaged.domain.errors import QuotaExceeded
from imaged.runtime import Imaged
from shared.api import context
from shared.errors import NotFound


def tags_blueprint(imaged: Imaged) -> Blueprint:
    bp = Blueprint("image_tags", __name__)

    @bp.put("/v2/images/<image_id>/tags/<tag>")
    def add_tag(image_id: str, tag: str):
        ctx = context()
        image = visible_image(imaged, ctx, image_id)
        imaged.authorize("modify_image", ctx, image)
        rules.check_tag(tag)
        if tag not in image.tags:
            limit = imaged.limits.tags
            if 0 <= limit < len(image.tags) + 1:
                raise QuotaExceeded(f"An image may have at most {limit} tags "
                                    f"(image_tag_quota).")
            image.tags.append(tag)
            imaged.repo.add_tag(image.id, tag, [notice("image.update", image, ctx,
                                                       changed=["tags"])])
        return "", 204

    @bp.delete("/v2/images/<image_id>/tags/<tag>")
    def delete_tag(image_id: str, tag: str):
        ctx = context()
        image = visible_image(imaged, ctx, image_id)
        imaged.authorize("modify_image", ctx, image)
        image.tags = [existing for existing in image.tags if existing != tag]
        if not imaged.repo.delete_tag(image.id, tag, [notice("image.update", image, ctx,
                                                             changed=["tags"])]):
            raise NotFound(f"Image {image_id} has no tag {tag}.")
        return "", 204

    return bp
