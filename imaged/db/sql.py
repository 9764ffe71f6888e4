"""ImageRepository on SQLAlchemy: SQLite by default, PostgreSQL (or any
SQLAlchemy URL) when imaged-api.conf says so.

Short transactions only: a request reads in one transaction and writes in
another, and no transaction is ever open while image data moves, which is
what lets 32 uploads share one SQLite file. Reads of several images load
their properties, tags and locations with one query each (never one query
per image), so a page of 25 images costs four queries.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Iterable, Sequence

from sqlalchemy import (and_, bindparam, delete, exists, func, insert, or_, select, union,
                        update)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from imaged.db.models import ImageRow, LocationRow, MemberRow, PropertyRow, TagRow
from imaged.db.repository import (DuplicateImage, DuplicateMember, ImageRepository, Notice,
                                  StaleImage, Usage)
from imaged.domain import status as st
from imaged.domain.image import Image, Location, Member, utcnow
from imaged.domain.listing import Filter, ImageQuery
from shared.db import transaction
from shared.events import Notifier

COLUMNS = ("name", "owner", "status", "visibility", "protected", "os_hidden", "disk_format",
           "container_format", "min_disk", "min_ram", "size", "virtual_size", "checksum",
           "os_hash_algo", "os_hash_value", "created_at", "updated_at", "deleted_at")
# Sort keys that may be NULL sort (and page) as if they were this value, so a
# marker comparison never meets NULL (where SQL comparisons say "unknown").
NULL_SORTS_AS = {"name": "", "disk_format": "", "container_format": "", "size": -1}

# Statements built once (SQLAlchemy then reuses their compiled form).
IMAGE_COLUMNS = [ImageRow.id, *[getattr(ImageRow, name) for name in COLUMNS]]
IMAGE_BY_ID = select(*IMAGE_COLUMNS).where(ImageRow.id == bindparam("image_id"))
PROPERTIES_OF = select(PropertyRow.image_id, PropertyRow.name, PropertyRow.value).where(
    PropertyRow.image_id.in_(bindparam("ids", expanding=True)))
TAGS_OF = select(TagRow.image_id, TagRow.value).where(
    TagRow.image_id.in_(bindparam("ids", expanding=True))).order_by(TagRow.image_id,
                                                                     TagRow.position)
LOCATIONS_OF = select(LocationRow.image_id, LocationRow.url, LocationRow.meta).where(
    LocationRow.image_id.in_(bindparam("ids", expanding=True))).order_by(
    LocationRow.image_id, LocationRow.position)


class SqlImageRepository(ImageRepository):
    def __init__(self, sessions: sessionmaker, notifier: Notifier):
        self._sessions = sessions
        self._notifier = notifier

    # -- helpers ---------------------------------------------------------------
    def _notify(self, session: Session, notices: Iterable[Notice]) -> None:
        for notice in notices:
            self._notifier.notify(notice.context, notice.event_type, resource_type="image",
                                  resource_id=notice.image_id, project_id=notice.project_id,
                                  payload=notice.payload, session=session)

    @staticmethod
    def _to_images(session: Session, rows: Sequence) -> list[Image]:
        """Rows (images columns) to domain images, with their details in
        three queries, whatever the number of images."""
        ids = [row.id for row in rows]
        properties: dict[str, dict] = defaultdict(dict)
        tags: dict[str, list] = defaultdict(list)
        locations: dict[str, list] = defaultdict(list)
        if ids:
            for prop in session.execute(PROPERTIES_OF, {"ids": ids}):
                properties[prop.image_id][prop.name] = prop.value
            for tag in session.execute(TAGS_OF, {"ids": ids}):
                tags[tag.image_id].append(tag.value)
            for loc in session.execute(LOCATIONS_OF, {"ids": ids}):
                locations[loc.image_id].append(Location(loc.url, dict(loc.meta or {})))
        return [Image(id=row.id, **{name: getattr(row, name) for name in COLUMNS},
                      properties=properties[row.id], tags=tags[row.id],
                      locations=locations[row.id]) for row in rows]

    def _get(self, session: Session, image_id: str) -> Image | None:
        rows = session.execute(IMAGE_BY_ID, {"image_id": image_id}).all()
        return self._to_images(session, rows)[0] if rows else None

    @staticmethod
    def _write_details(session: Session, image: Image) -> None:
        if image.properties:
            session.execute(insert(PropertyRow), [
                {"image_id": image.id, "name": key, "value": value}
                for key, value in image.properties.items()])
        if image.tags:
            session.execute(insert(TagRow), [
                {"image_id": image.id, "value": tag, "position": index}
                for index, tag in enumerate(image.tags)])
        SqlImageRepository._write_locations(session, image.id, image.locations)

    @staticmethod
    def _write_locations(session: Session, image_id: str, locations: list[Location]) -> None:
        if locations:
            session.execute(insert(LocationRow), [
                {"image_id": image_id, "position": index, "url": loc.url,
                 "meta": dict(loc.metadata)} for index, loc in enumerate(locations)])

    # -- images ----------------------------------------------------------------
    def create(self, image: Image, notices: Sequence[Notice] = ()) -> Image:
        try:
            with transaction(self._sessions) as session:
                session.execute(insert(ImageRow).values(
                    id=image.id, **{name: getattr(image, name) for name in COLUMNS}))
                self._write_details(session, image)
                self._notify(session, notices)
        except IntegrityError:
            raise DuplicateImage(image.id) from None
        return image

    def get(self, image_id: str) -> Image | None:
        with transaction(self._sessions, write=False) as session:
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
            if result.rowcount != 1:
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
            if result.rowcount != 1:
                raise StaleImage(image_id, self._status_of(session, image_id))
            if locations is not None:
                session.execute(delete(LocationRow).where(LocationRow.image_id == image_id))
                self._write_locations(session, image_id, locations)
            self._notify(session, notices)
            return self._get(session, image_id)

    def usage(self, owner: str) -> Usage:
        with transaction(self._sessions, write=False) as session:
            count, stored = session.execute(
                select(func.count(ImageRow.id), func.coalesce(func.sum(ImageRow.size), 0))
                .where(ImageRow.owner == owner, ImageRow.status.not_in(list(st.GONE)))).one()
        return Usage(images=int(count), stored_bytes=int(stored))

    def pending_delete_before(self, cutoff: dt.datetime, limit: int) -> list[Image]:
        with transaction(self._sessions, write=False) as session:
            rows = session.execute(select(*IMAGE_COLUMNS).where(
                ImageRow.status == st.PENDING_DELETE, ImageRow.deleted_at <= cutoff)
                .order_by(ImageRow.deleted_at).limit(limit)).all()
            return self._to_images(session, rows)

    # -- the list query --------------------------------------------------------
    def list(self, query: ImageQuery, marker: Image | None = None) -> list[Image]:
        """One page. For a non-admin the visible images are the union of a few
        simple sets (own, public, community, shared with me): each is read in
        index order and cut at the page size, then merged. One query with an
        OR of the sets would have to sort every visible image first."""
        common = [ImageRow.status.not_in(list(st.GONE)),
                  *[self._condition(f) for f in query.filters]]
        if query.visibility and query.visibility != "all":
            common.append(ImageRow.visibility == query.visibility)
        for key, value in query.properties.items():
            common.append(exists().where(PropertyRow.image_id == ImageRow.id,
                                         PropertyRow.name == key, PropertyRow.value == value))
        for tag in query.tags:
            common.append(exists().where(TagRow.image_id == ImageRow.id, TagRow.value == tag))
        if marker is not None:
            common.append(self._after(query.sort, marker))
        order = [self._sort_column(key).asc() if direction == "asc"
                 else self._sort_column(key).desc() for key, direction in query.sort]
        branches = self._visibility_branches(query)
        if len(branches) == 1:
            statement = select(*IMAGE_COLUMNS).where(*common, *branches[0])
        else:
            parts = [select(ImageRow.id).where(*common, *branch).order_by(*order)
                     .limit(query.limit).subquery() for branch in branches]
            statement = select(*IMAGE_COLUMNS).where(
                ImageRow.id.in_(union(*[select(part.c.id) for part in parts])))
        statement = statement.order_by(*order).limit(query.limit)
        with transaction(self._sessions, write=False) as session:
            return self._to_images(session, session.execute(statement).all())

    @staticmethod
    def _visibility_branches(query: ImageQuery) -> list[list]:
        """Glance's rules of who sees what in a list (see rules.can_see), as
        sets of conditions whose union is what the caller may list."""
        caller, wanted = query.caller, query.visibility
        if caller.is_admin:
            if wanted is None:  # community images only on request, or to their owner
                return [[or_(ImageRow.visibility != "community",
                             ImageRow.owner == caller.project_id)]]
            return [[]]
        member_of = select(MemberRow.image_id).where(MemberRow.member == caller.project_id)
        if query.member_status != "all":
            member_of = member_of.where(MemberRow.status == query.member_status)
        branches = [[ImageRow.owner == caller.project_id]]
        if wanted in (None, "all", "public"):
            branches.append([ImageRow.visibility == "public"])
        if wanted in ("all", "community"):
            branches.append([ImageRow.visibility == "community"])
        if wanted in (None, "all", "shared"):
            # Shared with me: looked up by id from my memberships (a few rows).
            # `visibility || ''` keeps the database from walking the visibility
            # index over every shared image instead.
            branches.append([ImageRow.id.in_(member_of),
                             ImageRow.visibility.concat("") == "shared"])
        return branches

    @staticmethod
    def _condition(item: Filter):
        column = getattr(ImageRow, item.attribute)
        if item.op == "in":
            return column.in_(list(item.value))
        if item.op == "eq":
            return column.is_(item.value) if isinstance(item.value, bool) \
                else column == item.value
        if item.op == "neq":
            return or_(column != item.value, column.is_(None))
        return {"gt": column > item.value, "gte": column >= item.value,
                "lt": column < item.value, "lte": column <= item.value}[item.op]

    @staticmethod
    def _sort_column(key: str):
        column = getattr(ImageRow, key)
        return func.coalesce(column, NULL_SORTS_AS[key]) if key in NULL_SORTS_AS else column

    def _after(self, sort: list[tuple[str, str]], marker: Image):
        """Keyset paging: rows strictly after the marker in the sort order."""
        alternatives = []
        for index, (key, direction) in enumerate(sort):
            equal_before = [self._sort_column(k) == self._marker_value(marker, k)
                            for k, _ in sort[:index]]
            column, value = self._sort_column(key), self._marker_value(marker, key)
            beyond = column > value if direction == "asc" else column < value
            alternatives.append(and_(*equal_before, beyond))
        return or_(*alternatives)

    @staticmethod
    def _marker_value(marker: Image, key: str):
        value = getattr(marker, key)
        return NULL_SORTS_AS.get(key) if value is None else value

    # -- tags ------------------------------------------------------------------
    def add_tag(self, image_id: str, tag: str, notices: Sequence[Notice] = ()) -> None:
        with transaction(self._sessions) as session:
            if session.get(TagRow, (image_id, tag)) is None:
                position = session.scalar(select(func.coalesce(func.max(TagRow.position), -1))
                                          .where(TagRow.image_id == image_id)) + 1
                session.add(TagRow(image_id=image_id, value=tag, position=position))
            session.execute(update(ImageRow).where(ImageRow.id == image_id)
                            .values(updated_at=utcnow()))
            self._notify(session, notices)

    def delete_tag(self, image_id: str, tag: str, notices: Sequence[Notice] = ()) -> bool:
        with transaction(self._sessions) as session:
            result = session.execute(delete(TagRow).where(TagRow.image_id == image_id,
                                                          TagRow.value == tag))
            if result.rowcount:
                session.execute(update(ImageRow).where(ImageRow.id == image_id)
                                .values(updated_at=utcnow()))
                self._notify(session, notices)
            return bool(result.rowcount)

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
            if result.rowcount:
                self._notify(session, notices)
            return bool(result.rowcount)

    def record(self, notices: Sequence[Notice]) -> None:
        with transaction(self._sessions) as session:
            self._notify(session, notices)

