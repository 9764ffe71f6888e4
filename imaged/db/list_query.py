"""The SQL behind GET /v2/images, built once per shape of query.

Building a SQLAlchemy statement costs more than running it: for a page of
25 out of 10,000 images SQLite needs about 0.15 ms, while making the
expression objects, computing the statement's cache key and looking its
compiled form up took several times that, on every request. So a statement
is built for the *shape* of a query (which filters with which operators,
how many properties and tags, the sort, a marker or not, the page size,
admin or not), with every value the query carries as a named bound
parameter, and kept. The next query of the same shape reuses the same
statement object: SQLAlchemy remembers its cache key and its compiled SQL,
and only the parameter values are new.

The rules themselves are Glance's (see rules.can_see for who sees what).
"""
from __future__ import annotations

import threading

from sqlalchemy import and_, bindparam, exists, func, or_, select, union
from sqlalchemy.sql import Select

from imaged.db.models import ImageRow, MemberRow, PropertyRow, TagRow
from imaged.domain import status as st
from imaged.domain.image import Image
from imaged.domain.listing import Filter, ImageQuery

IMAGES = ImageRow.__table__
MEMBERS = MemberRow.__table__
PROPERTIES = PropertyRow.__table__
TAGS = TagRow.__table__

# Sort keys that may be NULL sort (and page) as if they were this value, so a
# marker comparison never meets NULL (where SQL comparisons say "unknown").
NULL_SORTS_AS = {"name": "", "disk_format": "", "container_format": "", "size": -1}
MAX_SHAPES = 256  # statements kept; a few shapes cover what clients really send


class ListStatements:
    """The page statement for a query: built on first use of its shape."""

    def __init__(self, columns: list):
        self._columns = columns
        self._statements: dict[tuple, Select] = {}
        self._lock = threading.Lock()

    def for_query(self, query: ImageQuery, marker: Image | None) -> tuple[Select, dict]:
        """(statement, parameter values) for one page of `query`."""
        shape = _shape(query, marker)
        statement = self._statements.get(shape)
        if statement is None:
            statement = _build(query, marker is not None, self._columns)
            with self._lock:
                if len(self._statements) >= MAX_SHAPES:
                    self._statements.clear()
                self._statements[shape] = statement
        return statement, _values(query, marker)


def _shape(query: ImageQuery, marker: Image | None) -> tuple:
    """Everything that changes the SQL text (values only change parameters).
    A boolean filter is part of the shape: it is written `IS true` / `IS
    false`, which takes no parameter on PostgreSQL."""
    return (query.caller.is_admin, query.caller.project_id is None, query.visibility,
            query.member_status == "all",
            tuple((f.attribute, f.op, f.value if isinstance(f.value, bool) else None)
                  for f in query.filters),
            len(query.properties), len(query.tags), tuple(query.sort), marker is not None,
            query.limit)


def _values(query: ImageQuery, marker: Image | None) -> dict:
    """The parameters of the statement _build made, by the same names."""
    values: dict[str, object] = {"project": query.caller.project_id,
                                 "member_status": query.member_status}
    for index, item in enumerate(query.filters):
        if isinstance(item.value, bool):
            continue
        if item.op == "in" and isinstance(item.value, list):
            values[f"filter_{index}"] = list(item.value)
        else:
            values[f"filter_{index}"] = item.value
    for index, (key, value) in enumerate(query.properties.items()):
        values[f"property_name_{index}"], values[f"property_value_{index}"] = key, value
    for index, tag in enumerate(query.tags):
        values[f"tag_{index}"] = tag
    if marker is not None:
        for key, _direction in query.sort:
            value = getattr(marker, key)
            values[f"marker_{key}"] = NULL_SORTS_AS.get(key) if value is None else value
    return values


