"""identity answers as the real Keystone 30 does, where `make compare`
(tests/compare/) found it did not: headers clients and caches read (Vary,
Location, WWW-Authenticate, no Content-Type on a 204, HEAD's headers), the
fields of tokens, users, roles and the catalog resources, and who may list
domains."""
from __future__ import annotations

import re
import uuid

import pytest
import requests

from tests.support.revocation import wait_out_revocation_cache


@pytest.fixture(scope="module")
def identity(stack) -> str:
    return stack.url("identity")


def admin_headers(admin_token: str) -> dict:
    return {"X-Auth-Token": admin_token}


def test_every_answer_varies_with_the_token(identity, demo_token):
    for response in (requests.get(identity + "/v3", timeout=30),
                     requests.get(identity + "/v3/auth/projects", timeout=30,
                                  headers={"X-Auth-Token": demo_token}),
                     requests.get(identity + "/v3/users", timeout=30)):
        assert response.headers["Vary"] == "X-Auth-Token", response.status_code


def test_a_401_sends_clients_to_identity_v3(stack, identity):
    response = requests.get(identity + "/v3/auth/projects", timeout=30)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == f'Keystone uri="{identity}/v3"'
    image = requests.get(stack.url("imaged") + "/v2/images", timeout=30)
    assert image.status_code == 401
    assert image.headers["WWW-Authenticate"] == f'Keystone uri="{identity}/v3"'


def test_version_list_names_v3_in_location(identity):
    response = requests.get(identity + "/", timeout=30, allow_redirects=False)
    assert response.status_code == 300
    assert response.headers["Location"] == identity + "/v3/"


def test_head_of_a_token_has_the_headers_of_get(stack, identity, admin_token):
    subject = stack.token("demo")
    headers = {"X-Auth-Token": admin_token, "X-Subject-Token": subject}
    got = requests.get(identity + "/v3/auth/tokens", headers=headers, timeout=30)
    head = requests.head(identity + "/v3/auth/tokens", headers=headers, timeout=30)
    assert head.status_code == got.status_code == 200
    assert head.content == b""
    assert head.headers["Content-Type"] == got.headers["Content-Type"] == "application/json"
    assert head.headers["Content-Length"] == got.headers["Content-Length"]
    assert head.headers["X-Subject-Token"] == subject


def test_a_204_has_no_content_type(stack, identity, admin_token):
    token = stack.token("demo")
    revoked = requests.delete(identity + "/v3/auth/tokens", timeout=30, headers={
        "X-Auth-Token": admin_token, "X-Subject-Token": token})
    assert revoked.status_code == 204
    assert "Content-Type" not in revoked.headers


def test_only_a_project_scoped_token_says_is_domain(stack, identity, admin_token):
    # A user without a default project: no scope asked, none given.
    name, password = f"unscoped-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    created = requests.post(identity + "/v3/users", headers=admin_headers(admin_token),
                            json={"user": {"name": name, "password": password}}, timeout=30)
    assert created.status_code == 201
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": name, "password": password, "domain": {"name": "Default"}}}}}}
    unscoped = requests.post(identity + "/v3/auth/tokens", json=body, timeout=30)
    assert unscoped.status_code == 201
    assert "project" not in unscoped.json()["token"]
    assert "is_domain" not in unscoped.json()["token"]
    assert stack.login("demo").json()["token"]["is_domain"] is False


def test_members_may_not_list_domains(identity, demo_token, admin_token):
    refused = requests.get(identity + "/v3/domains", headers={"X-Auth-Token": demo_token},
                           timeout=30)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == 403
    listed = requests.get(identity + "/v3/domains", headers=admin_headers(admin_token),
                          timeout=30)
    assert [d["id"] for d in listed.json()["domains"]] == ["default"]


def test_a_filtered_list_links_to_itself_with_its_filter(identity, admin_token):
    response = requests.get(identity + "/v3/users", params={"name": "demo"},
                            headers=admin_headers(admin_token), timeout=30)
    assert response.json()["links"]["self"] == identity + "/v3/users?name=demo"


