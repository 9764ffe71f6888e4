"""Metadata definitions over HTTP: the standard set loaded at first start,
CRUD of namespaces, objects, properties, tags and resource type
associations, visibility and protection."""
from __future__ import annotations

import requests

STANDARD = {"OS::Compute::LibvirtImage", "OS::OperatingSystem", "OS::Compute::VirtCPUTopology",
            "OS::Compute::GuestMemory", "OS::Compute::Watchdog"}


def api(stack, token):
    session = requests.Session()
    session.headers["X-Auth-Token"] = token
    session.headers["Accept"] = "application/json"
    return session, stack.url("imaged") + "/v2/metadefs"


def test_standard_namespaces_are_there_after_first_start(stack, demo_token):
    session, url = api(stack, demo_token)
    listed = session.get(f"{url}/namespaces").json()
    assert {ns["namespace"] for ns in listed["namespaces"]} >= STANDARD
    libvirt = session.get(f"{url}/namespaces/OS::Compute::LibvirtImage").json()
    assert libvirt["protected"] is True and libvirt["visibility"] == "public"
    for name in ("hw_disk_bus", "hw_cdrom_bus", "hw_vif_model", "hw_rng_model",
                 "hw_qemu_guest_agent"):
        assert name in libvirt["properties"], name
    assert libvirt["properties"]["hw_disk_bus"]["enum"][0] == "virtio"
    assert [a["name"] for a in libvirt["resource_type_associations"]] == ["OS::Glance::Image"]
    os_props = session.get(f"{url}/namespaces/OS::OperatingSystem/properties").json()
    assert {"os_distro", "os_type"} <= set(os_props["properties"])
    cpu = session.get(f"{url}/namespaces/OS::Compute::VirtCPUTopology/resource_types").json()
    prefixes = {a["name"]: a.get("prefix") for a in cpu["resource_type_associations"]}
    assert prefixes["OS::Glance::Image"] == "hw_" and prefixes["OS::Nova::Flavor"] == "hw:"
    types = {t["name"] for t in session.get(f"{url}/resource_types").json()["resource_types"]}
    assert {"OS::Glance::Image", "OS::Nova::Flavor", "OS::Cinder::Volume"} <= types
    by_type = session.get(f"{url}/namespaces", params={"resource_types": "OS::Nova::Flavor"})
    assert "OS::OperatingSystem" not in {ns["namespace"] for ns in by_type.json()["namespaces"]}


def test_admin_crud_of_a_namespace_and_its_contents(stack, admin_token, demo_token):
    session, url = api(stack, admin_token)
    created = session.post(f"{url}/namespaces", json={
        "namespace": "Lab::Course", "display_name": "Course", "visibility": "private",
        "properties": {"course_level": {"title": "Level", "type": "string",
                                        "enum": ["intro", "advanced"]}}})
    assert created.status_code == 201, created.text
    ns = f"{url}/namespaces/Lab::Course"
    assert session.post(f"{url}/namespaces", json={"namespace": "Lab::Course"}).status_code == 409

    prop = session.post(f"{ns}/properties", json={"name": "lab_seats", "title": "Seats",
                                                  "type": "integer", "minimum": 1})
    assert prop.status_code == 201 and prop.json()["minimum"] == 1
    bad = session.post(f"{ns}/properties", json={"name": "x", "title": "X", "type": "float"})
    assert bad.status_code == 400 and "type must be one of" in bad.json()["message"]
    changed = session.put(f"{ns}/properties/lab_seats", json={"name": "lab_seats",
                                                             "title": "Seats", "type": "integer",
                                                             "maximum": 30})
    assert changed.status_code == 200 and changed.json()["maximum"] == 30

    obj = session.post(f"{ns}/objects", json={"name": "Schedule", "required": ["day"],
                                              "properties": {"day": {"title": "Day",
                                                                     "type": "string"}}})
    assert obj.status_code == 201
    assert session.get(f"{ns}/objects/Schedule").json()["required"] == ["day"]

    tags = session.post(f"{ns}/tags", json={"tags": [{"name": "lab"}, {"name": "course"}]})
    assert tags.status_code == 201
    assert session.post(f"{ns}/tags/extra").status_code == 201
    assert {t["name"] for t in session.get(f"{ns}/tags").json()["tags"]} == \
        {"lab", "course", "extra"}

    assoc = session.post(f"{ns}/resource_types", json={"name": "OS::Glance::Image",
                                                        "prefix": "lab_"})
    assert assoc.status_code == 201
    shown = session.get(ns).json()
    assert set(shown["properties"]) == {"course_level", "lab_seats"}
    assert [o["name"] for o in shown["objects"]] == ["Schedule"]

    # A private namespace of the admin project is invisible to demo (404, not 403).
    demo, _ = api(stack, demo_token)
    assert demo.get(ns).status_code == 404
    assert "Lab::Course" not in {n["namespace"] for n in
                                 demo.get(f"{url}/namespaces").json()["namespaces"]}

    assert session.delete(f"{ns}/resource_types/OS::Glance::Image").status_code == 204
    assert session.delete(f"{ns}/tags/extra").status_code == 204
    assert session.delete(f"{ns}/objects/Schedule").status_code == 204
    assert session.delete(f"{ns}/properties/lab_seats").status_code == 204
    assert session.delete(ns).status_code == 204
    assert session.get(ns).status_code == 404


def test_members_may_read_but_not_write(stack, demo_token):
    session, url = api(stack, demo_token)
    refused = session.post(f"{url}/namespaces", json={"namespace": "Student::Own"})
    assert refused.status_code == 403
    assert session.delete(f"{url}/namespaces/OS::OperatingSystem").status_code == 403


def test_a_protected_namespace_cannot_be_deleted(stack, admin_token):
    session, url = api(stack, admin_token)
    refused = session.delete(f"{url}/namespaces/OS::Compute::Watchdog")
    assert refused.status_code == 403
    assert "protected" in refused.json()["message"]
    assert session.get(f"{url}/namespaces/OS::Compute::Watchdog").status_code == 200


def test_x_openstack_append_takes_the_boolean_words_and_refuses_others(stack, admin_token):
    """Tags replace the namespace's tags unless X-Openstack-Append is true, in
    any of the words OpenStack reads as true; a word that is no boolean is a
    400 that names the header, and changes nothing."""
    session, url = api(stack, admin_token)
    ns = f"{url}/namespaces/Lab::Append"
    assert session.post(f"{url}/namespaces", json={"namespace": "Lab::Append"}).status_code \
        == 201
    try:
        def names():
            return [t["name"] for t in session.get(f"{ns}/tags").json()["tags"]]

        assert session.post(f"{ns}/tags", json={"tags": [{"name": "a"}]}).status_code == 201
        appended = session.post(f"{ns}/tags", json={"tags": [{"name": "b"}]},
                                headers={"X-Openstack-Append": "yes"})
        assert appended.status_code == 201 and sorted(names()) == ["a", "b"]
        refused = session.post(f"{ns}/tags", json={"tags": [{"name": "c"}]},
                               headers={"X-Openstack-Append": "maybe"})
        assert refused.status_code == 400
        assert "X-Openstack-Append" in refused.json()["message"]
        assert sorted(names()) == ["a", "b"]
        replaced = session.post(f"{ns}/tags", json={"tags": [{"name": "d"}]},
                                headers={"X-Openstack-Append": "False"})
        assert replaced.status_code == 201 and names() == ["d"]
    finally:
        session.delete(ns)
