"""An operator's policy file changes a single rule, without code changes or
a restart; YAML (policy.yaml) and the older JSON form are both read."""
from __future__ import annotations

import json

import requests


def list_users(stack, token):
    return requests.get(stack.url("identity") + "/v3/users", headers={"X-Auth-Token": token})


def test_member_is_allowed_after_the_operator_grants_it(stack):
    token = stack.token("demo")
    etc = stack.state_dir / "etc"
    yaml_file, json_file = etc / "identity-policy.yaml", etc / "identity-policy.json"
    try:
        refused = list_users(stack, token)
        assert refused.status_code == 403
        assert "identity:list_users" in refused.json()["error"]["message"]

        yaml_file.write_text('# instructors may let students see users\n'
                             '"identity:list_users": "role:member"\n')
        allowed = list_users(stack, token)
        assert allowed.status_code == 200
        assert "demo" in {user["name"] for user in allowed.json()["users"]}
        # Only the one rule changed: creating a user is still admin-only.
        create = requests.post(stack.url("identity") + "/v3/users",
                               headers={"X-Auth-Token": token},
                               json={"user": {"name": "sneaky"}})
        assert create.status_code == 403

        yaml_file.unlink()
        assert list_users(stack, token).status_code == 403

        json_file.write_text(json.dumps({"identity:list_users": "role:reader"}))
        assert list_users(stack, token).status_code == 200
    finally:
        yaml_file.unlink(missing_ok=True)
        json_file.unlink(missing_ok=True)
    assert list_users(stack, token).status_code == 403


def test_rules_use_and_or_not(stack):
    token = stack.token("demo")
    policy = stack.state_dir / "etc" / "identity-policy.yaml"
    try:
        policy.write_text('"identity:list_users": "role:member and not role:reader"\n')
        assert list_users(stack, token).status_code == 403  # member implies reader
        policy.write_text('"identity:list_users": "rule:admin_required or '
                          '(role:reader and project_id:%(project_id)s)"\n')
        # The target has no project_id, so the second branch cannot match.
        assert list_users(stack, token).status_code == 403
        policy.write_text('"identity:list_users": "rule:admin_required or role:reader"\n')
        assert list_users(stack, token).status_code == 200
    finally:
        policy.unlink(missing_ok=True)
