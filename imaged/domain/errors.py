"""The ways a request can break imaged's rules, each with Glance's status code.

They are the shared HTTP errors under domain names, so the API layer needs no
translation table: raising ImageNotFound anywhere answers 404 in Glance's
error format."""
from __future__ import annotations

from shared.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    RequestEntityTooLarge,
    UnsupportedMediaType,
)


class InvalidInput(BadRequest):
    """400: the request names a value imaged cannot accept."""


class NotAllowed(Forbidden):
    """403: the rule forbids it (read-only attribute, protected image...)."""


class ImageNotFound(NotFound):
    """404: no such image, or one the caller may not see (never 403: a
    project must not learn that another project's private image exists)."""

    def __init__(self, image_id: str):
        super().__init__(f"No image found with ID {image_id}")


class MemberNotFound(NotFound):
    def __init__(self, image_id: str, member_id: str):
        super().__init__(f"{member_id} is not a member of image {image_id}")


class IllegalTransition(Conflict):
    """409: the image's status does not allow this; the message names it."""


class QuotaExceeded(RequestEntityTooLarge):
    """413: over a project quota or the image size cap."""


class WrongMediaType(UnsupportedMediaType):
    """415."""


__all__ = ["InvalidInput", "NotAllowed", "ImageNotFound", "MemberNotFound",
           "IllegalTransition", "QuotaExceeded", "WrongMediaType", "Conflict"]
