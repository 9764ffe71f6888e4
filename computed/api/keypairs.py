"""/v2.1/os-keypairs: list, show, create (or import) and delete a user's
key pairs; what a new key pair must be is in computed/keypairs.py.

Per microversion, as Nova's keypairs.py:
    2.2   "type" (ssh or x509) in create, list and show; create answers 201
          (200 before), delete 204 (202 before)
    2.10  an admin names another user: ?user_id= on list, show and delete,
          "user_id" in create's body
    2.35  ?limit= and ?marker= (a key pair's name) on list, with
          "keypairs_links" when there is a next page
"""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from computed import keypairs
from computed.api import render, schemas
from computed.api.common import API_PREFIX, authorize, paginate, runtime
from computed.api.microversion import KEYPAIR_PAGING, KEYPAIR_TYPE, KEYPAIR_USER, at_least
from computed.db import repository as repo
from computed.db.models import KeyPair
from shared.api import context, json_body
from shared.db import transaction
from shared.errors import BadRequest
from shared.openapi import describe

bp = Blueprint("keypairs", __name__, url_prefix=API_PREFIX)


def _owner(rule: str) -> str:
    """Whose key pairs: ?user_id= from 2.10 (the policy lets only admins name
    someone else), else the caller."""
    ctx = context()
    user_id = (request.args.get("user_id") if at_least(KEYPAIR_USER) else None) \
        or ctx.user_id or ""
    authorize(rule, ctx, user_id=user_id)
    return user_id


def _typed(body: dict, keypair: KeyPair) -> dict:
    if at_least(KEYPAIR_TYPE):
        body["type"] = keypair.type
    return body


@bp.get("/os-keypairs")
def list_keypairs():
    user_id = _owner("os-keypairs:index")
    with transaction(runtime().deps.sessions, write=False) as session:
        found = repo.list_keypairs(session, user_id)
        next_links: list = []
        if at_least(KEYPAIR_PAGING):
            found, next_links = paginate(found, lambda k: k.name, "os-keypairs")
        body: dict = {"keypairs": [
            {"keypair": _typed(render.keypair_summary(k)["keypair"], k)} for k in found]}
    if next_links:
        body["keypairs_links"] = next_links
    return jsonify(body)


@bp.get("/os-keypairs/<name>")
def show_keypair(name):
    user_id = _owner("os-keypairs:show")
    with transaction(runtime().deps.sessions, write=False) as session:
        keypair = repo.get_keypair(session, user_id, name)
        return jsonify({"keypair": _typed(render.keypair_detail(keypair), keypair)})


def _create_spec() -> tuple[dict, str | None]:
    """The body's keypair, with only the fields this version's schema has."""
    spec = json_body().get("keypair")
    if not isinstance(spec, dict):
        raise BadRequest("Invalid input: the body must be {\"keypair\": {...}}.")
    allowed = {"name", "public_key"}
    if at_least(KEYPAIR_TYPE):
        allowed.add("type")
    if at_least(KEYPAIR_USER):
        allowed.add("user_id")
    extra = sorted(set(spec) - allowed)
    if extra:
        raise BadRequest(f"Invalid input for field/attribute keypair. Value: {spec}. "
                         f"Additional properties are not allowed ({extra[0]!r} was "
                         f"unexpected)")
    schemas.checked_nova({"keypair": spec}, schemas.KEYPAIR_CREATE)
    return spec, spec.get("user_id")


@bp.post("/os-keypairs")
@describe(request=schemas.KEYPAIR_CREATE)
def create_keypair():
    ctx = context()
    spec, user_id = _create_spec()
    authorize("os-keypairs:create", ctx, user_id=user_id or ctx.user_id)
    created = keypairs.create_keypair(runtime().deps, ctx, spec, user_id=user_id)
    keypair = created.keypair
    body = {"name": keypair.name, "public_key": keypair.public_key,
            "fingerprint": keypair.fingerprint, "user_id": keypair.user_id}
    _typed(body, keypair)
    if created.private_key is not None:
        body["private_key"] = created.private_key
    response = jsonify({"keypair": body})
    response.status_code = 201 if at_least(KEYPAIR_TYPE) else 200
    return response


@bp.delete("/os-keypairs/<name>")
def delete_keypair(name):
    ctx = context()
    user_id = _owner("os-keypairs:delete")
    with transaction(runtime().deps.sessions) as session:
        session.delete(repo.get_keypair(session, user_id, name))
        runtime().service.notifier.notify(ctx, "keypair.delete", resource_type="keypair",
                                         resource_id=name,
                                         payload={"key_name": name}, session=session)
    return Response(status=204 if at_least(KEYPAIR_TYPE) else 202)
