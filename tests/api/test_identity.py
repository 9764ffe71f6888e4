"""identity over HTTP: discovery, tokens, revocation, admin resources, events."""
from __future__ import annotations

import sqlite3
import time

import requests

from shared.paths import StateLayout
from shared.tokens import KeyRepository, TokenCodec, TokenData


def auth_headers(token: str) -> dict:
    return {"X-Auth-Token": token}


def test_version_discovery_points_at_v3(stack):
    response = requests.get(stack.url("identity") + "/")
    assert response.status_code == 300
    (version,) = response.json()["versions"]["values"]
    assert version["status"] == "stable"
    assert version["links"][0]["href"] == stack.url("identity") + "/v3/"
    assert requests.get(stack.url("identity") + "/v3").json()["version"]["id"] == version["id"]


def test_token_for_demo_has_catalog_roles_and_expiry(stack):
    before = time.time()
    response = stack.login("demo")
    assert response.status_code == 201
    assert response.headers["X-Subject-Token"]
    token = response.json()["token"]
    assert token["project"]["name"] == "demo"
    # member implies reader
    assert sorted(role["name"] for role in token["roles"]) == ["member", "reader"]
    types = {entry["type"]: entry for entry in token["catalog"]}
    assert set(types) == {"identity", "image", "compute", "block-storage", "network",
                          "dashboard"}
    for entry in types.values():
        assert {e["region_id"] for e in entry["endpoints"]} == {"RegionOne"}
    volume_url = types["block-storage"]["endpoints"][0]["url"]
    assert volume_url.endswith("/v3/" + token["project"]["id"])
    expires = time.mktime(time.strptime(token["expires_at"][:19], "%Y-%m-%dT%H:%M:%S")) \
        - time.timezone
    assert 3590 <= expires - before <= 3610  # one hour by default


def test_admin_token_has_all_three_default_roles(stack):
    roles = {role["name"] for role in stack.login("admin").json()["token"]["roles"]}
    assert roles == {"admin", "member", "reader"}


def test_wrong_password_gets_401_in_keystone_format(stack):
    response = stack.login("demo", password="not-the-password")
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == 401 and error["title"] == "Unauthorized"
    assert "invalid username, password or project" in error["message"]
    assert "X-Subject-Token" not in response.headers


def test_login_to_a_project_without_a_role_is_refused(stack):
    response = stack.login("demo", project="admin")
    assert response.status_code == 401


def test_validate_own_and_others_tokens(stack, admin_token):
    demo_token = stack.token("demo")
    as_admin = requests.get(stack.url("identity") + "/v3/auth/tokens",
                            headers={"X-Auth-Token": admin_token, "X-Subject-Token": demo_token})
    assert as_admin.status_code == 200
    assert as_admin.json()["token"]["user"]["name"] == "demo"
    head = requests.head(stack.url("identity") + "/v3/auth/tokens",
                         headers={"X-Auth-Token": demo_token, "X-Subject-Token": demo_token})
    assert head.status_code == 200
    other = requests.get(stack.url("identity") + "/v3/auth/tokens",
                         headers={"X-Auth-Token": demo_token, "X-Subject-Token": admin_token})
    assert other.status_code == 403


def test_revoked_token_is_refused(stack, admin_token):
    token = stack.token("demo")
    url = stack.url("identity")
    assert requests.get(f"{url}/v3/auth/projects", headers=auth_headers(token)).status_code == 200
    revoke = requests.delete(f"{url}/v3/auth/tokens",
                             headers={"X-Auth-Token": token, "X-Subject-Token": token})
    assert revoke.status_code == 204
    refused = requests.get(f"{url}/v3/auth/projects", headers=auth_headers(token))
    assert refused.status_code == 401
    assert "revoked" in refused.json()["error"]["message"]
    check = requests.get(f"{url}/v3/auth/tokens",
                         headers={"X-Auth-Token": admin_token, "X-Subject-Token": token})
    assert check.status_code == 404


def test_expired_and_forged_tokens_are_refused(stack):
    codec = TokenCodec(KeyRepository(StateLayout(stack.state_dir).fernet_keys))
    expired = codec.encode(TokenData(user_id="u", user_name="demo", project_id="p",
                                     project_name="demo", roles=["admin"],
                                     expires_at=time.time() - 1, issued_at=time.time() - 60))
    url = stack.url("identity") + "/v3/auth/projects"
    response = requests.get(url, headers=auth_headers(expired))
    assert response.status_code == 401 and "expired" in response.json()["error"]["message"]
    forged = stack.token("demo")[:-8] + "AAAAAAAA"
    assert requests.get(url, headers=auth_headers(forged)).status_code == 401
    missing = requests.get(url)
    assert missing.status_code == 401
    assert "X-Auth-Token" in missing.json()["error"]["message"]


