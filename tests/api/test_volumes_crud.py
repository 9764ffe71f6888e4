"""volumed over HTTP: discovery, microversions, create/list/show/update/
delete, metadata, names that are not ids, the odd query strings."""
from __future__ import annotations

import os

import pytest
import requests

from shared.units import GiB, MiB
from tests.support.volumes import VolumeApi, unique


@pytest.fixture(scope="module")
def demo(stack) -> VolumeApi:
    return VolumeApi(stack, "demo")


@pytest.fixture(scope="module")
def admin(stack) -> VolumeApi:
    return VolumeApi(stack, "admin")


def test_version_discovery_needs_no_token(stack):
    root = requests.get(stack.url("volumed") + "/", timeout=10)
    assert root.status_code == 300
    for path in ("/v3/", "/v3"):
        response = requests.get(stack.url("volumed") + path, timeout=10)
        assert response.status_code == 200
        (version,) = response.json()["versions"]
        assert version["id"] == "v3.0" and version["status"] == "CURRENT"
        assert version["min_version"] == "3.0" and version["version"] == "3.44"
        self_link = [link for link in version["links"] if link["rel"] == "self"][0]
        assert self_link["href"] == stack.url("volumed") + "/v3/"


def test_requests_need_a_token(stack, demo):
    response = requests.get(demo.base + "/volumes", timeout=10)
    assert response.status_code == 401


def test_microversion_is_echoed_and_too_new_is_refused(demo):
    response = demo.call("GET", "/volumes", version="volume 3.27", expect=200)
    assert response.headers["OpenStack-API-Version"] == "volume 3.27"
    assert demo.call("GET", "/volumes", version=None).headers["OpenStack-API-Version"] == \
        "volume 3.0"
    assert demo.call("GET", "/volumes", version="volume latest").headers[
        "OpenStack-API-Version"] == "volume 3.44"
    too_new = demo.call("GET", "/volumes", version="volume 3.99")
    assert too_new.status_code == 406
    assert "maximum is 3.44" in too_new.text


def test_project_in_url_must_be_the_tokens(stack, demo, admin):
    response = requests.get(f"{stack.url('volumed')}/v3/{admin.project_id}/volumes",
                            headers={"X-Auth-Token": demo.token}, timeout=10)
    assert response.status_code == 400
    assert "Malformed request url" in response.json()["badRequest"]["message"]


def test_create_show_list_update_delete(stack, demo):
    volume = demo.create(size=2, name=unique("crud"), description="first",
                         metadata={"purpose": "test"})
    assert volume["size"] == 2 and volume["status"] == "available"
    assert volume["attachments"] == []
    assert volume["bootable"] == "false"
    assert volume["volume_type"] == "__DEFAULT__"
    assert volume["os-vol-tenant-attr:tenant_id"] == demo.project_id
    assert volume["metadata"] == {"purpose": "test"}

    # The file: a sparse raw file of 2 GiB that costs (almost) nothing yet.
    path = stack.state_dir / "lib" / "volumes" / f"volume-{volume['id']}"
    assert path.stat().st_size == 2 * GiB
    assert path.stat().st_blocks * 512 < MiB
    assert oct(path.stat().st_mode & 0o777) == "0o600"

    listed = demo.call("GET", "/volumes", expect=200).json()["volumes"]
    assert {"id": volume["id"], "name": volume["name"]}.items() <= \
        [v for v in listed if v["id"] == volume["id"]][0].items()
    detail = demo.call("GET", "/volumes/detail", expect=200).json()["volumes"]
    assert [v["status"] for v in detail if v["id"] == volume["id"]] == ["available"]

    updated = demo.call("PUT", f"/volumes/{volume['id']}", expect=200, json={
        "volume": {"name": volume["name"] + "-renamed", "description": "second"}}).json()
    assert updated["volume"]["name"] == volume["name"] + "-renamed"
    assert updated["volume"]["description"] == "second"

    # The clients' delete carries cascade=False&force=False as literal strings.
    demo.delete(volume["id"], cascade="False", force="False")
    demo.wait_gone(volume["id"])
    assert not path.exists()


def test_get_by_name_is_404_and_name_filter_finds_it(demo):
    volume = demo.create(name=unique("byname"))
    missing = demo.call("GET", f"/volumes/{volume['name']}")
    assert missing.status_code == 404
    assert "itemNotFound" in missing.json()
    found = demo.call("GET", "/volumes/detail", params={"name": volume["name"]},
                      expect=200).json()["volumes"]
    assert [v["id"] for v in found] == [volume["id"]]
    demo.delete(volume["id"])


def test_create_accepts_the_clients_explicit_nulls(demo):
    body = {"volume": {"size": 1, "name": unique("nulls"), "description": None,
                       "metadata": None, "volume_type": None, "availability_zone": None,
                       "snapshot_id": None, "source_volid": None,
                       "consistencygroup_id": None, "imageRef": None, "backup_id": None}}
    volume = demo.call("POST", "/volumes", json=body, expect=202).json()["volume"]
    assert demo.wait(volume["id"], "available")["metadata"] == {}
    demo.delete(volume["id"])


