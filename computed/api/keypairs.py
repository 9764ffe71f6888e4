"""/v2.1/os-keypairs: list, show, create (or import) and delete a user's
key pairs; what a new key pair must be is in computed/keypairs.py."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify

from computed import keypairs
from computed.api import render
from computed.api.common import API_PREFIX, authorize, runtime
from computed.db import repository as repo
from shared.api import context, json_body
from shared.db import transaction

bp = Blueprint("keypairs", __name__, url_prefix=API_PREFIX)


@bp.get("/os-keypairs")
def list_keypairs():
    ctx = context()
    authorize("os-keypairs:index", ctx)
    with transaction(runtime().deps.sessions, write=False) as session:
        return jsonify({"keypairs": [render.keypair_summary(k) for k in
                                     repo.list_keypairs(session, ctx.user_id)]})


@bp.get("/os-keypairs/<name>")
def show_keypair(name):
    ctx = context()
    authorize("os-keypairs:show", ctx)
    with transaction(runtime().deps.sessions, write=False) as session:
        return jsonify({"keypair": render.keypair_detail(
            repo.get_keypair(session, ctx.user_id, name))})


@bp.post("/os-keypairs")
def create_keypair():
    ctx = context()
    authorize("os-keypairs:create", ctx)
    created = keypairs.create_keypair(runtime().deps, ctx, json_body().get("keypair"))
    keypair = created.keypair
    body = {"name": keypair.name, "public_key": keypair.public_key,
            "fingerprint": keypair.fingerprint, "user_id": keypair.user_id}
    if created.private_key is not None:
        body["private_key"] = created.private_key
    return jsonify({"keypair": body})


@bp.delete("/os-keypairs/<name>")
def delete_keypair(name):
    ctx = context()
    authorize("os-keypairs:delete", ctx)
    with transaction(runtime().deps.sessions) as session:
        session.delete(repo.get_keypair(session, ctx.user_id, name))
        runtime().service.notifier.notify(ctx, "keypair.delete", resource_type="keypair",
                                         resource_id=name,
                                         payload={"key_name": name}, session=session)
    return Response(status=202)
