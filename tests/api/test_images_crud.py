"""Image records over real HTTP: create, show, JSON-patch update, delete,
the versions document and the schemas, each with Glance's status codes."""
from __future__ import annotations

import time
import uuid

import pytest
import requests

from tests.support.images import Images, raw_bytes

GLANCE_FIELDS = {"id", "name", "status", "visibility", "protected", "os_hidden", "checksum",
                 "os_hash_algo", "os_hash_value", "owner", "size", "virtual_size", "min_disk",
                 "min_ram", "disk_format", "container_format", "tags", "created_at",
                 "updated_at", "self", "file", "schema"}


@pytest.fixture(scope="module")
def demo(stack) -> Images:
    return Images(stack, stack.token("demo"))


def test_create_returns_a_queued_image_as_glance_shows_it(demo):
    response = demo.create(name="cirros", disk_format="qcow2", container_format="bare",
                           min_ram=64, tags=["lab1"], os_distro="cirros")
    assert response.status_code == 201
    assert response.headers["x-openstack-request-id"].startswith("req-")
    image = response.json()
    assert response.headers["Location"].endswith(f"/v2/images/{image['id']}")
    assert set(image) >= GLANCE_FIELDS
    assert image["status"] == "queued"
    assert image["visibility"] == "shared"  # Glance v2's default
    assert image["checksum"] is None and image["size"] is None
    assert image["os_distro"] == "cirros"   # extra properties at the top level
    assert image["tags"] == ["lab1"] and image["min_ram"] == 64
    assert image["self"] == f"/v2/images/{image['id']}"
    assert image["file"] == f"/v2/images/{image['id']}/file"
    assert image["schema"] == "/v2/schemas/image"
    assert image["created_at"].endswith("Z")
    assert "locations" not in image and "direct_url" not in image  # config-gated
    assert demo.show(image["id"]) == image


def test_create_with_an_id_of_ones_own_and_no_duplicate(demo):
    image_id = str(uuid.uuid4())
    assert demo.create(id=image_id, name="chosen").json()["id"] == image_id
    again = demo.create(id=image_id, name="again")
    assert again.status_code == 409
    assert image_id in again.json()["message"]
    assert demo.create(id="not-a-uuid").status_code == 400


def test_a_wrong_format_name_is_refused_naming_the_allowed_values(demo):
    name = f"bad-format-{uuid.uuid4().hex[:6]}"
    response = demo.create(name=name, disk_format="qcow3", container_format="bare")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "400 Bad Request"
    assert "qcow3" in body["message"] and "qcow2" in body["message"] \
        and "vmdk" in body["message"]
    response = demo.create(name=name, disk_format="raw", container_format="box")
    assert response.status_code == 400 and "ovf" in response.json()["message"]
    assert demo.list(name=name).json()["images"] == []  # nothing left behind


@pytest.mark.parametrize("body, status, words", [
    ({"status": "active"}, 403, "read-only"),
    ({"size": 5}, 403, "read-only"),
    ({"os_glance_import": "x"}, 403, "reserved"),
    ({"deleted": "x"}, 403, "reserved"),
    ({"locations": []}, 403, "read-only"),
    ({"os_distro": 7}, 400, "strings"),
    ({"min_disk": -1}, 400, "min_disk"),
    ({"visibility": "everyone"}, 400, "visibility"),
    ({"protected": "yes"}, 400, "protected"),
])
def test_create_refuses_what_glance_refuses(demo, body, status, words):
    response = demo.create(name="refused", **body)
    assert response.status_code == status, response.text
    assert words in response.json()["message"]


def test_create_needs_a_json_object(demo):
    bad = demo.request("POST", "/v2/images", data="{not json",
                       headers={"Content-Type": "application/json"})
    assert bad.status_code == 400
    assert demo.request("POST", "/v2/images", json=["a"]).status_code == 400


def test_show_unknown_or_non_uuid_is_404(demo):
    assert demo.get(str(uuid.uuid4())).status_code == 404
    response = demo.get("cirros-by-name")
    assert response.status_code == 404
    assert response.json()["title"] == "Not Found"


def test_patch_add_replace_remove_core_and_extra_properties(demo):
    image = demo.new(name="before", os_distro="debian")
    response = demo.patch(image["id"], [
        {"op": "replace", "path": "/name", "value": "after"},
        {"op": "add", "path": "/os_version", "value": "12"},
        {"op": "replace", "path": "/os_distro", "value": "ubuntu"},
        {"op": "add", "path": "/min_disk", "value": 2},
        {"op": "replace", "path": "/tags", "value": ["a", "b", "a"]},
        {"op": "replace", "path": "/protected", "value": True},
    ])
    assert response.status_code == 200, response.text
    updated = response.json()
    assert (updated["name"], updated["os_version"], updated["os_distro"]) == \
        ("after", "12", "ubuntu")
    assert updated["min_disk"] == 2 and updated["tags"] == ["a", "b"]
    assert updated["protected"] is True
    response = demo.patch(image["id"], [{"op": "remove", "path": "/os_version"},
                                        {"op": "replace", "path": "/protected",
                                         "value": False}])
    assert response.status_code == 200
    assert "os_version" not in response.json()
    assert demo.show(image["id"]) == response.json()