def test_the_create_answer_lacks_what_cinders_extensions_add_to_show(demo, admin):
    """Cinder's tenant, host and migration attributes extend show and detail,
    not create (the answer a client gets from POST)."""
    for client in (demo, admin):
        created = client.call("POST", "/volumes", json={"volume": {"size": 1}},
                              expect=202).json()["volume"]
        assert not [key for key in created if key.startswith("os-vol-")], created
        shown = client.wait(created["id"], "available")
        assert shown["os-vol-tenant-attr:tenant_id"] == client.project_id
        client.delete(created["id"])


@pytest.mark.parametrize("size", [0, -1, "abc", 1.5, None])
def test_bad_sizes_are_refused(demo, size):
    response = demo.call("POST", "/volumes", json={"volume": {"size": size}})
    assert response.status_code == 400
    assert "size" in response.json()["badRequest"]["message"]


def test_unknown_volume_type_is_404(demo):
    response = demo.call("POST", "/volumes", json={"volume": {"size": 1,
                                                              "volume_type": "nope"}})
    assert response.status_code == 404


def test_metadata_api(demo):
    volume = demo.create(metadata={"a": "1"})
    vid = volume["id"]
    merged = demo.call("POST", f"/volumes/{vid}/metadata", json={"metadata": {"b": "2"}},
                       expect=200).json()["metadata"]
    assert merged == {"a": "1", "b": "2"}
    assert demo.call("GET", f"/volumes/{vid}/metadata/b", expect=200).json() == \
        {"meta": {"b": "2"}}
    demo.call("DELETE", f"/volumes/{vid}/metadata/a", expect=200)
    replaced = demo.call("PUT", f"/volumes/{vid}/metadata", json={"metadata": {"c": "3"}},
                         expect=200).json()["metadata"]
    assert replaced == {"c": "3"}
    assert demo.call("GET", f"/volumes/{vid}/metadata/zzz").status_code == 404
    filtered = demo.call("GET", "/volumes/detail", params={"metadata": '{"c": "3"}'},
                         expect=200).json()["volumes"]
    assert vid in [v["id"] for v in filtered]
    demo.delete(vid)


def test_pagination_with_limit_and_marker(demo):
    tag = unique("page")
    ids = {demo.create(name=f"{tag}-{i}")["id"] for i in range(3)}
    seen, marker = [], None
    while True:
        params = {"limit": 2, "name~": tag, "sort": "name:asc"}
        if marker:
            params["marker"] = marker
        body = demo.call("GET", "/volumes/detail", params=params, expect=200).json()
        seen += [v["id"] for v in body["volumes"]]
        if "volumes_links" not in body:
            break
        marker = body["volumes"][-1]["id"]
    assert set(seen) == ids and len(seen) == 3
    for vid in ids:
        demo.delete(vid)


def test_other_projects_cannot_see_a_volume_but_admin_can(stack, demo, admin):
    volume = demo.create()
    hidden = admin.call("GET", "/volumes/detail", expect=200).json()["volumes"]
    assert volume["id"] not in [v["id"] for v in hidden]
    everyone = admin.call("GET", "/volumes/detail", params={"all_tenants": "1"},
                          expect=200).json()["volumes"]
    assert volume["id"] in [v["id"] for v in everyone]
    assert admin.call("GET", f"/volumes/{volume['id']}", expect=200).json()["volume"][
        "os-vol-tenant-attr:tenant_id"] == demo.project_id
    # A member's all_tenants is dropped, as Cinder drops it: the member's own
    # volumes (cinderclient's name lookups always send it).
    others = admin.create()
    own = demo.call("GET", "/volumes/detail", params={"all_tenants": "1"},
                    expect=200).json()["volumes"]
    assert volume["id"] in [v["id"] for v in own]
    assert others["id"] not in [v["id"] for v in own]
    snapshots = demo.call("GET", "/snapshots", params={"all_tenants": "maybe"}, expect=200)
    assert snapshots.json()["snapshots"] == [] or all(
        s["volume_id"] == volume["id"] for s in snapshots.json()["snapshots"])
    demo.delete(volume["id"])
    admin.delete(others["id"])


def test_summary_and_types_and_zones(demo):
    volume = demo.create(size=3)
    summary = demo.call("GET", "/volumes/summary", expect=200).json()["volume-summary"]
    assert summary["total_count"] >= 1 and summary["total_size"] >= 3
    types = demo.call("GET", "/types", expect=200).json()["volume_types"]
    assert "__DEFAULT__" in [t["name"] for t in types]
    default = demo.call("GET", "/types/default", expect=200).json()["volume_type"]
    assert default["name"] == "__DEFAULT__"
    zones = demo.call("GET", "/os-availability-zone", expect=200).json()
    assert zones["availabilityZoneInfo"][0]["zoneName"] == "nova"
    demo.delete(volume["id"])


