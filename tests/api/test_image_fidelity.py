"""imaged answers as the real Glance 33 does, where `make compare`
(tests/compare/) found it did not: who may download, who may list an
image's locations, absolute Location headers, 204s without a Content-Type,
and the shapes of metadata definitions."""
from __future__ import annotations

import uuid

import pytest
import requests

from tests.support.images import Images, raw_bytes


@pytest.fixture(scope="module")
def demo(stack, demo_token) -> Images:
    return Images(stack, demo_token)


@pytest.fixture(scope="module")
def admin(stack, admin_token) -> Images:
    return Images(stack, admin_token)


@pytest.fixture(scope="module")
def reader(stack, admin_token) -> Images:
    """A user with only the reader role on project demo."""
    identity, headers = stack.url("identity"), {"X-Auth-Token": admin_token}
    name, password = f"reader-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    user = requests.post(f"{identity}/v3/users", headers=headers, timeout=30, json={
        "user": {"name": name, "password": password}}).json()["user"]["id"]
    projects = requests.get(f"{identity}/v3/projects", params={"name": "demo"},
                            headers=headers, timeout=30).json()["projects"]
    roles = requests.get(f"{identity}/v3/roles", params={"name": "reader"}, headers=headers,
                         timeout=30).json()["roles"]
    granted = requests.put(f"{identity}/v3/projects/{projects[0]['id']}/users/{user}/roles/"
                           f"{roles[0]['id']}", headers=headers, timeout=30)
    assert granted.status_code == 204
    login = stack.login(name, "demo", password)
    assert login.status_code == 201, login.text
    return Images(stack, login.headers["X-Subject-Token"])


def test_a_reader_sees_an_image_but_may_not_download_it(demo, reader):
    image = demo.uploaded(raw_bytes(4096))
    assert reader.get(image["id"]).status_code == 200
    refused = reader.download(image["id"])
    assert refused.status_code == 403
    assert refused.json()["title"] == "Forbidden"
    assert demo.download(image["id"]).content == raw_bytes(4096)


def test_an_admin_may_list_an_image_locations(demo, admin):
    image = demo.uploaded(raw_bytes(1024))
    listed = admin.request("GET", f"/v2/images/{image['id']}/locations")
    assert listed.status_code == 200
    (location,) = listed.json()
    assert location["url"].startswith("file://")
    assert demo.request("GET", f"/v2/images/{image['id']}/locations").status_code == 403


def test_created_image_location_is_an_absolute_url(stack, demo):
    response = demo.create(name="located", disk_format="raw", container_format="bare")
    assert response.status_code == 201
    assert response.headers["Location"] == \
        f"{stack.url('imaged')}/v2/images/{response.json()['id']}"


def test_no_content_answers_have_no_content_type(stack, demo, admin):
    queued = demo.new()
    empty = demo.download(queued["id"])
    assert empty.status_code == 204
    assert "Content-Type" not in empty.headers
    shared = demo.new(visibility="shared")
    added = demo.request("POST", f"/v2/images/{shared['id']}/members",
                         json={"member": "another-project"})
    assert added.status_code == 200, added.text
    removed = demo.request("DELETE", f"/v2/images/{shared['id']}/members/another-project")
    assert removed.status_code == 204
    assert "Content-Type" not in removed.headers


def test_metadefs_in_glance_shapes(stack, admin, demo):
    name = f"Fidelity::{uuid.uuid4().hex[:8]}"
    created = admin.request("POST", "/v2/metadefs/namespaces", json={
        "namespace": name, "visibility": "public"})
    assert created.status_code == 201, created.text
    base = f"/v2/metadefs/namespaces/{name}"
    assert created.headers["Location"] == stack.url("imaged") + base
    assert admin.request("POST", base + "/properties", json={
        "name": "fid_prop", "title": "A property", "type": "string"}).status_code == 201
    obj = admin.request("POST", base + "/objects", json={"name": "thing", "properties": {}})
    assert obj.status_code == 201
    assert "description" not in obj.json() and "required" not in obj.json()
    assert admin.request("POST", base + "/tags/fid-tag").status_code == 201
    properties = demo.request("GET", base + "/properties").json()["properties"]
    assert properties["fid_prop"]["name"] == "fid_prop"
    shown = demo.request("GET", base).json()
    assert shown["properties"]["fid_prop"]["name"] == "fid_prop"
    assert demo.request("GET", base + "/tags").json()["tags"] == [{"name": "fid-tag"}]
    assert "created_at" in demo.request("GET", base + "/tags/fid-tag").json()
    objects = demo.request("GET", base + "/objects").json()
    assert objects["schema"] == "v2/schemas/metadefs/objects"


def test_schemas_as_glance_writes_them(demo):
    members = demo.request("GET", "/v2/schemas/members").json()
    assert members["links"] == [{"rel": "describedby", "href": "{schema}"}]
    image = demo.request("GET", "/v2/schemas/image").json()
    validation = image["properties"]["locations"]["items"]["properties"]["validation_data"]
    assert validation["required"] == ["os_hash_algo", "os_hash_value"]


def test_namespace_list_and_update_as_glance(admin):
    listed = admin.request("GET", "/v2/metadefs/namespaces",
                           params={"resource_types": "OS::Glance::Image", "limit": 200}).json()
    assert listed["first"] == \
        "/v2/metadefs/namespaces?resource_types=OS%3A%3AGlance%3A%3AImage&limit=200"
    name = f"Fidelity::{uuid.uuid4().hex[:8]}"
    assert admin.request("POST", "/v2/metadefs/namespaces", json={
        "namespace": name, "visibility": "public", "resource_type_associations": [
            {"name": "OS::Glance::Image"}]}).status_code == 201
    base = f"/v2/metadefs/namespaces/{name}"
    assert admin.request("POST", base + "/tags/fid-tag").status_code == 201
    updated = admin.request("PUT", base, json={"namespace": name, "visibility": "public",
                                               "display_name": "Changed"})
    assert updated.status_code == 200, updated.text
    assert updated.json()["display_name"] == "Changed"
    for detail in ("tags", "objects", "properties", "resource_type_associations"):
        assert detail not in updated.json()
    assert admin.request("GET", base).json()["tags"] == [{"name": "fid-tag"}]
