"""What every computed handler shares: the runtime, microversions, policy,
scoping, links, pagination."""
from __future__ import annotations

import datetime as dt

from flask import current_app, request

from computed.api import microversion
from computed.runtime import Computed
from shared.api import context
from shared.context import RequestContext
from shared.errors import BadRequest

API_PREFIX = "/v2.1"
# The versions computed speaks and what each changes: api/microversion.py.
MIN_VERSION, MAX_VERSION = microversion.MIN_VERSION, microversion.MAX_VERSION


RUNTIME_KEY = "computed"


def runtime() -> Computed:
    """The computed runtime of the app serving this request (app.py puts it
    in the app's extensions)."""
    return current_app.extensions[RUNTIME_KEY]


def authorize(rule: str, ctx: RequestContext, project_id: str | None = None,
              **extra) -> None:
    """403 unless the policy rule os_compute_api:<rule> allows the caller on
    a target of this project (the caller's own by default)."""
    runtime().authorize(rule, ctx, project_id, **extra)


def version_text(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


def parse_microversion() -> tuple[int, int]:
    """The version asked for (2.1 when none is named); 400 for a malformed
    one, 406 outside what computed speaks."""
    return microversion.COMPUTE.parse()


def set_version_headers(response):
    """OpenStack-API-Version, X-OpenStack-Nova-API-Version and Vary."""
    return microversion.COMPUTE.add_headers(response)


def project_scope() -> str | None:
    """Admins reach any project's server by id (None); others their own."""
    ctx = context()
    return None if ctx.is_admin else ctx.project_id


def base_url() -> str:
    return request.host_url.rstrip("/")


def links(collection: str, item_id: str) -> list[dict]:
    return [{"rel": "self", "href": f"{base_url()}{API_PREFIX}/{collection}/{item_id}"},
            {"rel": "bookmark", "href": f"{base_url()}/{collection}/{item_id}"}]


def when(value: dt.datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def parse_limit() -> int | None:
    text = request.args.get("limit")
    if text is None:
        return None
    try:
        limit = int(text)
    except ValueError:
        raise BadRequest("limit param must be an integer") from None
    if limit < 0:
        raise BadRequest("limit param must be positive")
    return limit


def paginate(items: list, key, collection: str) -> tuple[list, list]:
    """Nova's limit/marker over an ordered list; a `<collection>_links` next
    link when the page is full."""
    marker = request.args.get("marker")
    if marker:
        keys = [key(item) for item in items]
        if marker not in keys:
            raise BadRequest(f"marker [{marker}] not found")
        items = items[keys.index(marker) + 1:]
    limit = parse_limit()
    next_links = []
    if limit is not None and len(items) > limit:
        items = items[:limit]
        if items:
            args = [(k, v) for k, v in request.args.items(multi=True) if k != "marker"]
            args.append(("marker", key(items[-1])))
            query = "&".join(f"{k}={v}" for k, v in args)
            next_links = [{"rel": "next",
                           "href": f"{base_url()}{API_PREFIX}/{collection}?{query}"}]
    return items, next_links