def test_member_is_refused_admin_resources(stack, demo_token):
    for path in ("/v3/users", "/v3/projects", "/v3/role_assignments", "/v3/roles"):
        response = requests.get(stack.url("identity") + path, headers=auth_headers(demo_token))
        assert response.status_code == 403, path
        assert "identity:" in response.json()["error"]["message"]


def test_admin_manages_projects_users_roles_and_assignments(stack, admin_token):
    url, headers = stack.url("identity"), auth_headers(admin_token)
    project = requests.post(f"{url}/v3/projects", headers=headers,
                            json={"project": {"name": "lab1", "description": "a lab"}})
    assert project.status_code == 201
    project_id = project.json()["project"]["id"]
    duplicate = requests.post(f"{url}/v3/projects", headers=headers,
                              json={"project": {"name": "lab1"}})
    assert duplicate.status_code == 409
    user = requests.post(f"{url}/v3/users", headers=headers, json={"user": {
        "name": "student1", "password": "s3cret-pass", "default_project_id": project_id}})
    assert user.status_code == 201
    user_id = user.json()["user"]["id"]
    assert "password" not in user.json()["user"]
    role = requests.post(f"{url}/v3/roles", headers=headers, json={"role": {"name": "observer"}})
    assert role.status_code == 201
    role_id = role.json()["role"]["id"]
    roles = {r["name"]: r["id"] for r in requests.get(f"{url}/v3/roles",
                                                      headers=headers).json()["roles"]}
    assert {"admin", "member", "reader", "observer"} <= set(roles)

    # Without a role the new user cannot log in to the project...
    assert stack.login("student1", "lab1", password="s3cret-pass").status_code == 401
    grant = f"{url}/v3/projects/{project_id}/users/{user_id}/roles/{roles['member']}"
    assert requests.put(grant, headers=headers).status_code == 204
    assert requests.head(grant, headers=headers).status_code == 204
    # ...with member it can, and gets reader too.
    login = stack.login("student1", "lab1", password="s3cret-pass")
    assert login.status_code == 201
    assert {r["name"] for r in login.json()["token"]["roles"]} == {"member", "reader"}
    student_token = login.headers["X-Subject-Token"]

    assignments = requests.get(f"{url}/v3/role_assignments",
                               params={"user.id": user_id, "include_names": "1"},
                               headers=headers).json()["role_assignments"]
    assert [(a["role"]["name"], a["scope"]["project"]["name"]) for a in assignments] == \
        [("member", "lab1")]
    effective = requests.get(f"{url}/v3/role_assignments",
                             params={"user.id": user_id, "effective": ""},
                             headers=headers).json()["role_assignments"]
    assert {a["role"]["id"] for a in effective} == {roles["member"], roles["reader"]}

    # Taking the role away revokes the user's tokens on that project.
    assert requests.delete(grant, headers=headers).status_code == 204
    assert requests.get(f"{url}/v3/auth/projects",
                        headers=auth_headers(student_token)).status_code == 401
    assert requests.head(grant, headers=headers).status_code == 404

    for path in (f"/v3/users/{user_id}", f"/v3/projects/{project_id}", f"/v3/roles/{role_id}"):
        assert requests.delete(url + path, headers=headers).status_code == 204
        assert requests.get(url + path, headers=headers).status_code == 404


def test_default_roles_cannot_be_deleted(stack, admin_token):
    headers = auth_headers(admin_token)
    roles = requests.get(stack.url("identity") + "/v3/roles", params={"name": "member"},
                         headers=headers).json()["roles"]
    response = requests.delete(stack.url("identity") + f"/v3/roles/{roles[0]['id']}",
                               headers=headers)
    assert response.status_code == 403


def test_every_response_has_a_request_id_that_is_logged(stack, demo_token):
    response = requests.get(stack.url("identity") + "/v3/auth/projects",
                            headers=auth_headers(demo_token))
    request_id = response.headers["x-openstack-request-id"]
    assert request_id.startswith("req-")
    log = (stack.state_dir / "log" / "identity.log").read_text()
    assert request_id in log
    refused = requests.get(stack.url("identity") + "/v3/users")
    assert refused.headers["x-openstack-request-id"].startswith("req-")


