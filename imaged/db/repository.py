"""ImageRepository: the one door to image metadata.

Everything imaged knows about images goes through these methods; nothing
else in imaged writes SQL. Each method is one short transaction of its own
and takes and returns plain domain objects (imaged.domain.image), never a
database session or a row. That is what lets the metadata live elsewhere:
the SQLAlchemy implementation (sql.py) talks to SQLite or PostgreSQL, and a
registry client (Glance's old registry layer) can implement the same methods
over HTTP without the rest of imaged noticing.

Changes carry their events (Notice): the implementation records them in the
same transaction as the change, so the event log never claims a change that
did not happen, nor misses one that did.
"""
from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from imaged.domain.image import Image, Member
from imaged.domain.listing import ImageQuery


@dataclass(frozen=True)
class Notice:
    """An event to record with a change (image.create, image.upload...)."""
    event_type: str
    image_id: str
    payload: dict = field(default_factory=dict)
    context: Any = None          # the RequestContext (user, project, request id), if any
    project_id: str | None = None


class StaleImage(Exception):
    """A compare-and-set found the image no longer in the expected status."""

    def __init__(self, image_id: str, actual_status: str | None):
        self.image_id, self.actual_status = image_id, actual_status
        super().__init__(f"image {image_id} is {actual_status or 'gone'}")


class DuplicateImage(Exception):
    pass


class DuplicateMember(Exception):
    pass


@dataclass(frozen=True)
class Usage:
    images: int
    stored_bytes: int


class ImageRepository(abc.ABC):
    # -- images ----------------------------------------------------------
    @abc.abstractmethod
    def create(self, image: Image, notices: Sequence[Notice] = ()) -> Image:
        """Insert a new image (raise DuplicateImage if the id exists)."""

    @abc.abstractmethod
    def get(self, image_id: str) -> Image | None:
        """The image whatever its status (deleted ones too), or None."""

    @abc.abstractmethod
    def list_images(self, query: ImageQuery, marker: Image | None = None) -> list[Image]:
        """One page of the images the query's caller may see, in order."""

    @abc.abstractmethod
    def save(self, image: Image, expected_status: str | None = None,
             notices: Sequence[Notice] = ()) -> Image:
        """Write every attribute, property, tag and location of the image.
        With expected_status, only if the stored status still is that
        (else StaleImage): how status changes stay safe without locks."""

    @abc.abstractmethod
    def set_status(self, image_id: str, expected: Sequence[str], status: str,
                   values: dict | None = None, notices: Sequence[Notice] = ()) -> Image:
        """Compare-and-set the status (and other columns given in values) in
        one statement; StaleImage if the image's status is not in expected."""

    @abc.abstractmethod
    def usage(self, owner: str) -> Usage:
        """How many images the project has and how many bytes they store."""

    @abc.abstractmethod
    def ids_in_status(self, owner: str | None, statuses: Sequence[str]) -> list[str]:
        """The ids of the project's images (owner None: every project's)
        whose status is one of these (quota usage: images being uploaded,
        data waiting in staging; at start: work a stopped imaged-api left)."""

    @abc.abstractmethod
    def pending_delete_before(self, cutoff: dt.datetime, limit: int) -> list[Image]:
        """Images in pending_delete since before cutoff (for the scrubber)."""

    # -- tags ----------------------------------------------------------------
    @abc.abstractmethod
    def add_tag(self, image_id: str, tag: str, notices: Sequence[Notice] = ()) -> None: ...

    @abc.abstractmethod
    def delete_tag(self, image_id: str, tag: str, notices: Sequence[Notice] = ()) -> bool:
        """False when the image had no such tag."""

    # -- members ---------------------------------------------------------------
    @abc.abstractmethod
    def add_member(self, member: Member, notices: Sequence[Notice] = ()) -> Member:
        """Raise DuplicateMember when the project already is a member."""

    @abc.abstractmethod
    def get_member(self, image_id: str, member_id: str) -> Member | None: ...

    @abc.abstractmethod
    def list_members(self, image_id: str) -> list[Member]: ...

    @abc.abstractmethod
    def update_member(self, member: Member, notices: Sequence[Notice] = ()) -> Member: ...

    @abc.abstractmethod
    def delete_member(self, image_id: str, member_id: str,
                      notices: Sequence[Notice] = ()) -> bool: ...

    # -- events ----------------------------------------------------------------
    @abc.abstractmethod
    def record(self, notices: Sequence[Notice]) -> None:
        """Record events that go with no change of the metadata."""
