"""GET /v2/images: what a list request asks for, checked and made explicit.

The query string becomes an ImageQuery (filters, sort, page) that the
repository turns into one SQL query. The rules are Glance's: 25 images per
page unless `limit` says otherwise, newest first, `marker` = the last id of
the previous page, `sort=name:asc,size:desc` or `sort_key`/`sort_dir`
pairs, `tag` repeated for several tags (all must match), `created_at` and
`updated_at` with an operator (gte:2026-01-01T00:00:00Z), hidden images
(os_hidden) left out unless asked for, and any other parameter a filter on
an extra property (?os_distro=debian).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from imaged.domain import status as st
from imaged.domain.errors import InvalidInput
from imaged.domain.image import Caller
from shared.strutils import bool_param

SORT_KEYS = ("name", "status", "container_format", "disk_format", "size", "id", "created_at",
             "updated_at")
SORT_DIRS = ("asc", "desc")
VISIBILITY_FILTERS = ("public", "private", "shared", "community", "all")
MEMBER_STATUS_FILTERS = ("pending", "accepted", "rejected", "all")
TIME_OPERATORS = ("gt", "gte", "lt", "lte", "eq", "neq")
LIST_ATTRIBUTES = ("id", "name", "status", "disk_format", "container_format", "owner")
NOT_FILTERS = ("limit", "marker", "sort", "sort_key", "sort_dir", "member_status", "tag",
               "visibility")


@dataclass(frozen=True)
class Filter:
    attribute: str
    op: str          # eq, neq, in, gt, gte, lt, lte
    value: object


@dataclass
class ImageQuery:
    caller: Caller
    visibility: str | None = None
    member_status: str = "accepted"
    filters: list[Filter] = field(default_factory=list)
    properties: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    sort: list[tuple[str, str]] = field(default_factory=lambda: [("created_at", "desc"),
                                                                  ("id", "desc")])
    limit: int = 25
    marker: str | None = None


def parse_query(args: Iterable[tuple[str, str]], caller: Caller, *, default_limit: int,
                max_limit: int) -> ImageQuery:
    """Turn the query string's (key, value) pairs into an ImageQuery, or 400."""
    pairs = list(args)
    single: dict[str, str] = {}
    for key, value in pairs:
        single.setdefault(key, value)
    query = ImageQuery(caller=caller)
    query.limit = _limit(single.get("limit"), default_limit, max_limit)
    query.marker = single.get("marker") or None
    query.sort = _sorting(pairs)
    query.tags = [value.strip() for key, value in pairs if key == "tag"]
    visibility = single.get("visibility")
    if visibility is not None and visibility not in VISIBILITY_FILTERS:
        raise InvalidInput(f"Invalid visibility value: {visibility} (allowed: "
                           f"{', '.join(VISIBILITY_FILTERS)}).")
    query.visibility = visibility
    member_status = single.get("member_status", "accepted")
    if member_status not in MEMBER_STATUS_FILTERS:
        raise InvalidInput(f"Invalid member_status: {member_status} (allowed: "
                           f"{', '.join(MEMBER_STATUS_FILTERS)}).")
    query.member_status = member_status
    if "changes-since" in single:
        raise InvalidInput('The "changes-since" filter is no longer available on v2.')
    for key, value in single.items():
        if key in NOT_FILTERS:
            continue
        if _is_core(key):
            query.filters.extend(_filters_for(key, value))
        else:
            query.properties[key] = value
    if "os_hidden" not in single:
        query.filters.append(Filter("os_hidden", "eq", False))
    if "status" not in single:
        # Glance leaves killed images out of lists (they are still shown by id).
        query.filters.append(Filter("status", "neq", st.KILLED))
    return query


def _is_core(key: str) -> bool:
    return key in LIST_ATTRIBUTES or key in ("protected", "os_hidden", "size_min", "size_max",
                                             "created_at", "updated_at")


def _filters_for(key: str, value: str) -> list[Filter]:
    if key in LIST_ATTRIBUTES:
        if value.startswith("in:"):
            return [Filter(key, "in", [item.strip() for item in value[3:].split(",")
                                       if item.strip()])]
        return [Filter(key, "eq", value)]
    if key in ("protected", "os_hidden"):
        return [Filter(key, "eq", bool_param(key, value))]
    if key in ("size_min", "size_max"):
        try:
            number = int(value)
        except ValueError:
            raise InvalidInput(f"Unable to filter on a range with a non-numeric value "
                               f"({key}={value}).") from None
        return [Filter("size", "gte" if key == "size_min" else "lte", number)]
    operator, _, when = value.partition(":") if _has_operator(value) else ("eq", "", value)
    return [Filter(key, operator, parse_time(key, when))]


def _has_operator(value: str) -> bool:
    head = value.split(":", 1)[0]
    return head in TIME_OPERATORS


def parse_time(key: str, text: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f'Bad "{key}" query filter format: use ISO 8601 DateTime notation '
                           f'(2026-01-31T12:00:00Z), optionally after an operator '
                           f'({", ".join(o + ":" for o in TIME_OPERATORS)}).') from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


def _limit(text: str | None, default: int, maximum: int) -> int:
    if text is None:
        return min(default, maximum)
    try:
        limit = int(text)
    except ValueError:
        raise InvalidInput("limit param must be an integer") from None
    if limit < 0:
        raise InvalidInput("limit param must be positive")
    return min(limit, maximum)


def _sorting(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    keys = [value.strip() for key, value in pairs if key == "sort_key"]
    dirs = [value.strip() for key, value in pairs if key == "sort_dir"]
    sort_params = [value for key, value in pairs if key == "sort"]
    if sort_params and (keys or dirs):
        raise InvalidInput("Old and new sorting syntax cannot be combined.")
    if sort_params:
        for part in sort_params[0].split(","):
            key, _, direction = part.partition(":")
            keys.append(key.strip())
            dirs.append(direction.strip() or "desc")
        if len(dirs) != len(keys):  # pragma: no cover (built pairwise above)
            raise InvalidInput("Number of sort dirs does not match the number of sort keys.")
    for key in keys:
        if key not in SORT_KEYS:
            raise InvalidInput(f"Invalid sort key: {key}. It must be one of the following: "
                               f"{', '.join(SORT_KEYS)}.")
    for direction in dirs:
        if direction not in SORT_DIRS:
            raise InvalidInput(f"Invalid sort direction: {direction} (asc or desc).")
    if len(dirs) > 1 and len(dirs) != len(keys):
        raise InvalidInput("Number of sort dirs does not match the number of sort keys.")
    if not keys:
        keys = ["created_at"]
    default_dir = dirs[0] if len(dirs) == 1 else "desc"
    if len(dirs) <= 1:
        dirs = [default_dir] * len(keys)
    sort = list(zip(keys, dirs, strict=True))
    # created_at then id always close the order: a page boundary is then
    # exact, and a marker always moves forward.
    for key in ("created_at", "id"):
        if key not in keys:
            sort.append((key, default_dir))
    return sort
