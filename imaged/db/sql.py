"""ImageRepository on SQLAlchemy: SQLite by default, PostgreSQL (or any
SQLAlchemy URL) when imaged-api.conf says so.

Short transactions only: a request reads in one transaction and writes in
another, and no transaction is ever open while image data moves, which is
what lets 32 uploads share one SQLite file. Reads of several images load
their properties, tags and locations together in one more query (never one
query per image), so a page of 25 images costs two queries.

Statements are SQLAlchemy Core over the plain tables (ImageRow.__table__),
built once where they can be: an ORM statement, or one built per request,
costs far more Python time than SQLite needs to run it.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import typing
from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy import (
    BindParameter,
    Table,
    Text,
    bindparam,
    cast,
    delete,
    func,
    insert,
    literal_column,
    null,
    select,
    union_all,
    update,
)
from sqlalchemy.engine import Connection, CursorResult, Result
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from imaged.db.list_query import ListStatements
from imaged.db.models import ImageRow, LocationRow, MemberRow, PropertyRow, TagRow
from imaged.db.repository import (
    DuplicateImage,
    DuplicateMember,
    ImageRepository,
    Notice,
    StaleImage,
    Usage,
)
from imaged.domain import status as st
from imaged.domain.image import Image, Location, Member, utcnow
from imaged.domain.listing import ImageQuery
from shared.db import core_transaction, transaction
from shared.events import Notifier

IMAGES = typing.cast(Table, ImageRow.__table__)  # a declarative class's table is a Table
PROPERTIES = typing.cast(Table, PropertyRow.__table__)
TAGS, LOCATIONS = typing.cast(Table, TagRow.__table__), typing.cast(Table, LocationRow.__table__)
# Image's attributes kept as columns of images, besides id.
# In the order of Image's fields, which all come before the details
# (properties, tags, locations): so a row is Image's positional arguments.
COLUMNS = tuple(f.name for f in dataclasses.fields(Image) if f.name in IMAGES.c and f.name != "id")
ROW_NAMES = ("id", *COLUMNS)  # the names of a row of IMAGE_COLUMNS
assert tuple(f.name for f in dataclasses.fields(Image))[:len(ROW_NAMES)] == ROW_NAMES

# Statements built once (SQLAlchemy then reuses their compiled form).
IMAGE_COLUMNS = [IMAGES.c.id, *[IMAGES.c[name] for name in COLUMNS]]
IMAGE_BY_ID = select(*IMAGE_COLUMNS).where(IMAGES.c.id == bindparam("image_id"))
INSERT_IMAGE, INSERT_PROPERTIES = insert(IMAGES), insert(PROPERTIES)
INSERT_TAGS, INSERT_LOCATIONS = insert(TAGS), insert(LOCATIONS)
# The properties, tags and locations of some images, in one query: rows of
# one shape (image id, kind, position, name or url, value or metadata JSON).
PROPERTY, TAG, LOCATION = 0, 1, 2
_IDS: BindParameter = bindparam("ids", expanding=True)
DETAILS_OF = union_all(
    select(PROPERTIES.c.image_id, literal_column(str(PROPERTY)).label("kind"),
           literal_column("0").label("position"), PROPERTIES.c.name, PROPERTIES.c.value)
    .where(PROPERTIES.c.image_id.in_(_IDS)),
    select(TAGS.c.image_id, literal_column(str(TAG)), TAGS.c.position, null(), TAGS.c.value)
    .where(TAGS.c.image_id.in_(_IDS)),
    select(LOCATIONS.c.image_id, literal_column(str(LOCATION)), LOCATIONS.c.position,
           LOCATIONS.c.url, cast(LOCATIONS.c["metadata"], Text))
    .where(LOCATIONS.c.image_id.in_(_IDS)))


Executor = Session | Connection  # what a transaction hands out (ORM or Core)


def _by_position(items: list[tuple[int, object]] | None) -> list:
    if not items:
        return []
    return [item for _position, item in sorted(items, key=lambda pair: pair[0])]


class SqlImageRepository(ImageRepository):
    def __init__(self, sessions: sessionmaker, notifier: Notifier):
        self._sessions = sessions
        self._notifier = notifier
        self._list_statements = ListStatements(IMAGE_COLUMNS)

    # -- helpers ---------------------------------------------------------------
    def _notify(self, session: Executor, notices: Iterable[Notice]) -> None:
        for notice in notices:
            self._notifier.notify(notice.context, notice.event_type, resource_type="image",
                                  resource_id=notice.image_id, project_id=notice.project_id,
                                  payload=notice.payload,
                                  session=session)  # type: ignore[arg-type]  # a Connection executes it too

    @staticmethod
    def _to_images(session: Executor, rows: Sequence) -> list[Image]:
        """Rows (IMAGE_COLUMNS) to domain images, with their details in one
        more query, whatever the number of images."""
        properties: dict[str, dict] = defaultdict(dict)
        tags: dict[str, list] = defaultdict(list)
        locations: dict[str, list] = defaultdict(list)
        if rows:
            details = session.execute(DETAILS_OF, {"ids": [row[0] for row in rows]})
            for image_id, kind, position, name, value in details:
                if kind == PROPERTY:
                    properties[image_id][name] = value
                elif kind == TAG:
                    tags[image_id].append((position, value))
                else:
                    metadata = json.loads(value) if value else None
                    locations[image_id].append((position, Location(name, dict(metadata or {}))))
        # A row holds the attributes before these three (ROW_NAMES), which mypy cannot see.
        return [Image(*row, properties=properties.get(row[0]) or {},  # type: ignore[misc]
                      tags=_by_position(tags.get(row[0])),
                      locations=_by_position(locations.get(row[0]))) for row in rows]

    def _get(self, session: Executor, image_id: str) -> Image | None:
        rows = session.execute(IMAGE_BY_ID, {"image_id": image_id}).all()
        return self._to_images(session, rows)[0] if rows else None

    @staticmethod
    def _write_details(session: Executor, image: Image) -> None:
        if image.properties:
            session.execute(INSERT_PROPERTIES, [
                {"image_id": image.id, "name": key, "value": value}
                for key, value in image.properties.items()])
        if image.tags:
            session.execute(INSERT_TAGS, [
                {"image_id": image.id, "value": tag, "position": index}
                for index, tag in enumerate(image.tags)])
        SqlImageRepository._write_locations(session, image.id, image.locations)

    @staticmethod
    def _write_locations(session: Executor, image_id: str, locations: list[Location]) -> None:
        if locations:
            session.execute(INSERT_LOCATIONS, [
                {"image_id": image_id, "position": index, "url": loc.url,
                 "metadata": dict(loc.metadata)} for index, loc in enumerate(locations)])

    # -- images ----------------------------------------------------------------
    def create(self, image: Image, notices: Sequence[Notice] = ()) -> Image:
        try:
            with core_transaction(self._sessions) as session:
                session.execute(INSERT_IMAGE, {"id": image.id, **{
                    name: getattr(image, name) for name in COLUMNS}})
                self._write_details(session, image)
                self._notify(session, notices)
        except IntegrityError:
            raise DuplicateImage(image.id) from None
        return image

    def get(self, image_id: str) -> Image | None:
        with core_transaction(self._sessions, write=False) as session:
            return self._get(session, image_id)

    def save(self, image: Image, expected_status: str | None = None,
             notices: Sequence[Notice] = ()) -> Image:
        image.updated_at = utcnow()
        with transaction(self._sessions) as session:
            statement = update(ImageRow).where(ImageRow.id == image.id)
            if expected_status is not None:
                statement = statement.where(ImageRow.status == expected_status)
            result = session.execute(statement.values(
                **{name: getattr(image, name) for name in COLUMNS if name != "created_at"}))
            if changed_rows(result) != 1:
                raise StaleImage(image.id, self._status_of(session, image.id))
            for table in (PropertyRow, TagRow, LocationRow):
                session.execute(delete(table).where(table.image_id == image.id))
            self._write_details(session, image)
            self._notify(session, notices)
        return image

    @staticmethod
    def _status_of(session: Session, image_id: str) -> str | None:
        return session.scalar(select(ImageRow.status).where(ImageRow.id == image_id))

    def set_status(self, image_id: str, expected: Sequence[str], status: str,
                   values: dict | None = None, notices: Sequence[Notice] = ()) -> Image:
        values = dict(values or {})
        locations = values.pop("locations", None)
        with transaction(self._sessions) as session:
            result = session.execute(
                update(ImageRow).where(ImageRow.id == image_id,
                                       ImageRow.status.in_(list(expected)))
                .values(status=status, updated_at=utcnow(), **values))
            if changed_rows(result) != 1:
                raise StaleImage(image_id, self._status_of(session, image_id))
            if locations is not None:
                session.execute(delete(LocationRow).where(LocationRow.image_id == image_id))
                self._write_locations(session, image_id, locations)
            self._notify(session, notices)
            return typing.cast(Image, self._get(session, image_id))  # it was just updated

    def usage(self, owner: str) -> Usage:
        with transaction(self._sessions, write=False) as session:
            count, stored = session.execute(
                select(func.count(ImageRow.id), func.coalesce(func.sum(ImageRow.size), 0))
                .where(ImageRow.owner == owner, ImageRow.status.not_in(list(st.GONE)))).one()
        return Usage(images=int(count or 0), stored_bytes=int(stored or 0))

    def ids_in_status(self, owner: str | None, statuses: Sequence[str]) -> list[str]:
        query = select(ImageRow.id).where(ImageRow.status.in_(list(statuses)))
        if owner is not None:
            query = query.where(ImageRow.owner == owner)
        with transaction(self._sessions, write=False) as session:
            return list(session.scalars(query))

    def pending_delete_before(self, cutoff: dt.datetime, limit: int) -> list[Image]:
        with transaction(self._sessions, write=False) as session:
            rows = session.execute(select(*IMAGE_COLUMNS).where(
                ImageRow.status == st.PENDING_DELETE, ImageRow.deleted_at <= cutoff)
                .order_by(ImageRow.deleted_at).limit(limit)).all()
            return self._to_images(session, rows)

    # -- the list query --------------------------------------------------------
    def list_images(self, query: ImageQuery, marker: Image | None = None) -> list[Image]:
        """One page (the statement and its rules: list_query.py)."""
        statement, values = self._list_statements.for_query(query, marker)
        with core_transaction(self._sessions, write=False) as session:
            return self._to_images(session, session.execute(statement, values).all())

    # -- tags ------------------------------------------------------------------
    def add_tag(self, image_id: str, tag: str, notices: Sequence[Notice] = ()) -> None:
        with transaction(self._sessions) as session:
            if session.get(TagRow, (image_id, tag)) is None:
                last = session.scalar(select(func.coalesce(func.max(TagRow.position), -1))
                                      .where(TagRow.image_id == image_id))
                position = typing.cast(int, last) + 1
                session.add(TagRow(image_id=image_id, value=tag, position=position))
            session.execute(update(ImageRow).where(ImageRow.id == image_id)
                            .values(updated_at=utcnow()))
            self._notify(session, notices)

    def delete_tag(self, image_id: str, tag: str, notices: Sequence[Notice] = ()) -> bool:
        with transaction(self._sessions) as session:
            result = session.execute(delete(TagRow).where(TagRow.image_id == image_id,
                                                          TagRow.value == tag))
            if changed_rows(result):
                session.execute(update(ImageRow).where(ImageRow.id == image_id)
                                .values(updated_at=utcnow()))
                self._notify(session, notices)
            return bool(changed_rows(result))

    # -- members ---------------------------------------------------------------
    @staticmethod
    def _member(row: MemberRow) -> Member:
        return Member(image_id=row.image_id, member_id=row.member, status=row.status,
                      created_at=row.created_at, updated_at=row.updated_at)

    def add_member(self, member: Member, notices: Sequence[Notice] = ()) -> Member:
        try:
            with transaction(self._sessions) as session:
                session.add(MemberRow(image_id=member.image_id, member=member.member_id,
                                      status=member.status, created_at=member.created_at,
                                      updated_at=member.updated_at))
                session.flush()
                self._notify(session, notices)
        except IntegrityError:
            raise DuplicateMember(member.member_id) from None
        return member

    def _member_row(self, session: Session, image_id: str, member_id: str) -> MemberRow | None:
        return session.scalars(select(MemberRow).where(MemberRow.image_id == image_id,
                                                       MemberRow.member == member_id)).first()

    def get_member(self, image_id: str, member_id: str) -> Member | None:
        with transaction(self._sessions, write=False) as session:
            row = self._member_row(session, image_id, member_id)
            return self._member(row) if row is not None else None

    def list_members(self, image_id: str) -> list[Member]:
        with transaction(self._sessions, write=False) as session:
            rows = session.scalars(select(MemberRow).where(MemberRow.image_id == image_id)
                                   .order_by(MemberRow.created_at, MemberRow.id))
            return [self._member(row) for row in rows]

    def update_member(self, member: Member, notices: Sequence[Notice] = ()) -> Member:
        member.updated_at = utcnow()
        with transaction(self._sessions) as session:
            session.execute(update(MemberRow).where(MemberRow.image_id == member.image_id,
                                                    MemberRow.member == member.member_id)
                            .values(status=member.status, updated_at=member.updated_at))
            self._notify(session, notices)
        return member

    def delete_member(self, image_id: str, member_id: str,
                      notices: Sequence[Notice] = ()) -> bool:
        with transaction(self._sessions) as session:
            result = session.execute(delete(MemberRow).where(MemberRow.image_id == image_id,
                                                             MemberRow.member == member_id))
            if changed_rows(result):
                self._notify(session, notices)
            return bool(changed_rows(result))

    def record(self, notices: Sequence[Notice]) -> None:
        with transaction(self._sessions) as session:
            self._notify(session, notices)


def changed_rows(result: Result) -> int:
    """The rows an UPDATE or DELETE changed (its result is a CursorResult)."""
    return typing.cast(CursorResult, result).rowcount
