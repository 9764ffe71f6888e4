"""identity's routes (Keystone v3). Keystone does not hide what a caller may
not touch: a refused call is 403, never 404, so no case here has `seen`."""
from __future__ import annotations

from functools import partial

from tests.support.rolematrix.model import Case

C = partial(Case, "identity")
ADMIN_ONLY = {"list_domains", "list_projects", "create_project", "update_project",
              "delete_project", "list_users", "create_user", "update_user", "delete_user",
              "list_roles", "get_role", "create_role", "delete_role", "create_grant",
              "check_grant", "revoke_grant", "list_grants", "list_role_assignments",
              "list_services", "list_endpoints"}
GRANT = "/v3/projects/<project_id>/users/<user_id>/roles/<role_id>"
APPCREDS = "/v3/users/<user_id>/application_credentials"
EC2 = "/v3/users/<user_id>/credentials/OS-EC2"


def rule(name: str) -> str:
    return f"identity:{name}"


def login_body() -> dict:
    return {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "id": "{member_user}", "password": "{member_password}"}}},
        "scope": {"project": {"id": "{alpha}"}}}}


CASES = [
    C("GET /", "/", public=True, ok=(300,)),
    C("GET /v3", "/v3", public=True),
    C("GET /v3/", "/v3/", public=True),
    C("POST /v3/auth/tokens", "/v3/auth/tokens", public=True, ok=(201,), json=login_body()),
    C("GET /v3/auth/tokens", "/v3/auth/tokens", rule("validate_token"),
      target={"token.user_id": "{member_user}"}, headers={"X-Subject-Token": "{fresh}"},
      fresh="token"),
    C("DELETE /v3/auth/tokens", "/v3/auth/tokens", rule("revoke_token"),
      target={"token.user_id": "{member_user}"}, headers={"X-Subject-Token": "{fresh}"},
      fresh="token", ok=(204,)),
    C("GET /v3/auth/catalog", "/v3/auth/catalog"),
    C("GET /v3/auth/projects", "/v3/auth/projects"),
    C("GET /v3/OS-REVOKE/events", "/v3/OS-REVOKE/events", rule("list_revoke_events")),
    C("GET /v3/credentials", "/v3/credentials", rule("list_credentials"),
      target={"target.credential.user_id": "{own_user}"}),
    C("GET /v3/credentials/<credential_id>", "/v3/credentials/{credential}",
      rule("get_credential"), target={"target.credential.user_id": "{member_user}"}),
    C("GET /v3/domains", "/v3/domains", rule("list_domains")),
    C("GET /v3/domains/<domain_id>", "/v3/domains/default",
      why="Keystone lets a user scoped to a project of the domain read it"),
    C("GET /v3/endpoints", "/v3/endpoints", rule("list_endpoints")),
    C("GET /v3/services", "/v3/services", rule("list_services")),
    C("GET /v3/regions", "/v3/regions", why="Keystone's list_regions is open to any token"),
    # projects
    C("GET /v3/projects", "/v3/projects", rule("list_projects")),
    C("POST /v3/projects", "/v3/projects", rule("create_project"), ok=(201,),
      json={"project": {"name": "{unique}", "domain_id": "default"}}),
    C("GET /v3/projects/<project_id>", "/v3/projects/{alpha}", rule("get_project"),
      target={"target.project.id": "{alpha}"}),
    C("PATCH /v3/projects/<project_id>", "/v3/projects/{fresh}", rule("update_project"),
      fresh="project", json={"project": {"description": "changed"}}),
    C("DELETE /v3/projects/<project_id>", "/v3/projects/{fresh}", rule("delete_project"),
      fresh="project", ok=(204,)),
    # grants and assignments
    C("GET /v3/projects/<project_id>/users/<user_id>/roles",
      "/v3/projects/{alpha}/users/{member_user}/roles", rule("list_grants")),
    C(f"PUT {GRANT}", "/v3/projects/{beta}/users/{fresh}/roles/{role_reader}",
      rule("create_grant"), fresh="user", ok=(204,)),
    C(f"GET {GRANT}", "/v3/projects/{alpha}/users/{member_user}/roles/{role_member}",
      rule("check_grant"), ok=(204,)),
    C(f"DELETE {GRANT}", "/v3/projects/{alpha}/users/{fresh}/roles/{role_reader}",
      rule("revoke_grant"), fresh="granted_user", ok=(204,)),
    C("GET /v3/role_assignments", "/v3/role_assignments?scope.project.id={alpha}",
      rule("list_role_assignments")),
    # roles
    C("GET /v3/roles", "/v3/roles", rule("list_roles")),
    C("POST /v3/roles", "/v3/roles", rule("create_role"), ok=(201,),
      json={"role": {"name": "{unique}"}}),
    C("GET /v3/roles/<role_id>", "/v3/roles/{role_member}", rule("get_role")),
    C("DELETE /v3/roles/<role_id>", "/v3/roles/{fresh}", rule("delete_role"), fresh="role",
      ok=(204,)),
    # users
    C("GET /v3/users", "/v3/users", rule("list_users")),
    C("POST /v3/users", "/v3/users", rule("create_user"), ok=(201,),
      json={"user": {"name": "{unique}", "domain_id": "default"}}),
    C("GET /v3/users/<user_id>", "/v3/users/{member_user}", rule("get_user"),
      target={"target.user.id": "{member_user}"}),
    C("PATCH /v3/users/<user_id>", "/v3/users/{fresh}", rule("update_user"), fresh="user",
      json={"user": {"email": "changed@example.org"}}),
    C("DELETE /v3/users/<user_id>", "/v3/users/{fresh}", rule("delete_user"), fresh="user",
      ok=(204,)),
    C("GET /v3/users/<user_id>/projects", "/v3/users/{member_user}/projects",
      rule("list_user_projects"), target={"target.user.id": "{member_user}"}),
    # application credentials (the alpha member's)
    C(f"GET {APPCREDS}", "/v3/users/{member_user}/application_credentials",
      rule("list_application_credentials"), target={"user_id": "{member_user}"}),
    C(f"POST {APPCREDS}", "/v3/users/{member_user}/application_credentials",
      rule("create_application_credential"), target={"user_id": "{member_user}"},
      ok=(201,), json={"application_credential": {"name": "{unique}"}}),
    C(f"GET {APPCREDS}/<credential_id>",
      "/v3/users/{member_user}/application_credentials/{appcred}",
      rule("get_application_credential"), target={"user_id": "{member_user}"}),
    C(f"DELETE {APPCREDS}/<credential_id>",
      "/v3/users/{member_user}/application_credentials/{fresh}",
      rule("delete_application_credential"), target={"user_id": "{member_user}"},
      fresh="appcred", ok=(204,)),
    # EC2 credentials (the alpha member's)
    C(f"GET {EC2}", "/v3/users/{member_user}/credentials/OS-EC2",
      rule("ec2_list_credentials"), target={"user_id": "{member_user}"}),
    C(f"POST {EC2}", "/v3/users/{member_user}/credentials/OS-EC2",
      rule("ec2_create_credential"), target={"target.credential.user_id": "{member_user}"},
      ok=(201,), json={"tenant_id": "{alpha}"}),
    C(f"GET {EC2}/<access>", "/v3/users/{member_user}/credentials/OS-EC2/{ec2_access}",
      rule("ec2_get_credential"), target={"target.credential.user_id": "{member_user}"}),
    C(f"DELETE {EC2}/<access>", "/v3/users/{member_user}/credentials/OS-EC2/{fresh}",
      rule("ec2_delete_credential"), target={"target.credential.user_id": "{member_user}"},
      fresh="ec2", ok=(204,)),
    C("GET /pocketstack/v1/events", "/pocketstack/v1/events", "events:list"),
]
