"""What every volumed handler shares: the service's runtime, the project in
the URL, policy, query-string parsing, pagination."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app, request

from shared.api import context
from shared.db import transaction
from shared.errors import BadRequest
from shared.policy import PolicyEnforcer
from shared.strutils import bool_param
from volumed.flows import Deps

EXTENSION = "volumed"


@dataclass(frozen=True)
class Runtime:
    """What the handlers reach: the flows' dependencies and the policy. One
    per worker process, built by app.py and kept on the Flask app, so the
    blueprints are plain module-level objects with no closures."""
    deps: Deps
    policy: PolicyEnforcer

    def install(self, app: Flask) -> None:
        app.extensions[EXTENSION] = self


def runtime() -> Runtime:
    """The runtime of the app serving this request."""
    return current_app.extensions[EXTENSION]


def deps() -> Deps:
    return runtime().deps


def check_url_project(project_id: str) -> None:
    """Cinder answers 400 "Malformed request url" when the project in the URL
    is not the token's (admins too: they reach other projects with
    all_tenants)."""
    ctx = context()
    if project_id != ctx.project_id:
        raise BadRequest("Malformed request url: the project in the URL is not the "
                         "project of the token.")


def authorize(rule: str, project_id: str | None) -> None:
    """Ask policy for `volume:<rule>` on the project (the caller's own when
    project_id is None); 403 when it says no."""
    ctx = context()
    runtime().policy.authorize(f"volume:{rule}", {"project_id": project_id or ctx.project_id}, ctx)


def must_see(lookup: Callable, resource_id: str) -> None:
    """404 unless the caller may see the resource: Cinder looks a volume,
    snapshot or backup up within the caller's project before it asks an
    admin-only rule (os-reset_status, os-force_delete), so another project's
    is not found rather than forbidden. `lookup` is a repo getter
    (session, id, project) that raises NotFound."""
    with transaction(deps().sessions, write=False) as session:
        lookup(session, resource_id, read_scope())


def all_projects_asked() -> bool:
    """all_tenants=1 from a caller policy lets see every project; from
    anyone else Cinder drops the option silently (remove_invalid_filter_options)
    and lists the caller's own project: clients' name lookups (cinderclient's
    find) always send it."""
    if "all_tenants" not in request.args:
        return False
    ctx = context()
    if not runtime().policy.allows("volume:get_all_tenants", {"project_id": ctx.project_id},
                                   ctx):
        return False  # dropped before it is even read, as Cinder does
    return flag("all_tenants")


def read_scope() -> str | None:
    """The project whose resources this caller may see by id: admins see
    every project's (None)."""
    ctx = context()
    return None if ctx.is_admin else ctx.project_id


def flag(name: str) -> bool:
    """A boolean query parameter (all_tenants, force, cascade, usage): absent
    is false; otherwise one of the words shared.strutils accepts, else 400,
    as Cinder's get_bool_param."""
    value = request.args.get(name)
    return False if value is None else bool_param(name, value)


def paginate(items: list, collection: str, project_id: str, sort_keys: dict) -> tuple[list, list]:
    """Cinder's limit/marker/sort (sort=key:dir,... or sort_key/sort_dir).
    Returns the page and the `<collection>_links` list (a next link when the
    page is full)."""
    sort = request.args.get("sort")
    pairs = []
    if sort:
        for part in sort.split(","):
            key, _, direction = part.partition(":")
            pairs.append((key.strip(), (direction or "desc").strip()))
    elif request.args.get("sort_key"):
        pairs.append((request.args["sort_key"], request.args.get("sort_dir", "desc")))
    for key, direction in reversed(pairs):
        if key not in sort_keys:
            raise BadRequest(f"Invalid input received: Invalid sort key {key!r}.")
        if direction not in ("asc", "desc"):
            raise BadRequest(f"Invalid input received: Invalid sort direction {direction!r}.")
        items = sorted(items, key=lambda item: _sortable(sort_keys[key](item)),
                       reverse=direction == "desc")
    marker = request.args.get("marker")
    if marker:
        ids = [item.id for item in items]
        if marker not in ids:
            raise BadRequest(f"Invalid input received: marker [{marker}] not found.")
        items = items[ids.index(marker) + 1:]
    limit_text = request.args.get("limit")
    links = []
    if limit_text is not None:
        try:
            limit = int(limit_text)
        except ValueError:
            raise BadRequest("Invalid input received: limit must be an integer.") from None
        if limit < 0:
            raise BadRequest("Invalid input received: limit must be >= 0.")
        if len(items) > limit:
            items = items[:limit]
            if items:
                args = {k: v for k, v in request.args.items() if k != "marker"}
                args["marker"] = items[-1].id
                query = "&".join(f"{k}={v}" for k, v in args.items())
                links = [{"rel": "next", "href": f"{request.host_url.rstrip('/')}"
                          f"/v3/{project_id}/{collection}?{query}"}]
    return items, links


def _sortable(value):
    return (value is None, value if value is not None else "")
