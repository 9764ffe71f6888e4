"""The requests sent to both sides, as data: one Scenario per request shape,
sent once for each role (admin, member, reader, other, anon).

`route` names the route of our code the scenario exercises, as Flask writes
it ("GET /v2/images/<image_id>"), so that the report can say which of our
routes no scenario covers. `path` and string values of `body` may hold
{placeholders}: the seeded ids of side.ids, {fresh} (made anew before each
role's request by the maker named in `fresh`, tests/compare/fixtures.py) and
{role}."""
from __future__ import annotations

from dataclasses import dataclass, field

from tests.compare.fixtures import DATA, PATCH
from tests.compare.sides import ROLES

JSON = {"Content-Type": "application/json"}
OCTETS = {"Content-Type": "application/octet-stream"}
NS = "/v2/metadefs/namespaces/<namespace>"
NSP = "/v2/metadefs/namespaces/{namespace}"
GRANT = "/v3/projects/<project_id>/users/<user_id>/roles/<role_id>"
APPCREDS = "/v3/users/<user_id>/application_credentials"
EC2 = "/v3/users/<user_id>/credentials/OS-EC2"


@dataclass(frozen=True)
class Scenario:
    id: str
    route: str                       # "METHOD /rule" of our code
    path: str                        # what is sent, with {placeholders}
    body: object = None              # JSON
    data: bytes | None = None        # a raw body instead
    headers: dict = field(default_factory=dict)
    roles: tuple[str, ...] = ROLES
    fresh: str | None = None

    @property
    def method(self) -> str:
        return self.route.split(" ", 1)[0]

    @property
    def service(self) -> str:
        return "identity" if self.id.startswith("identity.") else "image"


def S(id: str, route: str, path: str | None = None, **kwargs) -> Scenario:  # noqa: A002
    return Scenario(id, route, path if path is not None else route.split(" ", 1)[1], **kwargs)


