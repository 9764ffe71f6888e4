"""The unmodified python-openstackclient against identity's application
credentials and EC2 credentials: made, listed, shown and deleted with the
client, and logged in with (clouds.yaml with auth_type
v3applicationcredential, and OS_* variables), then used against the other
services."""
from __future__ import annotations

import json
import uuid

import yaml

ADMIN = "pocketstack-admin"


def as_json(result) -> object:
    return json.loads(result.stdout)


def new_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_application_credential_create_list_show_delete(stack):
    name = new_name("ci")
    made = as_json(stack.openstack("application", "credential", "create", "--description",
                                   "for the CI", "--role", "reader", name, "-f", "json"))
    assert made["Name"] == name and made["Description"] == "for the CI"
    assert made["Secret"] and made["Unrestricted"] is False
    assert [role["name"] for role in made["Roles"]] == ["reader"]
    listed = as_json(stack.openstack("application", "credential", "list", "-f", "json"))
    assert [c["ID"] for c in listed if c["Name"] == name] == [made["ID"]]
    shown = as_json(stack.openstack("application", "credential", "show", name, "-f", "json"))
    assert shown["ID"] == made["ID"] and "Secret" not in shown
    stack.openstack("application", "credential", "delete", name)
    listed = as_json(stack.openstack("application", "credential", "list", "-f", "json"))
    assert name not in {c["Name"] for c in listed}
    missing = stack.openstack("application", "credential", "show", name, check=False)
    assert missing.returncode != 0


def test_a_duplicate_name_and_a_role_not_held_are_refused(stack):
    name = new_name("twice")
    stack.openstack("application", "credential", "create", name)
    again = stack.openstack("application", "credential", "create", name, check=False)
    assert again.returncode != 0 and "409" in again.stderr
    admin_role = stack.openstack("application", "credential", "create", "--role", "admin",
                                 new_name("x"), check=False)
    assert admin_role.returncode != 0 and "400" in admin_role.stderr
    assert "unassigned role" in admin_role.stderr
    stack.openstack("application", "credential", "delete", name)


def test_clouds_yaml_with_an_application_credential_reaches_every_service(stack, tmp_path):
    name = new_name("terraform")
    made = as_json(stack.openstack("application", "credential", "create", name, "-f", "json"))
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(yaml.safe_dump({"clouds": {"by-appcred": {
        "auth_type": "v3applicationcredential",
        "auth": {"auth_url": stack.url("identity"),
                 "application_credential_id": made["ID"],
                 "application_credential_secret": made["Secret"]},
        "region_name": "RegionOne", "identity_api_version": 3, "interface": "public"}}}))
    clouds.chmod(0o600)
    env = {"OS_CLIENT_CONFIG_FILE": str(clouds)}
    token = as_json(stack.openstack("token", "issue", "-f", "json", cloud="by-appcred",
                                    env=env))
    assert token["project_id"] == made["Project ID"]
    images = as_json(stack.openstack("image", "list", "-f", "json", cloud="by-appcred",
                                     env=env))
    assert "pocketstack-tiny" in {image["Name"] for image in images}
    stack.openstack("server", "list", cloud="by-appcred", env=env)
    stack.openstack("volume", "list", cloud="by-appcred", env=env)
    stack.openstack("network", "list", cloud="by-appcred", env=env)
    # A restricted one (the default) may not make more.
    refused = stack.openstack("application", "credential", "create", new_name("more"),
                              cloud="by-appcred", env=env, check=False)
    assert refused.returncode != 0 and "403" in refused.stderr
    stack.openstack("application", "credential", "delete", name)
    after = stack.openstack("image", "list", cloud="by-appcred", env=env, check=False)
    assert after.returncode != 0
    assert "Could not find Application Credential" in after.stderr


def test_os_auth_type_variables_by_name_and_user(stack):
    name = new_name("env")
    made = as_json(stack.openstack("application", "credential", "create", "--unrestricted",
                                   name, "-f", "json"))
    env = {"OS_AUTH_TYPE": "v3applicationcredential", "OS_AUTH_URL": stack.url("identity"),
           "OS_APPLICATION_CREDENTIAL_NAME": name,
           "OS_APPLICATION_CREDENTIAL_SECRET": made["Secret"],
           "OS_USERNAME": "demo", "OS_USER_DOMAIN_NAME": "Default",
           "OS_IDENTITY_API_VERSION": "3", "OS_REGION_NAME": "RegionOne"}
    stack.openstack("image", "list", cloud=None, env=env)
    stack.openstack("server", "list", cloud=None, env=env)
    # Unrestricted: it may manage application credentials itself.
    other = new_name("child")
    stack.openstack("application", "credential", "create", other, cloud=None, env=env)
    stack.openstack("application", "credential", "delete", other, cloud=None, env=env)
    stack.openstack("application", "credential", "delete", name)


def test_ec2_credentials_create_list_show_delete(stack):
    made = as_json(stack.openstack("ec2", "credentials", "create", "-f", "json"))
    token = as_json(stack.openstack("token", "issue", "-f", "json"))
    assert made["project_id"] == token["project_id"] and made["user_id"] == token["user_id"]
    assert made["access"] and made["secret"]
    listed = as_json(stack.openstack("ec2", "credentials", "list", "-f", "json"))
    assert made["access"] in {c["Access"] for c in listed}
    shown = as_json(stack.openstack("ec2", "credentials", "show", made["access"], "-f", "json"))
    assert shown["secret"] == made["secret"]
    stack.openstack("ec2", "credentials", "delete", made["access"])
    listed = as_json(stack.openstack("ec2", "credentials", "list", "-f", "json"))
    assert made["access"] not in {c["Access"] for c in listed}


def test_admin_makes_ec2_credentials_for_another_user_and_project(stack):
    made = as_json(stack.openstack("ec2", "credentials", "create", "--user", "demo",
                                   "--project", "admin", "-f", "json", cloud=ADMIN))
    demo = as_json(stack.openstack("user", "show", "demo", "-f", "json", cloud=ADMIN))
    admin_project = as_json(stack.openstack("project", "show", "admin", "-f", "json",
                                            cloud=ADMIN))
    assert (made["user_id"], made["project_id"]) == (demo["id"], admin_project["id"])
    listed = as_json(stack.openstack("ec2", "credentials", "list", "--user", "demo", "-f",
                                     "json", cloud=ADMIN))
    assert made["access"] in {c["Access"] for c in listed}
    # The demo user sees it among their own.
    own = as_json(stack.openstack("ec2", "credentials", "list", "-f", "json"))
    assert made["access"] in {c["Access"] for c in own}
    stack.openstack("ec2", "credentials", "delete", "--user", "demo", made["access"],
                    cloud=ADMIN)