def test_events_record_changes_with_filters(stack, admin_token):
    url, headers = stack.url("identity"), auth_headers(admin_token)
    started = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - 1))
    created = requests.post(f"{url}/v3/projects", headers=headers,
                            json={"project": {"name": "evented"}}).json()["project"]
    requests.delete(f"{url}/v3/projects/{created['id']}", headers=headers)
    events = requests.get(f"{url}/pocketstack/v1/events", headers=headers,
                          params={"resource_id": created["id"]}).json()["events"]
    assert [e["event_type"] for e in events] == ["identity.project.deleted",
                                                 "identity.project.created"]
    assert all(e["request_id"].startswith("req-") for e in events)
    typed = requests.get(f"{url}/pocketstack/v1/events", headers=headers,
                         params={"type": "identity.project.*", "since": started}).json()["events"]
    assert {e["resource_id"] for e in typed} >= {created["id"]}
    future = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() + 3600))
    assert requests.get(f"{url}/pocketstack/v1/events", headers=headers,
                        params={"since": future}).json()["events"] == []
    bad = requests.get(f"{url}/pocketstack/v1/events", headers=headers,
                       params={"since": "yesterday"})
    assert bad.status_code == 400


def test_a_member_reads_only_its_own_projects_events(stack, demo_token):
    demo_project = stack.login("demo").json()["token"]["project"]["id"]
    events = requests.get(stack.url("identity") + "/pocketstack/v1/events",
                          headers=auth_headers(demo_token), params={"limit": 1000}).json()
    assert events["events"], "logins of demo are recorded"
    assert {e["project_id"] for e in events["events"]} == {demo_project}


def test_secrets_are_private_and_passwords_hashed(stack):
    etc = stack.state_dir / "etc"
    assert (etc.stat().st_mode & 0o777) == 0o700
    for name in ("credentials", "clouds.yaml", "identity.conf", "fernet-keys/0"):
        assert ((etc / name).stat().st_mode & 0o777) == 0o600, name
    database = sqlite3.connect(stack.state_dir / "lib" / "identity.sqlite")
    hashes = dict(database.execute("SELECT name, password_hash FROM users"))
    database.close()
    demo_password = stack.password("demo")
    assert hashes["demo"].startswith("$2b$") and demo_password not in hashes["demo"]
    logs = "".join(p.read_text(errors="replace") for p in (stack.state_dir / "log").glob("*"))
    for user in ("admin", "demo", "imaged", "computed", "volumed"):
        assert stack.password(user) not in logs


def test_role_assignment_flags_read_as_keystone_reads_them(stack, admin_token):
    """?effective and ?include_names as Keystone's running code reads them:
    absent or `0` is false, any other value (none included) is true."""
    url, headers = stack.url("identity"), auth_headers(admin_token)
    demo_id = requests.get(f"{url}/v3/users", params={"name": "demo"},
                           headers=headers).json()["users"][0]["id"]

    def assignments(**flags) -> requests.Response:
        return requests.get(f"{url}/v3/role_assignments", headers=headers,
                            params={"user.id": demo_id, **flags})

    def role_names(**flags) -> list:
        response = assignments(include_names="yes", **flags)
        assert response.status_code == 200, response.text
        return sorted(a["role"]["name"] for a in response.json()["role_assignments"])

    assert role_names() == ["member"]
    assert role_names(effective="") == role_names(effective="yes") == ["member", "reader"]
    assert role_names(effective="false") == ["member", "reader"]  # Keystone: only 0 is false
    assert role_names(effective="0") == ["member"]
    plain = assignments(include_names="0").json()["role_assignments"]
    assert "name" not in plain[0]["role"] and "name" not in plain[0]["user"]
    named = assignments(include_names="maybe").json()["role_assignments"]
    assert named[0]["role"]["name"] == "member"


def test_enabled_must_be_a_boolean(stack, admin_token):
    url, headers = stack.url("identity"), auth_headers(admin_token)
    refused = requests.post(f"{url}/v3/projects", headers=headers,
                            json={"project": {"name": "lab-maybe", "enabled": "maybe"}})
    assert refused.status_code == 400, refused.text
    assert "Invalid value for enabled" in refused.json()["error"]["message"]
    assert requests.get(f"{url}/v3/projects", params={"name": "lab-maybe"},
                        headers=headers).json()["projects"] == []
