"""identity over HTTP: application credentials (made, listed, shown, deleted,
logged in with, their tokens honoured and then refused by every service) and
EC2 credentials, with Keystone's status codes and policies."""
from __future__ import annotations

import time
import uuid

import pytest
import requests

from pocketstack.services import token_api_services
from tests.support.revocation import wait_out_revocation_cache

API_SERVICES = [service.name for service in token_api_services()]
EVENTS = "/pocketstack/v1/events"


def headers(token: str) -> dict:
    return {"X-Auth-Token": token}


def token_body(response) -> dict:
    assert response.status_code == 201, response.text
    return response.json()["token"]


@pytest.fixture(scope="module")
def identity(stack) -> str:
    return stack.url("identity")


@pytest.fixture(scope="module")
def demo_id(stack) -> str:
    return stack.login("demo").json()["token"]["user"]["id"]


@pytest.fixture(scope="module")
def admin_id(stack) -> str:
    return stack.login("admin").json()["token"]["user"]["id"]


def create(identity: str, token: str, user_id: str, **spec):
    spec.setdefault("name", f"ac-{uuid.uuid4().hex[:8]}")
    return requests.post(f"{identity}/v3/users/{user_id}/application_credentials",
                         headers=headers(token), json={"application_credential": spec})


def login(identity: str, spec: dict, scope: dict | None = None):
    body: dict = {"auth": {"identity": {"methods": ["application_credential"],
                                        "application_credential": spec}}}
    if scope is not None:
        body["auth"]["scope"] = scope
    return requests.post(f"{identity}/v3/auth/tokens", json=body)


def test_create_shows_the_secret_once_with_keystones_fields(identity, demo_token, demo_id):
    response = create(identity, demo_token, demo_id, name="ci-runner",
                      description="for the CI", expires_at="2099-01-01T00:00:00")
    assert response.status_code == 201, response.text
    made = response.json()["application_credential"]
    assert set(made) == {"id", "name", "description", "user_id", "project_id", "system",
                         "expires_at", "unrestricted", "roles", "links", "secret"}
    assert (made["name"], made["description"], made["user_id"], made["unrestricted"]) == \
        ("ci-runner", "for the CI", demo_id, None)  # left out: null, as Keystone
    assert made["expires_at"] == "2099-01-01T00:00:00.000000"
    assert sorted(r["name"] for r in made["roles"]) == ["member", "reader"]
    assert len(made["secret"]) == 86
    # As Keystone's running code writes it (its API reference shows the user too).
    assert made["links"]["self"] == f"{identity}/v3/application_credentials/{made['id']}"
    shown = requests.get(f"{identity}/v3/users/{demo_id}/application_credentials/{made['id']}",
                         headers=headers(demo_token))
    assert shown.status_code == 200
    assert "secret" not in shown.json()["application_credential"]
    listed = requests.get(f"{identity}/v3/users/{demo_id}/application_credentials",
                          params={"name": "ci-runner"}, headers=headers(demo_token)).json()
    assert [c["id"] for c in listed["application_credentials"]] == [made["id"]]
    assert "secret" not in listed["application_credentials"][0]
    assert requests.get(f"{identity}/v3/users/{demo_id}/application_credentials",
                        params={"name": "nope"}, headers=headers(demo_token)
                        ).json()["application_credentials"] == []


def test_create_errors_are_keystones(identity, demo_token, demo_id, admin_id):
    create(identity, demo_token, demo_id, name="twice")
    duplicate = create(identity, demo_token, demo_id, name="twice")
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["message"] == (
        "Conflict occurred attempting to store application_credential - Duplicate entry "
        "found with name twice.")
    unassigned = create(identity, demo_token, demo_id, roles=[{"name": "admin"}])
    assert unassigned.status_code == 400
    assert "Cannot create an application credential with unassigned role" in \
        unassigned.json()["error"]["message"]
    assert create(identity, demo_token, demo_id, roles=[{"name": "no-such-role"}]
                  ).status_code == 404
    past = create(identity, demo_token, demo_id, expires_at="2001-01-01T00:00:00")
    assert past.status_code == 400
    assert "'expires_at' must not be before now" in past.json()["error"]["message"]
    assert create(identity, demo_token, demo_id, expires_at="soon").status_code == 400
    assert create(identity, demo_token, demo_id, name="").status_code == 400
    assert create(identity, demo_token, demo_id, unrestricted="yes").status_code == 400
    for_someone_else = create(identity, demo_token, admin_id)
    assert for_someone_else.status_code == 403
    assert "identity:create_application_credential" in \
        for_someone_else.json()["error"]["message"]


