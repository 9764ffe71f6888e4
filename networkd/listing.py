"""Neutron's list semantics over resources already rendered as dicts:
filters on any shown field (repeated keys: any of the values), tags
filters, sort_key/sort_dir, limit/marker paging, and ?fields=.

Filtering after rendering keeps one rule for every resource: a filter
names a field the client sees ("router:external", "device_owner"), and
matches what the client would see. Ids are also narrowed in SQL first
(narrowed()): the same rows are kept, but a look for one server's ports
(computed's, at every GET of a server) does not render and check every
port of the cloud. Special forms, as Neutron:
    fixed_ips=ip_address=10.0.0.5   fixed_ips=subnet_id=<id>
    fixed_ips=ip_address_substr=10.0.0.
    tags=a,b (all)  tags-any=a,b  not-tags=a,b  not-tags-any=a,b
    security_group_ids=<id>  (ports: in that group)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from networkd.attributes import HTTPBadRequest
from networkd.errors import TenantIdProjectIdFilterConflict

RESERVED = {"fields", "limit", "marker", "sort_key", "sort_dir", "page_reverse",
            "tags", "tags-any", "not-tags", "not-tags-any"}
ALIASES = {"security_group_ids": "security_groups"}
TRUE_WORDS = {"true", "1", "t", "yes", "y", "on"}
FALSE_WORDS = {"false", "0", "f", "no", "n", "off"}


def narrowed(statement, query: Query | None, columns: dict[str, Any]):
    """The SELECT `statement` restricted to the rows whose column equals
    one of the query's values for it, for each of `columns` (a filter name
    -> its string column, shown as it is stored): exactly the rows
    matches() keeps for those filters, so it filters them again at no
    cost."""
    for name, column in columns.items():
        values = query.all(name) if query else []
        if values:
            statement = statement.where(column.in_(values))
    return statement


@dataclass
class Query:
    """The query string: each key with all its values."""
    args: dict[str, list[str]] = field(default_factory=dict)

    def first(self, key: str) -> str | None:
        values = self.args.get(key)
        return values[0] if values else None

    def all(self, key: str) -> list[str]:
        return self.args.get(key, [])


def select(items: list[dict], query: Query) -> tuple[list[dict], str | None]:
    """The page of `items` the query asks for, and the marker of the next
    page (None when this is the last)."""
    if query.args.get("project_id") and query.args.get("tenant_id"):
        raise TenantIdProjectIdFilterConflict()
    chosen = [item for item in items if matches(item, query)]
    chosen = sort(chosen, query)
    marker = query.first("marker")
    if marker:
        ids = [item.get("id") for item in chosen]
        chosen = chosen[ids.index(marker) + 1:] if marker in ids else []
    limit = _limit(query.first("limit"))
    next_marker = None
    if limit and len(chosen) > limit:
        chosen = chosen[:limit]
        next_marker = chosen[-1].get("id")
    return [only_fields(item, query) for item in chosen], next_marker


def matches(item: dict, query: Query) -> bool:
    for key, values in query.args.items():
        if key in RESERVED or not values:
            continue
        name = ALIASES.get(key, key)
        if name == "fixed_ips":
            if not _fixed_ips_match(item.get("fixed_ips") or [], values):
                return False
        elif name in item and not any(_value_matches(item[name], v) for v in values):
            return False
    return _tags_match(item.get("tags") or [], query)


def _value_matches(actual: Any, wanted: str) -> bool:
    if isinstance(actual, bool):
        word = wanted.strip().lower()
        return (word in TRUE_WORDS) if actual else (word in FALSE_WORDS)
    if isinstance(actual, list):
        return any(_value_matches(one, wanted) for one in actual)
    if actual is None:
        return False
    return str(actual) == wanted


def _fixed_ips_match(fixed_ips: list[dict], values: list[str]) -> bool:
    """Every fixed_ips=key=value given must hold for one of the port's
    fixed IPs (Neutron ANDs the keys)."""
    for value in values:
        key, _, wanted = value.partition("=")
        if key == "ip_address_substr":
            if not any(wanted in ip.get("ip_address", "") for ip in fixed_ips):
                return False
        elif key in ("ip_address", "subnet_id"):
            if not any(ip.get(key) == wanted for ip in fixed_ips):
                return False
        else:
            raise HTTPBadRequest(f"Invalid fixed_ips filter: {value}")
    return True


def _tags_match(tags: list[str], query: Query) -> bool:
    have = set(tags)

    def words(key: str) -> list[set[str]]:
        return [set(filter(None, value.split(","))) for value in query.all(key)]

    return (all(group <= have for group in words("tags"))
            and all(group & have for group in words("tags-any"))
            and not any(group <= have and group for group in words("not-tags"))
            and not any(group & have for group in words("not-tags-any")))


def sort(items: list[dict], query: Query) -> list[dict]:
    keys, directions = query.all("sort_key"), query.all("sort_dir")
    if not keys:
        return items
    if len(directions) not in (0, len(keys)):
        raise HTTPBadRequest("The number of sort_keys and sort_dirs must be same")
    directions = directions or ["asc"] * len(keys)
    for key, direction in reversed(list(zip(keys, directions, strict=True))):
        if direction not in ("asc", "desc"):
            raise HTTPBadRequest(f"{direction} is invalid value for sort_dir, valid "
                                 "values are 'asc' and 'desc'")
        if items and key not in items[0]:
            raise HTTPBadRequest(f"{key} is invalid attribute for sort_key")
        items = sorted(items, key=lambda item: _sortable(item.get(key)),
                       reverse=direction == "desc")
    return items


def _sortable(value: Any) -> tuple:
    return (value is None, str(value) if value is not None else "")


def _limit(text: str | None) -> int:
    if text is None:
        return 0
    try:
        limit = int(text)
    except ValueError:
        limit = -1
    if limit < 0:
        raise HTTPBadRequest(f"Limit must be an integer 0 or greater and not '{text}'")
    return limit


def only_fields(item: dict, query: Query) -> dict:
    wanted = [name for value in query.all("fields") for name in value.split(",") if name]
    return {k: v for k, v in item.items() if k in wanted} if wanted else item