def test_patch_answers_with_the_updated_at_it_stored(demo):
    """The PATCH answer is the image as stored, in both data_api modes (the
    registry sets updated_at on its own copy): a second later, the answer's
    updated_at is the new one, and GET shows the same."""
    image = demo.new(name="clock")
    time.sleep(1.1)  # updated_at has a resolution of one second
    response = demo.patch(image["id"], [{"op": "replace", "path": "/name", "value": "ticked"}])
    assert response.status_code == 200, response.text
    assert response.json()["updated_at"] > image["updated_at"]
    assert demo.show(image["id"])["updated_at"] == response.json()["updated_at"]


def test_patch_in_the_older_v2_0_dialect(demo):
    image = demo.new()
    response = demo.patch(image["id"], [{"replace": "/name", "value": "old-style"}],
                          content_type="application/openstack-images-v2.0-json-patch")
    assert response.status_code == 200 and response.json()["name"] == "old-style"


@pytest.mark.parametrize("changes, status, words", [
    ([{"op": "replace", "path": "/nothing_here", "value": "x"}], 409, "does not exist"),
    ([{"op": "remove", "path": "/nothing_here"}], 409, "does not exist"),
    ([{"op": "remove", "path": "/name"}], 403, "may not be removed"),
    ([{"op": "replace", "path": "/status", "value": "active"}], 403, "read-only"),
    ([{"op": "replace", "path": "/checksum", "value": "x"}], 403, "read-only"),
    ([{"op": "add", "path": "/os_glance_x", "value": "x"}], 403, "reserved"),
    ([{"op": "move", "path": "/name", "value": "x"}], 400, "invalid operation"),
    ([{"op": "replace", "value": "x"}], 400, "path"),
    ([{"op": "replace", "path": "name", "value": "x"}], 400, "start with"),
    ([{"op": "replace", "path": "/name"}], 400, "value"),
    ([{"op": "replace", "path": "/name/first", "value": "x"}], 400, "pointer"),
    ([{"op": "replace", "path": "/min_ram", "value": "lots"}], 400, "min_ram"),
    ([{"op": "replace", "path": "/disk_format", "value": "qcow3"}], 400, "qcow2"),
    ({"op": "replace", "path": "/name", "value": "x"}, 400, "array"),
    (["replace"], 400, "objects"),
])
def test_malformed_or_forbidden_patches_change_nothing(demo, changes, status, words):
    image = demo.new(name="unchanged", os_distro="debian")
    response = demo.patch(image["id"], changes)
    assert response.status_code == status, response.text
    assert words in response.json()["message"]
    assert demo.show(image["id"]) == image


def test_a_failing_operation_undoes_the_earlier_ones(demo):
    image = demo.new(name="atomic")
    response = demo.patch(image["id"], [{"op": "replace", "path": "/name", "value": "x"},
                                        {"op": "replace", "path": "/missing", "value": "y"}])
    assert response.status_code == 409
    assert demo.show(image["id"])["name"] == "atomic"


def test_patch_body_that_is_not_json_or_of_the_wrong_media_type(demo):
    image = demo.new()
    broken = demo.patch(image["id"], None, raw=b'[{"op": "replace", "path": ')
    assert broken.status_code == 400 and "JSON" in broken.json()["message"]
    wrong = demo.patch(image["id"], [{"op": "replace", "path": "/name", "value": "x"}],
                       content_type="application/json")
    assert wrong.status_code == 415
    assert "openstack-images-v2.1-json-patch" in wrong.json()["message"]
    assert "openstack-images-v2.1-json-patch" in wrong.headers["Accept-Patch"]


def test_formats_can_change_only_while_queued(demo):
    image = demo.uploaded(raw_bytes(4096))
    response = demo.patch(image["id"], [{"op": "replace", "path": "/disk_format",
                                         "value": "qcow2"}])
    assert response.status_code == 403
    assert "queued" in response.json()["message"]
    queued = demo.new(disk_format="raw")
    assert demo.patch(queued["id"], [{"op": "replace", "path": "/disk_format",
                                      "value": "iso"}]).json()["disk_format"] == "iso"