def test_only_the_owner_and_admins_reach_a_credential(identity, stack, demo_token, demo_id,
                                                      admin_token, admin_id):
    made = create(identity, demo_token, demo_id).json()["application_credential"]
    mine = f"{identity}/v3/users/{demo_id}/application_credentials"
    assert requests.get(f"{mine}/{made['id']}", headers=headers(admin_token)).status_code == 200
    # Another user, even naming themselves in the path, is refused: policy
    # asks about the credential's owner.
    student = _student(stack, identity, admin_token)
    as_student = requests.get(f"{identity}/v3/users/{student['id']}/application_credentials/"
                              f"{made['id']}", headers=headers(student["token"]))
    assert as_student.status_code == 403
    assert requests.get(mine, headers=headers(student["token"])).status_code == 403
    assert requests.delete(f"{mine}/{made['id']}",
                           headers=headers(student["token"])).status_code == 403
    missing = requests.get(f"{mine}/{'0' * 32}", headers=headers(demo_token))
    assert missing.status_code == 404
    assert "Could not find Application Credential" in missing.json()["error"]["message"]
    admin_list = requests.get(f"{identity}/v3/users/{admin_id}/application_credentials",
                              headers=headers(demo_token))
    assert admin_list.status_code == 403
    assert requests.delete(f"{mine}/{made['id']}", headers=headers(admin_token)).status_code \
        == 204
    assert requests.get(f"{mine}/{made['id']}", headers=headers(demo_token)).status_code == 404


def test_login_by_id_and_by_name_gives_the_credentials_project_and_roles(
        identity, stack, demo_token, demo_id, admin_token, admin_id):
    made = create(identity, admin_token, admin_id, roles=[{"name": "reader"}]
                  ).json()["application_credential"]
    by_id = login(identity, {"id": made["id"], "secret": made["secret"]})
    token = token_body(by_id)
    assert token["methods"] == ["application_credential"]
    assert token["project"]["name"] == "admin"
    assert [r["name"] for r in token["roles"]] == ["reader"]
    assert token["application_credential"] == {"id": made["id"], "name": made["name"],
                                               "restricted": True}
    assert {entry["type"] for entry in token["catalog"]} >= {"image", "compute"}
    by_user_id = login(identity, {"name": made["name"], "secret": made["secret"],
                                  "user": {"id": admin_id}})
    assert token_body(by_user_id)["user"]["id"] == admin_id
    by_user_name = login(identity, {"name": made["name"], "secret": made["secret"],
                                    "user": {"name": "admin", "domain": {"id": "default"}}})
    assert token_body(by_user_name)["project"]["id"] == made["project_id"]
    # Validation shows the same object; a reader may not list users.
    subject = by_id.headers["X-Subject-Token"]
    validated = requests.get(f"{identity}/v3/auth/tokens",
                             headers={"X-Auth-Token": admin_token, "X-Subject-Token": subject})
    assert validated.json()["token"]["application_credential"]["id"] == made["id"]
    assert requests.get(f"{identity}/v3/users", headers=headers(subject)).status_code == 403


def test_login_failures(identity, demo_token, demo_id):
    made = create(identity, demo_token, demo_id).json()["application_credential"]
    wrong = login(identity, {"id": made["id"], "secret": "not-the-secret"})
    assert wrong.status_code == 401
    assert "X-Subject-Token" not in wrong.headers
    scoped = login(identity, {"id": made["id"], "secret": made["secret"]},
                   {"project": {"name": "demo", "domain": {"name": "Default"}}})
    assert scoped.status_code == 401
    assert "Application credentials cannot request a scope" in scoped.json()["error"]["message"]
    unknown = login(identity, {"id": "0" * 32, "secret": made["secret"]})
    assert unknown.status_code == 404
    no_user = login(identity, {"name": made["name"], "secret": made["secret"]})
    assert no_user.status_code == 400


def test_a_token_from_an_application_credential_token_stays_in_bounds(identity, demo_token,
                                                                      demo_id):
    made = create(identity, demo_token, demo_id, roles=[{"name": "reader"}]
                  ).json()["application_credential"]
    first = login(identity, {"id": made["id"], "secret": made["secret"]})
    subject = first.headers["X-Subject-Token"]
    again = requests.post(f"{identity}/v3/auth/tokens", json={"auth": {"identity": {
        "methods": ["token"], "token": {"id": subject}}}})
    token = token_body(again)
    assert [r["name"] for r in token["roles"]] == ["reader"]
    assert token["application_credential"]["id"] == made["id"]
    assert token["expires_at"] == first.json()["token"]["expires_at"]
    rescoped = requests.post(f"{identity}/v3/auth/tokens", json={"auth": {
        "identity": {"methods": ["token"], "token": {"id": subject}},
        "scope": {"project": {"name": "demo", "domain": {"name": "Default"}}}}})
    assert rescoped.status_code == 403


