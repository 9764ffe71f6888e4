"""Application credentials: /v3/users/{user_id}/application_credentials.

Each handler asks policy, calls one method of
identity.appcreds.ApplicationCredentials and renders Keystone's JSON. Policy
about one credential asks about its owner, not the user named in the path
(Keystone's _update_request_user_id_attribute), so nobody reaches another
user's credential by putting their own id in the path.
"""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, jsonify, request

from identity.api import render
from identity.api.common import authorize, caller_token, service
from identity.appcreds import AppCred, ApplicationCredentials
from shared.api import context, json_body
from shared.errors import BadRequest

bp = Blueprint("identity_application_credentials", __name__)

COLLECTION = "/v3/users/<user_id>/application_credentials"


def credentials() -> ApplicationCredentials:
    svc = service()
    return ApplicationCredentials(svc.sessions, svc.notifier,
                                  password_hash_rounds=svc.conf.identity.password_hash_rounds,
                                  token_lifetime=svc.conf.token.expiration)


@bp.get(COLLECTION)
def list_application_credentials(user_id):
    authorize("list_application_credentials", {"user_id": user_id})
    found = credentials().list_for_user(user_id, request.args.get("name"))
    return jsonify(render.collection("application_credentials",
                                     [application_credential(c) for c in found], request.path))


@bp.post(COLLECTION)
def create_application_credential(user_id):
    authorize("create_application_credential", {"user_id": user_id})
    spec = json_body().get("application_credential")
    if not isinstance(spec, dict):
        raise BadRequest("The request body must hold the application_credential object.")
    made = credentials().create(context(), caller_token(), user_id, spec)
    return jsonify({"application_credential": application_credential(made)}), 201


@bp.get(f"{COLLECTION}/<credential_id>")
def show_application_credential(user_id, credential_id):
    owner = credentials().owner_of(credential_id) or user_id
    authorize("get_application_credential", {"user_id": owner})
    return jsonify({"application_credential":
                    application_credential(credentials().get(credential_id))})


@bp.delete(f"{COLLECTION}/<credential_id>")
def delete_application_credential(user_id, credential_id):
    owner = credentials().owner_of(credential_id) or user_id
    authorize("delete_application_credential", {"user_id": owner})
    credentials().delete(context(), caller_token(), credential_id)
    return Response(status=204)


def application_credential(credential: AppCred) -> dict:
    """Keystone's shape: the secret only in the answer to the create."""
    row = credential.row
    body: dict = {
        "id": row.id, "name": row.name, "description": row.description,
        "user_id": row.user_id, "project_id": row.project_id, "system": None,
        "expires_at": _expiry(row.expires_at), "unrestricted": row.unrestricted,
        "roles": [{"id": r.id, "name": r.name, "domain_id": None,
                   "description": r.description, "options": {}} for r in credential.roles],
        # Keystone's running code writes this link without the user (its
        # resource has no api_prefix), unlike its API reference's samples.
        "links": render.links(f"/v3/application_credentials/{row.id}")}
    if credential.secret is not None:
        body["secret"] = credential.secret
    return body


def _expiry(timestamp: float | None) -> str | None:
    """As Keystone's JSON writes a datetime: microseconds, no zone (UTC)."""
    if timestamp is None:
        return None
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