def test_role_without_description_is_null_and_user_has_none(identity, admin_token):
    name = f"fidelity-{uuid.uuid4().hex[:8]}"
    role = requests.post(identity + "/v3/roles", json={"role": {"name": name}},
                         headers=admin_headers(admin_token), timeout=30)
    assert role.status_code == 201
    assert role.json()["role"]["description"] is None
    user = requests.post(identity + "/v3/users", json={"user": {"name": name}},
                         headers=admin_headers(admin_token), timeout=30)
    assert user.status_code == 201
    assert "description" not in user.json()["user"]
    described = requests.patch(f"{identity}/v3/users/{user.json()['user']['id']}",
                               json={"user": {"description": "a user"}},
                               headers=admin_headers(admin_token), timeout=30)
    assert described.json()["user"]["description"] == "a user"


def test_catalog_resources_have_links(identity, admin_token):
    for kind in ("services", "endpoints", "regions"):
        items = requests.get(f"{identity}/v3/{kind}", headers=admin_headers(admin_token),
                             timeout=30).json()[kind]
        assert items
        for item in items:
            assert item["links"]["self"] == f"{identity}/v3/{kind}/{item['id']}"


def test_revocation_events_use_keystone_times(stack, identity, admin_token):
    """Keystone writes issued_before and revoked_at as ISO 8601 UTC times and
    links the list; services read that format, so the revoked token is refused."""
    subject = stack.token("demo")
    audit_id = requests.get(identity + "/v3/auth/tokens", timeout=30, headers={
        **admin_headers(admin_token), "X-Subject-Token": subject}).json()["token"]["audit_ids"][0]
    revoke = requests.delete(identity + "/v3/auth/tokens", timeout=30,
                             headers={**admin_headers(admin_token), "X-Subject-Token": subject})
    assert revoke.status_code == 204
    answer = requests.get(identity + "/v3/OS-REVOKE/events", timeout=30,
                          headers=admin_headers(admin_token)).json()
    assert answer["links"] == {"self": identity + "/v3/OS-REVOKE/events",
                               "previous": None, "next": None}
    # As Keystone: one event names the token's audit id, one its audit chain
    # (other tests of the shared stack add events of their own, so pick ours).
    [by_id] = [e for e in answer["events"] if e.get("audit_id") == audit_id]
    [by_chain] = [e for e in answer["events"] if e.get("audit_chain_id") == audit_id]
    assert set(by_id) == {"audit_id", "issued_before", "revoked_at"}
    assert set(by_chain) == {"audit_chain_id", "issued_before", "revoked_at"}
    assert by_id["audit_id"] == by_chain["audit_chain_id"]
    pattern = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"
    for event in (by_id, by_chain):
        assert re.fullmatch(pattern, event["issued_before"]), event
        assert re.fullmatch(pattern, event["revoked_at"]), event
    def answer_to(url: str) -> int:
        return requests.get(url, timeout=30, headers={"X-Auth-Token": subject}).status_code

    assert answer_to(identity + "/v3/auth/projects") == 401  # identity: at once
    wait_out_revocation_cache()  # imaged: once its cached list has expired
    assert answer_to(stack.url("imaged") + "/v2/images") == 401


def test_implied_assignments_link_their_prior_role(identity, admin_token):
    """An effective assignment that a role implies links, as Keystone 30
    does, to the prior role's assignment and to /prior_role/{implied}/implies/{prior}."""
    headers = admin_headers(admin_token)
    roles = {r["name"]: r["id"] for r in requests.get(
        identity + "/v3/roles", headers=headers, timeout=30).json()["roles"]}
    demo = requests.get(identity + "/v3/users", params={"name": "demo"}, headers=headers,
                        timeout=30).json()["users"][0]
    listed = requests.get(identity + "/v3/role_assignments", timeout=30, headers=headers,
                          params={"user.id": demo["id"], "effective": ""}).json()
    by_role = {a["role"]["id"]: a for a in listed["role_assignments"]}
    member, reader = by_role[roles["member"]], by_role[roles["reader"]]
    project = reader["scope"]["project"]["id"]
    assert "prior_role" not in member["links"]
    granted = f"{identity}/v3/projects/{project}/users/{demo['id']}/roles/{roles['member']}"
    assert member["links"]["assignment"] == granted
    assert reader["links"] == {
        "assignment": granted,
        "prior_role": f"{identity}/v3/prior_role/{roles['reader']}/implies/{roles['member']}"}