def _build(query: ImageQuery, has_marker: bool, columns: list) -> Select:
    """For a non-admin the visible images are the union of a few simple sets
    (own, public, community, shared with me): each is read in index order
    and cut at the page size, then merged. One query with an OR of the sets
    would have to sort every visible image first."""
    common = [*[IMAGES.c.status != gone for gone in sorted(st.GONE)],
              *[_condition(index, f) for index, f in enumerate(query.filters)]]
    if query.visibility and query.visibility != "all":
        common.append(IMAGES.c.visibility == query.visibility)
    for index in range(len(query.properties)):
        common.append(exists().where(PROPERTIES.c.image_id == IMAGES.c.id,
                                     PROPERTIES.c.name == bindparam(f"property_name_{index}"),
                                     PROPERTIES.c.value == bindparam(f"property_value_{index}")))
    for index in range(len(query.tags)):
        common.append(exists().where(TAGS.c.image_id == IMAGES.c.id,
                                     TAGS.c.value == bindparam(f"tag_{index}")))
    if has_marker:
        common.append(_after(query.sort))
    order = [_sort_column(key).asc() if direction == "asc" else _sort_column(key).desc()
             for key, direction in query.sort]
    branches = _visibility_branches(query)
    if len(branches) == 1:
        statement = select(*columns).where(*common, *branches[0])
    else:
        parts = [select(IMAGES.c.id).where(*common, *branch).order_by(*order)
                 .limit(query.limit).subquery() for branch in branches]
        statement = select(*columns).where(
            IMAGES.c.id.in_(union(*[select(part.c.id) for part in parts])))
    return statement.order_by(*order).limit(query.limit)


def _visibility_branches(query: ImageQuery) -> list[list]:
    """Glance's rules of who sees what in a list, as sets of conditions
    whose union is what the caller may list."""
    # (a caller without a project matches rows whose owner IS NULL, as before)
    project = bindparam("project", type_=IMAGES.c.owner.type) \
        if query.caller.project_id is not None else None
    wanted = query.visibility
    if query.caller.is_admin:
        if wanted is None:  # community images only on request, or to their owner
            return [[or_(IMAGES.c.visibility != "community", IMAGES.c.owner == project)]]
        return [[]]
    member_of = select(MEMBERS.c.image_id).where(MEMBERS.c.member == project)
    if query.member_status != "all":
        member_of = member_of.where(MEMBERS.c.status == bindparam("member_status"))
    branches = [[IMAGES.c.owner == project]]
    if wanted in (None, "all", "public"):
        branches.append([IMAGES.c.visibility == "public"])
    if wanted in ("all", "community"):
        branches.append([IMAGES.c.visibility == "community"])
    if wanted in (None, "all", "shared"):
        # Shared with me: looked up by id from my memberships (a few rows).
        # `visibility || ''` keeps the database from walking the visibility
        # index over every shared image instead.
        branches.append([IMAGES.c.id.in_(member_of),
                         IMAGES.c.visibility.concat("") == "shared"])
    return branches


def _condition(index: int, item: Filter):
    column = IMAGES.c[item.attribute]
    if item.op == "eq" and isinstance(item.value, bool):
        return column.is_(item.value)
    if item.op == "in":
        return column.in_(bindparam(f"filter_{index}", expanding=True))
    value = bindparam(f"filter_{index}", type_=column.type)
    if item.op == "eq":
        return column == value
    if item.op == "neq":
        return or_(column != value, column.is_(None))
    return {"gt": column > value, "gte": column >= value,
            "lt": column < value, "lte": column <= value}[item.op]


def _sort_column(key: str):
    column = IMAGES.c[key]
    return func.coalesce(column, NULL_SORTS_AS[key]) if key in NULL_SORTS_AS else column


def _after(sort: list[tuple[str, str]]):
    """Keyset paging: rows strictly after the marker in the sort order."""
    marker = {key: bindparam(f"marker_{key}", type_=IMAGES.c[key].type) for key, _ in sort}
    alternatives = []
    for index, (key, direction) in enumerate(sort):
        equal_before = [_sort_column(k) == marker[k] for k, _ in sort[:index]]
        column = _sort_column(key)
        beyond = column > marker[key] if direction == "asc" else column < marker[key]
        alternatives.append(and_(*equal_before, beyond))
    return or_(*alternatives)
