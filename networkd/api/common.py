"""What every networkd handler shares: the runtime, the caller's Access,
one transaction per request, and list answers (filters, sorting, paging
with <collection>_links)."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlencode

from flask import current_app, jsonify, request

from networkd import listing
from networkd.access import Access
from networkd.call import Call
from networkd.runtime import Networkd
from shared.api import context
from shared.db import transaction

RUNTIME_KEY = "networkd"


def runtime() -> Networkd:
    """The networkd runtime of the app serving this request (app.py puts it
    in the app's extensions)."""
    return current_app.extensions[RUNTIME_KEY]


def access() -> Access:
    return runtime().access(context())


@contextmanager
def writing() -> Iterator[Call]:
    """The request's one writing transaction; the agent is woken once it
    committed (nothing half-written: an error rolls everything back)."""
    with transaction(runtime().sessions) as session:
        yield runtime().call(session, context())
    runtime().changed()


@contextmanager
def reading() -> Iterator[Call]:
    with transaction(runtime().sessions, write=False) as session:
        yield runtime().call(session, context())


def query() -> listing.Query:
    """The query string as listing reads it (repeated keys kept)."""
    return listing.Query({key: request.args.getlist(key) for key in request.args})


def list_response(collection: str, items: list[dict]):
    """Filter, sort and page `items` (dicts as shown) as the query asks;
    a next link when a limited page is full, as Neutron."""
    page, next_marker = listing.select(items, query())
    body: dict = {collection: page}
    if next_marker is not None:
        args = [(k, v) for k in request.args for v in request.args.getlist(k) if k != "marker"]
        args.append(("marker", next_marker))
        body[f"{collection}_links"] = [{
            "rel": "next",
            "href": f"{request.base_url}?{urlencode(args)}"}]
    return jsonify(body)


def one(resource: str, item: dict, status: int = 200):
    """A single resource, limited to ?fields= when asked."""
    response = jsonify({resource: listing.only_fields(item, query())})
    response.status_code = status
    return response
