"""The unmodified python-openstackclient from PyPI against identity, with the
generated clouds.yaml."""
from __future__ import annotations

import json


def as_json(result) -> object:
    return json.loads(result.stdout)


def test_token_issue_as_demo(stack):
    token = as_json(stack.openstack("token", "issue", "-f", "json"))
    assert token["id"] and token["project_id"] and token["user_id"]


def test_admin_lists_projects_users_assignments_and_catalog(stack):
    admin = "pocketstack-admin"
    projects = {p["Name"] for p in as_json(stack.openstack("project", "list", "-f", "json",
                                                           cloud=admin))}
    assert {"admin", "demo", "service"} <= projects
    users = {u["Name"] for u in as_json(stack.openstack("user", "list", "-f", "json",
                                                        cloud=admin))}
    assert {"admin", "demo", "imaged", "computed", "volumed"} <= users
    assignments = as_json(stack.openstack("role", "assignment", "list", "--names", "-f", "json",
                                          cloud=admin))
    pairs = {(a["Role"], a["User"], a["Project"]) for a in assignments}
    assert ("admin", "admin@Default", "admin@Default") in pairs
    assert ("member", "demo@Default", "demo@Default") in pairs
    catalog = {c["Type"] for c in as_json(stack.openstack("catalog", "list", "-f", "json",
                                                          cloud=admin))}
    assert catalog == {"identity", "image", "compute", "block-storage", "network",
                       "dashboard"}


def test_admin_creates_a_student_with_the_client(stack):
    admin = "pocketstack-admin"
    stack.openstack("project", "create", "cli-lab", cloud=admin)
    stack.openstack("user", "create", "--project", "cli-lab", "--password", "pw-for-cli",
                    "cli-student", cloud=admin)
    stack.openstack("role", "add", "--project", "cli-lab", "--user", "cli-student", "member",
                    cloud=admin)
    listed = as_json(stack.openstack("role", "assignment", "list", "--user", "cli-student",
                                     "--names", "-f", "json", cloud=admin))
    assert [(a["Role"], a["Project"]) for a in listed] == [("member", "cli-lab@Default")]
    stack.openstack("role", "remove", "--project", "cli-lab", "--user", "cli-student",
                    "member", cloud=admin)
    stack.openstack("user", "delete", "cli-student", cloud=admin)
    stack.openstack("project", "delete", "cli-lab", cloud=admin)
    projects = {p["Name"] for p in as_json(stack.openstack("project", "list", "-f", "json",
                                                           cloud=admin))}
    assert "cli-lab" not in projects


def test_wrong_password_is_a_clear_401(stack):
    result = stack.openstack("--os-password", "wrong", "token", "issue", check=False)
    assert result.returncode != 0
    assert "HTTP 401" in result.stderr
    assert "invalid username, password or project" in result.stderr


def test_member_is_refused_user_list(stack):
    result = stack.openstack("user", "list", check=False)
    assert result.returncode != 0
    assert "403" in result.stderr
    assert "Policy does not allow identity:list_users" in result.stderr


def test_revoked_token_is_refused_by_the_client(stack):
    token = as_json(stack.openstack("token", "issue", "-f", "json"))["id"]
    stack.openstack("token", "revoke", token)
    token_env = {"OS_AUTH_TYPE": "token", "OS_TOKEN": token,
                 "OS_AUTH_URL": stack.url("identity"), "OS_PROJECT_NAME": "demo",
                 "OS_PROJECT_DOMAIN_NAME": "Default", "OS_IDENTITY_API_VERSION": "3"}
    works = stack.openstack("token", "issue", cloud=None, env={
        **token_env, "OS_TOKEN": stack.token("demo")}, check=False)
    assert works.returncode == 0, works.stderr
    result = stack.openstack("token", "issue", cloud=None, env=token_env, check=False)
    assert result.returncode != 0
    assert "401" in result.stderr
