"""EC2 credentials: /v3/users/{user_id}/credentials/OS-EC2, and the same
rows through Keystone's credential API, /v3/credentials (read only here).

Each handler asks policy, calls one method of identity.ec2.Ec2Credentials
and renders Keystone's JSON. Policy about one EC2 credential asks about its
owner, found by its access key before policy is asked (so an unknown key is
404 for everyone, as in Keystone).
"""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from identity.api import render
from identity.api.common import authorize, caller_token, service
from identity.ec2 import Ec2Credential, Ec2Credentials
from identity.models import Credential
from shared.api import context, json_body
from shared.errors import Forbidden

bp = Blueprint("identity_ec2_credentials", __name__)

COLLECTION = "/v3/users/<user_id>/credentials/OS-EC2"


def ec2() -> Ec2Credentials:
    return Ec2Credentials(service().sessions, service().notifier)


@bp.get(COLLECTION)
def list_ec2_credentials(user_id):
    authorize("ec2_list_credentials", {"user_id": user_id})
    found = ec2().list_for_user(caller_token(), user_id)
    return jsonify(render.collection("credentials", [ec2_credential(c) for c in found],
                                     request.path))


@bp.post(COLLECTION)
def create_ec2_credential(user_id):
    authorize("ec2_create_credential", {"target.credential.user_id": user_id})
    made = ec2().create(context(), caller_token(), user_id, json_body().get("tenant_id"))
    return jsonify({"credential": ec2_credential(made)}), 201


@bp.get(f"{COLLECTION}/<access>")
def show_ec2_credential(user_id, access):
    authorize("ec2_get_credential", {"target.credential.user_id": ec2().owner_of(access)})
    return jsonify({"credential": ec2_credential(ec2().get(caller_token(), user_id, access))})


@bp.delete(f"{COLLECTION}/<access>")
def delete_ec2_credential(user_id, access):
    authorize("ec2_delete_credential", {"target.credential.user_id": ec2().owner_of(access)})
    ec2().delete(context(), caller_token(), user_id, access)
    return Response(status=204)


@bp.get("/v3/credentials")
def list_credentials():
    """Admins see every credential; anyone else only their own (Keystone
    filters the list through identity:get_credential, one by one)."""
    authorize("list_credentials", {"target.credential.user_id": context().user_id})
    rows = ec2().list_credentials(request.args.get("user_id"), request.args.get("type"))
    policy, ctx = service().policy, context()
    caller = caller_token()
    visible = [row for row in rows
               if policy.allows("identity:get_credential",
                                {"target.credential.user_id": row.user_id}, ctx)
               and (not caller.application_credential_id or row.project_id == ctx.project_id)]
    return jsonify(render.collection("credentials", [credential(r) for r in visible],
                                     "/v3/credentials"))


@bp.get("/v3/credentials/<credential_id>")
def show_credential(credential_id):
    row = ec2().get_credential(credential_id)
    authorize("get_credential", {"target.credential.user_id": row.user_id})
    if caller_token().application_credential_id and row.project_id != context().project_id:
        raise Forbidden("You are not authorized to perform the requested action: credential "
                        "project does not match the project scope of the delegated token.")
    return jsonify({"credential": credential(row)})


def ec2_credential(found: Ec2Credential) -> dict:
    return {"user_id": found.user_id, "tenant_id": found.tenant_id, "access": found.access,
            "secret": found.secret, "trust_id": found.trust_id,
            "links": render.links(f"/v3/users/{found.user_id}/credentials/OS-EC2/"
                                  f"{found.access}")}


def credential(row: Credential) -> dict:
    return {"id": row.id, "user_id": row.user_id, "project_id": row.project_id,
            "type": row.type, "blob": row.blob, "links": render.links(f"/v3/credentials/{row.id}")}