def test_volume_types_are_managed_by_admins(demo, admin):
    name = unique("gold")
    assert demo.call("POST", "/types", json={"volume_type": {"name": name}}).status_code == 403
    created = admin.call("POST", "/types", json={"volume_type": {
        "name": name, "extra_specs": {"tier": "gold"}}}, expect=200).json()["volume_type"]
    volume = demo.create(volume_type=name)
    assert volume["volume_type"] == name
    assert admin.call("DELETE", f"/types/{created['id']}").status_code == 400  # in use
    demo.delete(volume["id"])
    demo.wait_gone(volume["id"])
    admin.call("DELETE", f"/types/{created['id']}", expect=202)


def test_database_and_volumes_are_root_only(stack, demo):
    demo.create()
    lib = stack.state_dir / "lib"
    assert oct(os.stat(lib / "volumes").st_mode & 0o777) == "0o700"
    assert oct(os.stat(lib / "volumed.sqlite").st_mode & 0o777) == "0o600"


def test_a_boolean_that_is_not_one_is_a_400_naming_it(demo, admin):
    """Cinder's strict booleans (strutils.bool_from_string): 'maybe' is
    refused, never read as false."""
    volume = demo.create()
    try:
        vid = volume["id"]
        refused = {
            "all_tenants": admin.call("GET", "/volumes", params={"all_tenants": "maybe"}),
            "bootable": demo.call("GET", "/volumes/detail", params={"bootable": "maybe"}),
            "usage": demo.call("GET", f"/os-quota-sets/{demo.project_id}",
                               params={"usage": "maybe"}),
            "force": demo.call("DELETE", f"/volumes/{vid}", params={"force": "maybe"}),
            "cascade": demo.call("DELETE", f"/volumes/{vid}", params={"cascade": "maybe"}),
        }
        refused["bootable "] = demo.action(vid, "os-set_bootable", {"bootable": "maybe"})
        refused["force "] = demo.action(vid, "os-volume_upload_image", {
            "image_name": unique("never"), "disk_format": "raw", "force": "maybe"})
        refused["force  "] = demo.call("POST", "/snapshots", json={"snapshot": {
            "volume_id": vid, "name": unique("never"), "force": "maybe"}})
        refused["all_tenants "] = admin.call("GET", "/snapshots",
                                             params={"all_tenants": "maybe"})
        for name, response in refused.items():
            assert response.status_code == 400, (name, response.text)
            assert f"Invalid value for {name.strip()}" in response.json()["badRequest"][
                "message"], response.text
        shown = demo.show(vid)
        assert shown["status"] == "available" and shown["bootable"] == "false"
        assert demo.call("GET", "/snapshots", params={"volume_id": vid},
                         expect=200).json()["snapshots"] == []
    finally:
        demo.delete(volume["id"])
        demo.wait_gone(volume["id"])


def test_bootable_filter_is_strict_from_3_2_and_cinder_s_older_rule_before(demo):
    volume = demo.create()
    try:
        demo.action(volume["id"], "os-set_bootable", {"bootable": "yes"}, expect=200)
        for version, word in (("volume 3.2", "yes"), ("volume 3.0", "yes"),
                              ("volume 3.0", "anything")):
            found = demo.call("GET", "/volumes/detail", version=version,
                              params={"bootable": word}, expect=200).json()["volumes"]
            assert volume["id"] in [v["id"] for v in found], (version, word)
        hidden = demo.call("GET", "/volumes/detail", version="volume 3.0",
                           params={"bootable": "FALSE"}, expect=200).json()["volumes"]
        assert volume["id"] not in [v["id"] for v in hidden]
        demo.call("GET", "/volumes/detail", version="volume 3.2",
                  params={"bootable": "anything"}, expect=400)
    finally:
        demo.delete(volume["id"])
        demo.wait_gone(volume["id"])


def test_a_volume_type_made_private_with_the_word_false_is_private(admin):
    created = admin.call("POST", "/types", expect=200, json={"volume_type": {
        "name": unique("private"), "os-volume-type-access:is_public": "false"}}
    ).json()["volume_type"]
    try:
        assert created["is_public"] is False
        updated = admin.call("PUT", f"/types/{created['id']}", expect=200, json={
            "volume_type": {"is_public": "true"}}).json()["volume_type"]
        assert updated["is_public"] is True
        updated = admin.call("PUT", f"/types/{created['id']}", expect=200, json={
            "volume_type": {"is_public": "false"}}).json()["volume_type"]
        assert updated["is_public"] is False
        admin.call("PUT", f"/types/{created['id']}", expect=400, json={
            "volume_type": {"is_public": "maybe"}})
    finally:
        admin.call("DELETE", f"/types/{created['id']}", expect=202)