def test_delete_then_gone(demo):
    image = demo.uploaded(raw_bytes(1000))
    assert demo.delete(image["id"]).status_code == 204
    assert demo.get(image["id"]).status_code == 404
    assert demo.delete(image["id"]).status_code == 404
    assert image["id"] not in {i["id"] for i in demo.list(limit=1000).json()["images"]}


def test_a_protected_image_cannot_be_deleted_until_unprotected(demo):
    image = demo.new(protected=True)
    refused = demo.delete(image["id"])
    assert refused.status_code == 403
    assert "protected" in refused.json()["message"]
    assert demo.get(image["id"]).status_code == 200
    demo.patch(image["id"], [{"op": "replace", "path": "/protected", "value": False}])
    assert demo.delete(image["id"]).status_code == 204


def test_versions_document_points_at_the_host_asked(stack):
    for path, status in (("/", 300), ("/versions", 200)):
        response = requests.get(stack.url("imaged") + path, timeout=30)
        assert response.status_code == status
        versions = response.json()["versions"]
        assert any(v["status"] == "CURRENT" and v["id"].startswith("v2.") for v in versions)
        assert versions[0]["links"][0]["href"] == stack.url("imaged") + "/v2/"


def test_versions_listed_are_the_ones_whose_calls_exist(stack, admin_token):
    """The default stack has the image cache on: every version up to 2.18
    is listed, and the calls each one added answer."""
    versions = requests.get(stack.url("imaged") + "/versions", timeout=30).json()["versions"]
    assert [v["id"] for v in versions] == [f"v2.{minor}" for minor in range(18, -1, -1)]
    assert [v["status"] for v in versions].count("CURRENT") == 1
    assert versions[0] == {**versions[0], "id": "v2.18", "status": "CURRENT"}
    headers = {"X-Auth-Token": admin_token}
    base = stack.url("imaged")
    for path in ("/v2/info/stores", "/v2/info/stores/detail", "/v2/info/usage", "/v2/cache"):
        assert requests.get(base + path, headers=headers, timeout=30).status_code == 200, path


def test_every_call_but_versions_needs_a_token(stack):
    base = stack.url("imaged")
    assert requests.get(base + "/v2/images", timeout=30).status_code == 401
    assert requests.get(base + "/v2/schemas/image", timeout=30).status_code == 401


# -- schemas -----------------------------------------------------------------

JSON_TYPES = {"string": str, "integer": int, "boolean": bool, "array": list,
              "object": dict, "null": type(None)}


def conforms(value, schema: dict) -> list[str]:
    """The few JSON-schema rules the image schemas use (type, enum, items,
    properties, additionalProperties, maxLength, pattern): a list of problems."""
    import re
    problems = []
    types = schema.get("type")
    if types:
        names = types if isinstance(types, list) else [types]
        if not any(isinstance(value, JSON_TYPES[n]) and not (n == "integer" and
                   isinstance(value, bool)) for n in names):
            return [f"{value!r} is not of type {names}"]
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{value!r} not in {schema['enum']}")
    if isinstance(value, str):
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            problems.append(f"{value!r} too long")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            problems.append(f"{value!r} does not match {schema['pattern']}")
    if isinstance(value, list) and "items" in schema:
        for item in value:
            problems += conforms(item, schema["items"])
    if isinstance(value, dict) and "properties" in schema:
        for key, item in value.items():
            if key in schema["properties"]:
                problems += [f"{key}: {p}" for p in conforms(item, schema["properties"][key])]
            elif isinstance(schema.get("additionalProperties"), dict):
                problems += [f"{key}: {p}" for p in
                             conforms(item, schema["additionalProperties"])]
            elif schema.get("additionalProperties") is False:
                problems.append(f"{key} is not allowed")
    return problems


def test_the_schemas_describe_what_the_api_returns(demo):
    schemas = {name: demo.request("GET", f"/v2/schemas/{name}").json()
               for name in ("image", "images", "member", "members")}
    image_schema = schemas["image"]
    assert image_schema["name"] == "image"
    assert set(image_schema["properties"]["disk_format"]["enum"]) >= {"qcow2", "raw", "vmdk"}
    queued = demo.new(os_distro="debian", tags=["t"])
    active = demo.uploaded(raw_bytes(2048))
    for image in (queued, active):
        assert conforms(image, image_schema) == [], image
        assert GLANCE_FIELDS - {"direct_url"} <= set(image_schema["properties"])
    listing = demo.list(limit=2).json()
    assert conforms(listing, schemas["images"]) == []
    assert demo.request("GET", "/v2/schemas/nothing").status_code == 404
    assert schemas["members"]["properties"]["members"]["items"]["name"] == "member"