def test_expiry_of_the_credential_caps_the_token(identity, demo_token, demo_id):
    soon = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() + 600))
    made = create(identity, demo_token, demo_id, expires_at=soon
                  ).json()["application_credential"]
    token = token_body(login(identity, {"id": made["id"], "secret": made["secret"]}))
    assert token["expires_at"].startswith(soon)


def test_restricted_credentials_cannot_manage_credentials(identity, demo_id, demo_token,
                                                          stack):
    restricted = create(identity, demo_token, demo_id).json()["application_credential"]
    free = create(identity, demo_token, demo_id, unrestricted=True
                  ).json()["application_credential"]
    assert free["unrestricted"] is True
    restricted_token = login(identity, {"id": restricted["id"], "secret": restricted["secret"]}
                             ).headers["X-Subject-Token"]
    refused = create(identity, restricted_token, demo_id)
    assert refused.status_code == 403
    assert "not allowed for managing additional application credentials" in \
        refused.json()["error"]["message"]
    mine = f"{identity}/v3/users/{demo_id}/application_credentials"
    assert requests.delete(f"{mine}/{free['id']}",
                           headers=headers(restricted_token)).status_code == 403
    ec2 = requests.post(f"{identity}/v3/users/{demo_id}/credentials/OS-EC2",
                        headers=headers(restricted_token),
                        json={"tenant_id": restricted["project_id"]})
    assert ec2.status_code == 403
    # Listing and showing are allowed.
    assert requests.get(mine, headers=headers(restricted_token)).status_code == 200
    free_token = login(identity, {"id": free["id"], "secret": free["secret"]}
                       ).headers["X-Subject-Token"]
    assert create(identity, free_token, demo_id).status_code == 201
    assert requests.delete(f"{mine}/{restricted['id']}",
                           headers=headers(free_token)).status_code == 204


def test_every_service_honours_the_token_until_the_credential_is_deleted(identity, stack,
                                                                        demo_token, demo_id):
    made = create(identity, demo_token, demo_id).json()["application_credential"]
    token = login(identity, {"id": made["id"], "secret": made["secret"]}
                  ).headers["X-Subject-Token"]
    for service in API_SERVICES:
        response = requests.get(stack.url(service) + EVENTS, headers=headers(token))
        assert response.status_code == 200, service
    images = requests.get(stack.url("imaged") + "/v2/images", headers=headers(token))
    assert images.status_code == 200
    deleted = requests.delete(f"{identity}/v3/users/{demo_id}/application_credentials/"
                              f"{made['id']}", headers=headers(demo_token))
    assert deleted.status_code == 204
    wait_out_revocation_cache()
    for service in API_SERVICES:
        response = requests.get(stack.url(service) + EVENTS, headers=headers(token))
        assert response.status_code == 401, service
    check = requests.get(f"{identity}/v3/auth/tokens",
                         headers={"X-Auth-Token": demo_token, "X-Subject-Token": token})
    assert check.status_code == 404
    assert login(identity, {"id": made["id"], "secret": made["secret"]}).status_code == 404
    # The user's own token is untouched.
    assert requests.get(stack.url("imaged") + "/v2/images",
                        headers=headers(demo_token)).status_code == 200


def test_losing_a_role_ends_the_tokens_and_shrinks_the_next(identity, stack, admin_token):
    student = _student(stack, identity, admin_token, roles=["member", "reader"])
    made = create(identity, student["token"], student["id"]).json()["application_credential"]
    token = login(identity, {"id": made["id"], "secret": made["secret"]}
                  ).headers["X-Subject-Token"]
    roles = {r["name"]: r["id"] for r in requests.get(
        f"{identity}/v3/roles", headers=headers(admin_token)).json()["roles"]}
    grant = f"{identity}/v3/projects/{student['project_id']}/users/{student['id']}/roles"
    assert requests.delete(f"{grant}/{roles['member']}",
                           headers=headers(admin_token)).status_code == 204
    wait_out_revocation_cache()
    assert requests.get(stack.url("imaged") + "/v2/images",
                        headers=headers(token)).status_code == 401
    again = token_body(login(identity, {"id": made["id"], "secret": made["secret"]}))
    assert [r["name"] for r in again["roles"]] == ["reader"]
    assert requests.delete(f"{grant}/{roles['reader']}",
                           headers=headers(admin_token)).status_code == 204
    assert login(identity, {"id": made["id"], "secret": made["secret"]}).status_code == 401


def test_deleting_the_user_deletes_their_credentials(identity, stack, admin_token):
    student = _student(stack, identity, admin_token)
    made = create(identity, student["token"], student["id"]).json()["application_credential"]
    assert requests.delete(f"{identity}/v3/users/{student['id']}",
                           headers=headers(admin_token)).status_code == 204
    assert login(identity, {"id": made["id"], "secret": made["secret"]}).status_code == 404


