"""Flavors over computed's API: the defaults, create/delete by admins,
extra specs, private flavors, and the errors a user can make."""
from __future__ import annotations

import pytest

from tests.support.compute import unique


def test_version_document_is_public_and_names_the_range(stack):
    import requests
    version = requests.get(stack.url("computed") + "/v2.1", timeout=10).json()["version"]
    assert (version["id"], version["status"], version["version"], version["min_version"]) \
        == ("v2.1", "CURRENT", "2.38", "2.1")
    assert requests.get(stack.url("computed") + "/", timeout=10).json()["versions"]


def test_a_microversion_above_the_maximum_is_406(demo):
    response = demo.call("GET", "/flavors", headers={"OpenStack-API-Version": "compute 2.60"})
    assert response.status_code == 406
    assert "maximum is 2.38" in response.text
    ok = demo.call("GET", "/flavors", headers={"OpenStack-API-Version": "compute 2.1"})
    assert ok.headers["OpenStack-API-Version"] == "compute 2.1"


def test_default_flavors_show_every_disk(demo):
    flavors = {f["name"]: f for f in demo.call("GET", "/flavors/detail").json()["flavors"]}
    assert {"m1.nano", "m1.tiny", "m1.small", "m1.medium"} <= set(flavors)
    nano = flavors["m1.nano"]
    assert (nano["vcpus"], nano["ram"], nano["disk"], nano["OS-FLV-EXT-DATA:ephemeral"],
            nano["swap"]) == (1, 128, 1, 1, "")  # Nova's "no swap" before 2.75
    assert flavors["m1.tiny"]["swap"] > 0
    assert all(f["os-flavor-access:is_public"] for f in flavors.values()
               if f["name"].startswith("m1."))
    summary = demo.call("GET", "/flavors").json()["flavors"]
    assert set(summary[0]) == {"id", "name", "links"}
    # Exactly the fields of 2.1 (description arrives in 2.55).
    assert set(nano) == {"id", "name", "ram", "disk", "vcpus", "swap", "rxtx_factor",
                         "OS-FLV-EXT-DATA:ephemeral", "OS-FLV-DISABLED:disabled",
                         "os-flavor-access:is_public", "links"}


def test_show_and_the_real_clients_lookups(demo):
    assert demo.call("GET", "/flavors/1").json()["flavor"]["name"] == "m1.nano"
    assert demo.call("GET", "/flavors/m1.nano").status_code == 404  # a name is not an id
    everything = demo.call("GET", "/flavors/detail", params={"is_public": "None"})
    assert any(f["name"] == "m1.nano" for f in everything.json()["flavors"])


def test_admin_creates_and_deletes_a_flavor(admin, demo):
    name = unique("flv")
    body = {"flavor": {"name": name, "ram": 64, "vcpus": 1, "disk": 2, "swap": 32,
                       "OS-FLV-EXT-DATA:ephemeral": 1, "os-flavor-access:is_public": True,
                       "id": None}}
    created = admin.call("POST", "/flavors", json=body)
    assert created.status_code == 200, created.text
    flavor = created.json()["flavor"]
    assert (flavor["ram"], flavor["disk"], flavor["swap"],
            flavor["OS-FLV-EXT-DATA:ephemeral"]) == (64, 2, 32, 1)
    assert flavor["id"]  # "id": null -> the server made one
    assert admin.call("POST", "/flavors", json=body).status_code == 409
    assert demo.call("DELETE", f"/flavors/{flavor['id']}").status_code == 403
    assert admin.call("DELETE", f"/flavors/{flavor['id']}").status_code == 202
    assert demo.call("GET", f"/flavors/{flavor['id']}").status_code == 404


def test_members_cannot_create_flavors(demo):
    response = demo.call("POST", "/flavors", json={"flavor": {"name": unique("x"), "ram": 64,
                                                               "vcpus": 1, "disk": 1}})
    assert response.status_code == 403
    assert "forbidden" in response.json()


