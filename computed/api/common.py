"""What every computed handler shares: the runtime, microversions, policy,
scoping, links, pagination."""
from __future__ import annotations

import datetime as dt

from flask import current_app, g, request

from computed.runtime import Computed
from shared.api import context
from shared.context import RequestContext
from shared.errors import ApiError, BadRequest

API_PREFIX = "/v2.1"
# computed speaks exactly the 2.1 shapes; the client then sends 2.1 (or no
# header at all) for every flow.
MIN_VERSION = MAX_VERSION = (2, 1)
HEADERS = ("OpenStack-API-Version", "X-OpenStack-Nova-API-Version")


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
    """The version asked for: `OpenStack-API-Version: compute 2.N` or the
    older `X-OpenStack-Nova-API-Version: 2.N`; 406 outside what we speak."""
    wanted = None
    for part in request.headers.get(HEADERS[0], "").split(","):
        words = part.strip().split()
        if len(words) == 2 and words[0].lower() == "compute":
            wanted = words[1]
    if wanted is None:
        wanted = request.headers.get(HEADERS[1]) or None
    if wanted is None or wanted.lower() == "latest":
        return MAX_VERSION
    try:
        major, minor = (int(x) for x in wanted.strip().split("."))
    except ValueError:
        raise BadRequest(f"Invalid API version request string {wanted!r}.") from None
    if not MIN_VERSION <= (major, minor) <= MAX_VERSION:
        raise ApiError(f"Version {wanted} is not supported by the API. Minimum is "
                       f"{version_text(MIN_VERSION)} and maximum is "
                       f"{version_text(MAX_VERSION)}.", 406)
    return major, minor


def set_version_headers(response):
    if "compute_api_version" in g:
        text = version_text(g.compute_api_version)
        response.headers[HEADERS[0]] = f"compute {text}"
        response.headers[HEADERS[1]] = text
        response.headers["Vary"] = ", ".join(HEADERS)
    return response


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