# --- EC2 credentials -----------------------------------------------------------------------
def ec2_url(identity: str, user_id: str) -> str:
    return f"{identity}/v3/users/{user_id}/credentials/OS-EC2"


def test_ec2_credentials_lifecycle(identity, demo_token, demo_id):
    project_id = requests.get(f"{identity}/v3/auth/projects", headers=headers(demo_token)
                              ).json()["projects"][0]["id"]
    made = requests.post(ec2_url(identity, demo_id), headers=headers(demo_token),
                         json={"tenant_id": project_id})
    assert made.status_code == 201, made.text
    credential = made.json()["credential"]
    assert set(credential) == {"user_id", "tenant_id", "access", "secret", "trust_id", "links"}
    assert (credential["user_id"], credential["tenant_id"], credential["trust_id"]) == \
        (demo_id, project_id, None)
    one = f"{ec2_url(identity, demo_id)}/{credential['access']}"
    assert credential["links"]["self"] == one
    assert requests.get(one, headers=headers(demo_token)).json()["credential"] == credential
    listed = requests.get(ec2_url(identity, demo_id), headers=headers(demo_token)).json()
    assert credential in listed["credentials"]
    as_v3 = requests.get(f"{identity}/v3/credentials", params={"type": "ec2"},
                         headers=headers(demo_token)).json()["credentials"]
    (row,) = [c for c in as_v3 if credential["access"] in c["blob"]]
    assert (row["type"], row["user_id"], row["project_id"]) == ("ec2", demo_id, project_id)
    assert requests.delete(one, headers=headers(demo_token)).status_code == 204
    gone = requests.get(one, headers=headers(demo_token))
    assert gone.status_code == 404
    assert "Could not find credential" in gone.json()["error"]["message"]


def test_ec2_errors_and_policies(identity, stack, demo_token, demo_id, admin_token, admin_id):
    assert requests.post(ec2_url(identity, demo_id), headers=headers(demo_token),
                         json={"tenant_id": "no-such-project"}).status_code == 404
    assert requests.post(ec2_url(identity, "0" * 32), headers=headers(admin_token),
                         json={"tenant_id": "x"}).status_code == 404
    # A member makes their own, not another user's; an admin makes anyone's.
    admin_project = stack.login("admin").json()["token"]["project"]["id"]
    assert requests.post(ec2_url(identity, admin_id), headers=headers(demo_token),
                         json={"tenant_id": admin_project}).status_code == 403
    made = requests.post(ec2_url(identity, demo_id), headers=headers(admin_token),
                         json={"tenant_id": admin_project})
    assert made.status_code == 201
    access = made.json()["credential"]["access"]
    assert requests.get(ec2_url(identity, admin_id), headers=headers(demo_token)
                        ).status_code == 403
    admin_cred = requests.post(ec2_url(identity, admin_id), headers=headers(admin_token),
                               json={"tenant_id": admin_project}).json()["credential"]
    # Reaching another user's key through one's own path is refused.
    theirs = f"{ec2_url(identity, demo_id)}/{admin_cred['access']}"
    assert requests.get(theirs, headers=headers(demo_token)).status_code == 403
    assert requests.delete(theirs, headers=headers(demo_token)).status_code == 403
    v3 = requests.get(f"{identity}/v3/credentials", headers=headers(demo_token)).json()
    assert {c["user_id"] for c in v3["credentials"]} == {demo_id}
    assert requests.get(f"{identity}/v3/credentials/{v3['credentials'][0]['id']}",
                        headers=headers(demo_token)).status_code == 200
    everything = requests.get(f"{identity}/v3/credentials", headers=headers(admin_token)).json()
    assert {demo_id, admin_id} <= {c["user_id"] for c in everything["credentials"]}
    assert requests.delete(f"{ec2_url(identity, demo_id)}/{access}",
                           headers=headers(demo_token)).status_code == 204


def _student(stack, identity: str, admin_token: str, roles=("member",)) -> dict:
    """A new user with a project of their own and a token for it."""
    name = f"student-{uuid.uuid4().hex[:8]}"
    h = headers(admin_token)
    project = requests.post(f"{identity}/v3/projects", headers=h,
                            json={"project": {"name": name}}).json()["project"]
    user = requests.post(f"{identity}/v3/users", headers=h, json={"user": {
        "name": name, "password": "pw-" + name, "default_project_id": project["id"]}}
    ).json()["user"]
    all_roles = {r["name"]: r["id"] for r in requests.get(f"{identity}/v3/roles",
                                                          headers=h).json()["roles"]}
    for role in roles:
        assert requests.put(f"{identity}/v3/projects/{project['id']}/users/{user['id']}/roles/"
                            f"{all_roles[role]}", headers=h).status_code == 204
    token = stack.login(name, name, password="pw-" + name).headers["X-Subject-Token"]
    return {"id": user["id"], "project_id": project["id"], "token": token}