@pytest.mark.parametrize("change, field", [
    ({"ram": 0}, "ram"), ({"vcpus": "many"}, "vcpus"), ({"disk": -1}, "disk"),
    ({"name": " padded "}, "name"), ({"id": "bad/id"}, "id"), ({"ram": None}, "ram"),
])
def test_bad_flavor_bodies_are_400(admin, change, field):
    body = {"name": unique("bad"), "ram": 64, "vcpus": 1, "disk": 1, **change}
    response = admin.call("POST", "/flavors", json={"flavor": body})
    assert response.status_code == 400, response.text
    assert field in response.json()["badRequest"]["message"]


def test_extra_specs(admin, demo):
    flavor = admin.call("POST", "/flavors", json={"flavor": {
        "name": unique("spec"), "ram": 64, "vcpus": 1, "disk": 1}}).json()["flavor"]
    path = f"/flavors/{flavor['id']}/os-extra_specs"
    try:
        assert demo.call("GET", path).json() == {"extra_specs": {}}
        assert demo.call("POST", path, json={"extra_specs": {"hw:x": "1"}}).status_code == 403
        set_ = admin.call("POST", path, json={"extra_specs": {"hw:cpu_policy": "shared",
                                                              "quota:n": 3}})
        assert set_.json()["extra_specs"] == {"hw:cpu_policy": "shared", "quota:n": "3"}
        assert admin.call("PUT", f"{path}/quota:n", json={"quota:n": "4"}).json() == \
            {"quota:n": "4"}
        assert admin.call("PUT", f"{path}/quota:n", json={"other": "4"}).status_code == 400
        assert demo.call("GET", f"{path}/quota:n").json() == {"quota:n": "4"}
        assert admin.call("DELETE", f"{path}/quota:n").status_code == 202
        assert demo.call("GET", f"{path}/quota:n").status_code == 404
        bad = admin.call("POST", path, json={"extra_specs": {"bad key!": "1"}})
        assert bad.status_code == 400
    finally:
        admin.call("DELETE", f"/flavors/{flavor['id']}")


def test_a_private_flavor_is_seen_by_the_projects_it_is_shared_with(admin, demo, stack):
    flavor = admin.call("POST", "/flavors", json={"flavor": {
        "name": unique("priv"), "ram": 64, "vcpus": 1, "disk": 1,
        "os-flavor-access:is_public": False}}).json()["flavor"]
    try:
        assert demo.call("GET", f"/flavors/{flavor['id']}").status_code == 404
        listed = {f["id"] for f in demo.call("GET", "/flavors").json()["flavors"]}
        assert flavor["id"] not in listed
        demo_project = stack.login("demo").json()["token"]["project"]["id"]
        added = admin.call("POST", f"/flavors/{flavor['id']}/action",
                           json={"addTenantAccess": {"tenant": demo_project}})
        assert added.json()["flavor_access"] == [{"flavor_id": flavor["id"],
                                                  "tenant_id": demo_project}]
        assert demo.call("GET", f"/flavors/{flavor['id']}").status_code == 200
        listed = {f["id"] for f in demo.call("GET", "/flavors").json()["flavors"]}
        assert flavor["id"] in listed
        admin_all = admin.call("GET", "/flavors", params={"is_public": "false"})
        assert flavor["id"] in {f["id"] for f in admin_all.json()["flavors"]}
    finally:
        admin.call("DELETE", f"/flavors/{flavor['id']}")


def test_pagination_and_sorting(demo):
    page = demo.call("GET", "/flavors/detail", params={"limit": 2, "sort_key": "memory_mb",
                                                       "sort_dir": "desc"}).json()
    assert len(page["flavors"]) == 2
    assert page["flavors"][0]["ram"] >= page["flavors"][1]["ram"]
    assert page["flavors_links"][0]["rel"] == "next"
    assert demo.call("GET", "/flavors", params={"marker": "nope"}).status_code == 400
    assert demo.call("GET", "/flavors", params={"sort_key": "nope"}).status_code == 400
