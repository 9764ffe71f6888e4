"""Finding the image a request names, as the caller may see it."""
from __future__ import annotations

from imaged.domain.errors import ImageNotFound
from imaged.domain.image import Image
from imaged.domain.rules import can_see
from imaged.runtime import Imaged, caller_of
from shared.context import RequestContext


def visible_image(imaged: Imaged, context: RequestContext, image_id: str) -> Image:
    """The image, or 404 when it does not exist or the caller may not see it
    (the same answer for both, so no project learns about another's images)."""
    image = imaged.repo.get(image_id) if len(image_id) <= 36 else None
    if image is None:
        raise ImageNotFound(image_id)
    caller = caller_of(context)
    membership = None
    if image.visibility == "shared" and image.owner != caller.project_id and not caller.is_admin:
        membership = imaged.repo.get_member(image.id, caller.project_id or "")
    if not can_see(image, caller, membership):
        raise ImageNotFound(image_id)
    return image