IMAGE = [
    # versions and discovery
    S("image.versions.root", "GET /", roles=("anon", "member")),
    S("image.versions.list", "GET /versions", roles=("anon", "member")),
    S("image.info.import", "GET /v2/info/import"),
    S("image.info.stores", "GET /v2/info/stores"),
    S("image.info.stores_detail", "GET /v2/info/stores/detail"),
    S("image.info.usage", "GET /v2/info/usage"),
    # schemas
    *[S(f"image.schemas.{name}", "GET /v2/schemas/<name>", f"/v2/schemas/{name}")
      for name in ("image", "images", "member", "members")],
    S("image.schemas.unknown", "GET /v2/schemas/<name>", "/v2/schemas/nothing",
      roles=("member",)),
    # images
    S("image.create", "POST /v2/images", body={
        "name": "cmp-new-{role}", "disk_format": "qcow2", "container_format": "bare",
        "min_disk": 1, "tags": ["a"], "cmp_extra": "x"}, headers=JSON),
    S("image.create.public", "POST /v2/images", body={
        "name": "cmp-new-public-{role}", "visibility": "public"}, headers=JSON),
    S("image.create.bad_format", "POST /v2/images", body={
        "name": "cmp-bad", "disk_format": "floppy"}, headers=JSON, roles=("member",)),
    S("image.create.reserved", "POST /v2/images", body={
        "name": "cmp-bad", "status": "active"}, headers=JSON, roles=("member",)),
    S("image.create.not_json", "POST /v2/images", data=b"not json", headers=JSON,
      roles=("member",)),
    S("image.list", "GET /v2/images"),
    S("image.list.name", "GET /v2/images", "/v2/images?name=cmp-active"),
    S("image.list.limit", "GET /v2/images", "/v2/images?limit=1&sort=name:asc"),
    S("image.list.bad_sort", "GET /v2/images", "/v2/images?sort_key=nothing",
      roles=("member",)),
    S("image.list.shared", "GET /v2/images", "/v2/images?visibility=shared"),
    S("image.show", "GET /v2/images/<image_id>", "/v2/images/{image_active}"),
    S("image.show.queued", "GET /v2/images/<image_id>", "/v2/images/{image_queued}"),
    S("image.show.beta", "GET /v2/images/<image_id>", "/v2/images/{image_beta}"),
    S("image.show.shared", "GET /v2/images/<image_id>", "/v2/images/{image_shared}"),
    S("image.show.public", "GET /v2/images/<image_id>", "/v2/images/{image_public}"),
    S("image.show.unknown", "GET /v2/images/<image_id>",
      "/v2/images/00000000-0000-0000-0000-000000000000"),
    S("image.update", "PATCH /v2/images/<image_id>", "/v2/images/{fresh}", fresh="image",
      data=b'[{"op": "replace", "path": "/name", "value": "cmp-renamed"},'
           b' {"op": "add", "path": "/cmp_new", "value": "v"}]',
      headers={"Content-Type": PATCH}),
    S("image.update.readonly", "PATCH /v2/images/<image_id>", "/v2/images/{image_queued}",
      data=b'[{"op": "replace", "path": "/status", "value": "active"}]',
      headers={"Content-Type": PATCH}, roles=("member", "admin")),
    S("image.update.wrong_type", "PATCH /v2/images/<image_id>", "/v2/images/{image_queued}",
      data=b'[{"op": "replace", "path": "/name", "value": "x"}]', headers=JSON,
      roles=("member",)),
    S("image.delete", "DELETE /v2/images/<image_id>", "/v2/images/{fresh}", fresh="image"),
    S("image.deactivate", "POST /v2/images/<image_id>/actions/<action>",
      "/v2/images/{fresh}/actions/deactivate", fresh="active"),
    S("image.reactivate", "POST /v2/images/<image_id>/actions/<action>",
      "/v2/images/{fresh}/actions/reactivate", fresh="deactivated"),
    S("image.action.unknown", "POST /v2/images/<image_id>/actions/<action>",
      "/v2/images/{image_active}/actions/explode", roles=("member",)),
    # data
    S("image.upload", "PUT /v2/images/<image_id>/file", "/v2/images/{fresh}/file",
      fresh="image", data=DATA, headers=OCTETS),
    S("image.upload.active", "PUT /v2/images/<image_id>/file",
      "/v2/images/{image_active}/file", data=DATA, headers=OCTETS, roles=("member",)),
    S("image.download", "GET /v2/images/<image_id>/file", "/v2/images/{image_active}/file"),
    S("image.download.range", "GET /v2/images/<image_id>/file",
      "/v2/images/{image_active}/file", headers={"Range": "bytes=0-9"},
      roles=("member",)),
    S("image.download.queued", "GET /v2/images/<image_id>/file",
      "/v2/images/{image_queued}/file", roles=("member",)),
    # import
    S("image.stage", "PUT /v2/images/<image_id>/stage", "/v2/images/{fresh}/stage",
      fresh="image", data=DATA, headers=OCTETS),
    S("image.import", "POST /v2/images/<image_id>/import", "/v2/images/{fresh}/import",
      fresh="staged", body={"method": {"name": "glance-direct"}}, headers=JSON),
    S("image.import.bad_method", "POST /v2/images/<image_id>/import",
      "/v2/images/{image_queued}/import", body={"method": {"name": "teleport"}},
      headers=JSON, roles=("member",)),
    S("image.import.copy", "POST /v2/images/<image_id>/import",
      "/v2/images/{fresh}/import", fresh="active",
      body={"method": {"name": "copy-image"}, "stores": ["fs2"]}, headers=JSON),
    # locations (Image API 2.17)
    S("image.locations.list", "GET /v2/images/<image_id>/locations",
      "/v2/images/{image_active}/locations"),
    S("image.locations.add_bad", "POST /v2/images/<image_id>/locations",
      "/v2/images/{fresh}/locations", fresh="image",
      body={"url": "file:///etc/passwd"}, headers=JSON),
    # members
    S("image.members.list", "GET /v2/images/<image_id>/members",
      "/v2/images/{image_shared}/members"),
    S("image.members.show", "GET /v2/images/<image_id>/members/<member_id>",
      "/v2/images/{image_shared}/members/{project_beta}"),
    S("image.members.create", "POST /v2/images/<image_id>/members",
      "/v2/images/{fresh}/members", fresh="active", body={"member": "{project_beta}"},
      headers=JSON),
    S("image.members.create_private", "POST /v2/images/<image_id>/members",
      "/v2/images/{image_active}/members", body={"member": "{project_beta}"},
      headers=JSON, roles=("member",)),
    S("image.members.accept", "PUT /v2/images/<image_id>/members/<member_id>",
      "/v2/images/{fresh}/members/{project_beta}", fresh="shared",
      body={"status": "accepted"}, headers=JSON),
    S("image.members.bad_status", "PUT /v2/images/<image_id>/members/<member_id>",
      "/v2/images/{image_shared}/members/{project_beta}", body={"status": "happy"},
      headers=JSON, roles=("other",)),
    S("image.members.delete", "DELETE /v2/images/<image_id>/members/<member_id>",
      "/v2/images/{fresh}/members/{project_beta}", fresh="shared"),
    # tags
    S("image.tags.add", "PUT /v2/images/<image_id>/tags/<tag>",
      "/v2/images/{fresh}/tags/cmp-tag", fresh="image"),
    S("image.tags.delete", "DELETE /v2/images/<image_id>/tags/<tag>",
      "/v2/images/{image_active}/tags/absent-tag"),
    # stores
    S("image.stores.delete_only_copy", "DELETE /v2/stores/<store_id>/<image_id>",
      "/v2/stores/fs/{fresh}", fresh="active"),
    S("image.stores.delete_unknown_store", "DELETE /v2/stores/<store_id>/<image_id>",
      "/v2/stores/nowhere/{image_active}", roles=("admin",)),
    # tasks
    S("image.tasks.list", "GET /v2/tasks"),
    S("image.tasks.show", "GET /v2/tasks/<task_id>", "/v2/tasks/{task}"),
    S("image.tasks.of_image", "GET /v2/images/<image_id>/tasks",
      "/v2/images/{image_imported}/tasks"),
    # cache (admin only)
    S("image.cache.list", "GET /v2/cache"),
    S("image.cache.queue", "PUT /v2/cache/<image_id>", "/v2/cache/{image_public}"),
    S("image.cache.delete", "DELETE /v2/cache/<image_id>", "/v2/cache/{fresh}",
      fresh="cached"),
    S("image.cache.clear", "DELETE /v2/cache", headers={"x-image-cache-clear-target": "queue"}),
    S("image.cache.clean", "POST /v2/cache/clean"),
    S("image.cache.prune", "POST /v2/cache/prune"),
    # metadata definitions
    S("image.metadefs.namespaces.list", "GET /v2/metadefs/namespaces",
      "/v2/metadefs/namespaces?resource_types=OS::Glance::Image&limit=200"),
    S("image.metadefs.namespaces.create", "POST /v2/metadefs/namespaces",
      body={"namespace": "CMP-new-{role}", "display_name": "New", "visibility": "public"},
      headers=JSON),
    S("image.metadefs.namespaces.show", f"GET {NS}", NSP),
    S("image.metadefs.namespaces.show_unknown", f"GET {NS}",
      "/v2/metadefs/namespaces/CMP-nothing", roles=("admin", "member")),
    S("image.metadefs.namespaces.update", f"PUT {NS}", "/v2/metadefs/namespaces/{fresh}",
      fresh="namespace", body={"namespace": "{fresh}", "display_name": "Changed",
                               "visibility": "public", "protected": False}, headers=JSON),
    S("image.metadefs.namespaces.delete", f"DELETE {NS}", "/v2/metadefs/namespaces/{fresh}",
      fresh="namespace"),
    S("image.metadefs.objects.delete_all", f"DELETE {NS}/objects",
      "/v2/metadefs/namespaces/{fresh}/objects", fresh="namespace"),
    S("image.metadefs.properties.delete_all", f"DELETE {NS}/properties",
      "/v2/metadefs/namespaces/{fresh}/properties", fresh="namespace"),
    S("image.metadefs.tags.delete_all", f"DELETE {NS}/tags",
      "/v2/metadefs/namespaces/{fresh}/tags", fresh="namespace"),
    S("image.metadefs.objects.list", f"GET {NS}/objects", NSP + "/objects"),
    S("image.metadefs.objects.create", f"POST {NS}/objects",
      "/v2/metadefs/namespaces/{fresh}/objects", fresh="namespace",
      body={"name": "cmp-new-object", "properties": {}}, headers=JSON),
    S("image.metadefs.objects.show", f"GET {NS}/objects/<name>", NSP + "/objects/cmp-object"),
    S("image.metadefs.objects.update", f"PUT {NS}/objects/<name>",
      "/v2/metadefs/namespaces/{fresh}/objects/cmp-object", fresh="namespace",
      body={"name": "cmp-object", "description": "changed", "properties": {}},
      headers=JSON),
    S("image.metadefs.objects.delete", f"DELETE {NS}/objects/<name>",
      "/v2/metadefs/namespaces/{fresh}/objects/cmp-object", fresh="namespace"),
    S("image.metadefs.properties.list", f"GET {NS}/properties", NSP + "/properties"),
    S("image.metadefs.properties.create", f"POST {NS}/properties",
      "/v2/metadefs/namespaces/{fresh}/properties", fresh="namespace",
      body={"name": "cmp_new", "title": "New", "type": "integer"}, headers=JSON),
    S("image.metadefs.properties.show", f"GET {NS}/properties/<name>",
      NSP + "/properties/cmp_prop"),
    S("image.metadefs.properties.update", f"PUT {NS}/properties/<name>",
      "/v2/metadefs/namespaces/{fresh}/properties/cmp_prop", fresh="namespace",
      body={"name": "cmp_prop", "title": "Changed", "type": "string"}, headers=JSON),
    S("image.metadefs.properties.delete", f"DELETE {NS}/properties/<name>",
      "/v2/metadefs/namespaces/{fresh}/properties/cmp_prop", fresh="namespace"),
    S("image.metadefs.tags.list", f"GET {NS}/tags", NSP + "/tags"),
    S("image.metadefs.tags.create_many", f"POST {NS}/tags",
      "/v2/metadefs/namespaces/{fresh}/tags", fresh="namespace",
      body={"tags": [{"name": "cmp-t1"}, {"name": "cmp-t2"}]}, headers=JSON),
    S("image.metadefs.tags.create", f"POST {NS}/tags/<name>",
      "/v2/metadefs/namespaces/{fresh}/tags/cmp-t3", fresh="namespace"),
    S("image.metadefs.tags.show", f"GET {NS}/tags/<name>", NSP + "/tags/cmp-tag"),
    S("image.metadefs.tags.update", f"PUT {NS}/tags/<name>",
      "/v2/metadefs/namespaces/{fresh}/tags/cmp-tag", fresh="namespace",
      body={"name": "cmp-renamed-tag"}, headers=JSON),
    S("image.metadefs.tags.delete", f"DELETE {NS}/tags/<name>",
      "/v2/metadefs/namespaces/{fresh}/tags/cmp-tag", fresh="namespace"),
    S("image.metadefs.resource_types.list", "GET /v2/metadefs/resource_types"),
    S("image.metadefs.associations.list", f"GET {NS}/resource_types",
      NSP + "/resource_types"),
    S("image.metadefs.associations.create", f"POST {NS}/resource_types",
      "/v2/metadefs/namespaces/{fresh}/resource_types", fresh="namespace",
      body={"name": "OS::Cinder::Volume", "prefix": "cmp_"}, headers=JSON),
    S("image.metadefs.associations.delete", f"DELETE {NS}/resource_types/<name>",
      "/v2/metadefs/namespaces/{fresh}/resource_types/OS::Glance::Image",
      fresh="namespace"),
]


def _login(user: str, project: str, password: str = "{password}") -> dict:
    return {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "password": password, "domain": {"name": "Default"}}}},
        "scope": {"project": {"name": project, "domain": {"name": "Default"}}}}}


IDENTITY = [
    S("identity.versions.root", "GET /", roles=("anon",)),
    S("identity.versions.v3", "GET /v3", roles=("anon", "member")),
    S("identity.versions.v3_slash", "GET /v3/", roles=("anon",)),
    S("identity.tokens.issue", "POST /v3/auth/tokens", body=_login("cmp-member", "cmp-alpha"),
      headers=JSON, roles=("anon",)),
    S("identity.tokens.issue_unscoped", "POST /v3/auth/tokens", body={"auth": {"identity": {
        "methods": ["password"], "password": {"user": {
            "name": "cmp-member", "password": "{password}", "domain": {"name": "Default"}}}}}},
      headers=JSON, roles=("anon",)),
    S("identity.tokens.wrong_password", "POST /v3/auth/tokens",
      body=_login("cmp-member", "cmp-alpha", "not-the-password"), headers=JSON,
      roles=("anon",)),
    S("identity.tokens.no_role", "POST /v3/auth/tokens", body=_login("cmp-member", "cmp-beta"),
      headers=JSON, roles=("anon",)),
    S("identity.tokens.unknown_user", "POST /v3/auth/tokens",
      body=_login("cmp-nobody", "cmp-alpha"), headers=JSON, roles=("anon",)),
    S("identity.tokens.bad_body", "POST /v3/auth/tokens", body={"auth": {}}, headers=JSON,
      roles=("anon",)),
    S("identity.tokens.validate", "GET /v3/auth/tokens",
      headers={"X-Subject-Token": "{fresh}"}, fresh="token"),
    S("identity.tokens.check", "HEAD /v3/auth/tokens",
      headers={"X-Subject-Token": "{fresh}"}, fresh="token"),
    S("identity.tokens.validate_garbage", "GET /v3/auth/tokens",
      headers={"X-Subject-Token": "not-a-token"}, roles=("admin",)),
    S("identity.tokens.revoke", "DELETE /v3/auth/tokens",
      headers={"X-Subject-Token": "{fresh}"}, fresh="token"),
    S("identity.auth.catalog", "GET /v3/auth/catalog"),
    S("identity.auth.projects", "GET /v3/auth/projects"),
    S("identity.revoke.events", "GET /v3/OS-REVOKE/events"),
    S("identity.domains.list", "GET /v3/domains"),
    S("identity.domains.show", "GET /v3/domains/<domain_id>", "/v3/domains/default"),
    S("identity.domains.show_unknown", "GET /v3/domains/<domain_id>", "/v3/domains/nothing",
      roles=("admin",)),
    S("identity.projects.list", "GET /v3/projects"),
    S("identity.projects.list_name", "GET /v3/projects", "/v3/projects?name=cmp-alpha"),
    S("identity.projects.show", "GET /v3/projects/<project_id>", "/v3/projects/{project_alpha}"),
    S("identity.projects.show_unknown", "GET /v3/projects/<project_id>",
      "/v3/projects/nothing", roles=("admin",)),
    S("identity.projects.create", "POST /v3/projects",
      body={"project": {"name": "cmp-new-{role}", "description": "d"}}, headers=JSON),
    S("identity.projects.create_no_name", "POST /v3/projects", body={"project": {}},
      headers=JSON, roles=("admin",)),
    S("identity.projects.create_duplicate", "POST /v3/projects",
      body={"project": {"name": "cmp-alpha"}}, headers=JSON, roles=("admin",)),
    S("identity.projects.update", "PATCH /v3/projects/<project_id>", "/v3/projects/{fresh}",
      fresh="project", body={"project": {"description": "changed", "enabled": False}},
      headers=JSON),
    S("identity.projects.delete", "DELETE /v3/projects/<project_id>", "/v3/projects/{fresh}",
      fresh="project"),
    S("identity.users.list", "GET /v3/users"),
    S("identity.users.list_name", "GET /v3/users", "/v3/users?name=cmp-member"),
    S("identity.users.show", "GET /v3/users/<user_id>", "/v3/users/{user_member}"),
    S("identity.users.show_unknown", "GET /v3/users/<user_id>", "/v3/users/nothing",
      roles=("admin",)),
    S("identity.users.create", "POST /v3/users",
      body={"user": {"name": "cmp-new-{role}", "password": "{password}",
                     "default_project_id": "{project_alpha}"}}, headers=JSON),
    S("identity.users.create_duplicate", "POST /v3/users",
      body={"user": {"name": "cmp-member"}}, headers=JSON, roles=("admin",)),
    S("identity.users.update", "PATCH /v3/users/<user_id>", "/v3/users/{fresh}", fresh="user",
      body={"user": {"email": "x@example.org", "enabled": False}}, headers=JSON),
    S("identity.users.delete", "DELETE /v3/users/<user_id>", "/v3/users/{fresh}",
      fresh="user"),
    S("identity.users.projects", "GET /v3/users/<user_id>/projects",
      "/v3/users/{user_member}/projects"),
    S("identity.roles.list", "GET /v3/roles"),
    S("identity.roles.show", "GET /v3/roles/<role_id>", "/v3/roles/{role_member}"),
    S("identity.roles.create", "POST /v3/roles", body={"role": {"name": "cmp-new-{role}"}},
      headers=JSON),
    S("identity.roles.delete", "DELETE /v3/roles/<role_id>", "/v3/roles/{fresh}",
      fresh="role"),
    S("identity.grants.create", f"PUT {GRANT}",
      "/v3/projects/{project_beta}/users/{fresh}/roles/{role_reader}", fresh="user"),
    S("identity.grants.check", f"HEAD {GRANT}",
      "/v3/projects/{project_alpha}/users/{user_member}/roles/{role_member}"),
    S("identity.grants.check_get", f"GET {GRANT}",
      "/v3/projects/{project_alpha}/users/{user_member}/roles/{role_member}"),
    S("identity.grants.check_absent", f"GET {GRANT}",
      "/v3/projects/{project_beta}/users/{user_member}/roles/{role_member}",
      roles=("admin",)),
    S("identity.grants.revoke", f"DELETE {GRANT}",
      "/v3/projects/{project_alpha}/users/{fresh}/roles/{role_reader}", fresh="granted_user"),
    S("identity.grants.list", "GET /v3/projects/<project_id>/users/<user_id>/roles",
      "/v3/projects/{project_alpha}/users/{user_member}/roles"),
    S("identity.role_assignments.list", "GET /v3/role_assignments",
      "/v3/role_assignments?scope.project.id={project_alpha}"),
    S("identity.role_assignments.effective", "GET /v3/role_assignments",
      "/v3/role_assignments?scope.project.id={project_alpha}&effective&include_names"),
    # application credentials (cmp-member's) and logging in with one
    S("identity.appcreds.list", f"GET {APPCREDS}",
      "/v3/users/{user_member}/application_credentials"),
    S("identity.appcreds.show", f"GET {APPCREDS}/<credential_id>",
      "/v3/users/{user_member}/application_credentials/{appcred}"),
    S("identity.appcreds.show_unknown", f"GET {APPCREDS}/<credential_id>",
      "/v3/users/{user_member}/application_credentials/nothing", roles=("admin", "member")),
    S("identity.appcreds.create", f"POST {APPCREDS}",
      "/v3/users/{user_member}/application_credentials",
      body={"application_credential": {"name": "cmp-new-{role}"}}, headers=JSON),
    S("identity.appcreds.create_duplicate", f"POST {APPCREDS}",
      "/v3/users/{user_member}/application_credentials",
      body={"application_credential": {"name": "cmp-appcred"}}, headers=JSON,
      roles=("member",)),
    S("identity.appcreds.delete", f"DELETE {APPCREDS}/<credential_id>",
      "/v3/users/{user_member}/application_credentials/{fresh}", fresh="appcred"),
    S("identity.appcreds.login", "POST /v3/auth/tokens", body={"auth": {"identity": {
        "methods": ["application_credential"], "application_credential": {
            "id": "{appcred}", "secret": "{_appcred_secret}"}}}}, headers=JSON,
      roles=("anon",)),
    S("identity.appcreds.login_wrong_secret", "POST /v3/auth/tokens", body={"auth": {
        "identity": {"methods": ["application_credential"], "application_credential": {
            "id": "{appcred}", "secret": "not-the-secret"}}}}, headers=JSON, roles=("anon",)),
    # EC2 credentials (cmp-member's) and the credentials API that lists them
    S("identity.ec2.list", f"GET {EC2}", "/v3/users/{user_member}/credentials/OS-EC2"),
    S("identity.ec2.show", f"GET {EC2}/<access>",
      "/v3/users/{user_member}/credentials/OS-EC2/{ec2_access}"),
    S("identity.ec2.create", f"POST {EC2}", "/v3/users/{user_member}/credentials/OS-EC2",
      body={"tenant_id": "{project_alpha}"}, headers=JSON),
    S("identity.ec2.create_no_project", f"POST {EC2}",
      "/v3/users/{user_member}/credentials/OS-EC2", body={}, headers=JSON,
      roles=("member",)),
    S("identity.ec2.delete", f"DELETE {EC2}/<access>",
      "/v3/users/{user_member}/credentials/OS-EC2/{fresh}", fresh="ec2"),
    S("identity.credentials.list", "GET /v3/credentials"),
    S("identity.credentials.show", "GET /v3/credentials/<credential_id>",
      "/v3/credentials/{credential}"),
    S("identity.services.list", "GET /v3/services"),
    S("identity.endpoints.list", "GET /v3/endpoints"),
    S("identity.regions.list", "GET /v3/regions"),
]

SCENARIOS = IMAGE + IDENTITY
