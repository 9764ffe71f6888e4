"""Servers over computed's API: what POST /servers refuses (and that nothing
is left behind), a server taken through every state with the 409s Nova
gives, the views, filters, metadata, limits and the hypervisor's usage.

One real server is built here (its domain runs under TCG); the tests that
need a booted guest are under tests/e2e."""
from __future__ import annotations

import json
import platform

import pytest

from tests.support.compute import (
    Images,
    Volumes,
    b64,
    base_name,
    instances_dir,
    leftovers,
    project_id_of,
    unique,
)


@pytest.fixture(scope="module")
def images(stack) -> Images:
    return Images(stack, stack.token("demo"))


@pytest.fixture(scope="module")
def server(demo) -> dict:
    """One server, ACTIVE (its guest may still be booting)."""
    made = demo.create(name=unique("life"), metadata={"role": "lab"})
    return demo.wait_status(made["id"], "ACTIVE")


def names_of(response) -> set[str]:
    return {s["name"] for s in response.json()["servers"]}


# --- what POST /servers refuses -----------------------------------------------------------
@pytest.mark.parametrize("change, status, words", [
    ({"flavorRef": "no-such-flavor"}, 400, "Flavor no-such-flavor could not be found"),
    ({"imageRef": "6d0cc6b4-0000-4000-8000-000000000000"}, 400, "Can not find requested image"),
    ({"key_name": "no-such-key"}, 400, "Invalid key_name provided"),
    ({"user_data": "not base64!"}, 400, "User data needs to be valid base 64"),
    ({"networks": [{"uuid": "6d0cc6b4-0000-4000-8000-000000000001"}]}, 400,
     "Network 6d0cc6b4-0000-4000-8000-000000000001 could not be found."),
    ({"networks": "auto"}, 400, "'auto' is not of type 'array'"),  # 2.37+ only
    ({"name": ""}, 400, "name"),
    ({"name": " padded "}, 400, "name"),
    ({"config_drive": "maybe"}, 400, "config_drive"),
    ({"max_count": 11}, 400, "max_count"),
    ({"availability_zone": "elsewhere"}, 400, "availability zone"),
    ({"metadata": {"k": 1}}, 400, "field/attribute k. Value: 1."),  # Nova's words
    ({"block_device_mapping_v2": [{"source_type": "volume", "destination_type": "volume",
                                   "uuid": "6d0cc6b4-0000-4000-8000-000000000002",
                                   "boot_index": 0}]}, 400, "Boot sequence for the instance "
                                                            "and image/block device mapping "
                                                            "combination is not valid."),
    ({"block_device_mapping_v2": [{"source_type": "blank", "destination_type": "local",
                                   "volume_size": 1}]}, 400, "not supported"),
])
def test_bad_requests_are_400_and_leave_nothing(demo, change, status, words):
    sent = {"name": unique("bad"), **change}  # the name of the server asked for
    response = demo.create(**sent, expect=status)
    assert words in response.text, response.text
    assert sent["name"] not in names_of(demo.call("GET", "/servers"))


def test_an_image_that_is_not_active_is_refused(demo, images):
    queued = images.create(None)  # never uploaded: queued
    response = demo.create(image=queued["id"], expect=400)
    assert f"Image {queued['id']} is not active" in response.text
    images.delete(queued["id"])


def test_an_image_too_big_for_the_flavor_is_refused(demo, images):
    needy = images.create(b"\0" * 4096, min_ram=4096)
    response = demo.create(image=needy["id"], expect=400)
    assert "Flavor's memory is too small for requested image" in response.text
    images.delete(needy["id"])
    roomy = images.create(b"\0" * 4096, min_disk=5)
    response = demo.create(image=roomy["id"], expect=400)
    assert "Flavor's disk is too small for requested image" in response.text
    images.delete(roomy["id"])


def test_a_missing_volume_is_refused_and_nothing_is_left(demo):
    name = unique("novol")
    missing = "6d0cc6b4-0000-4000-8000-00000000dead"
    response = demo.create(name=name, expect=400, block_device_mapping_v2=[
        {"source_type": "volume", "destination_type": "volume", "uuid": missing}])
    assert f"failed to get volume {missing}" in response.text
    assert name not in names_of(demo.call("GET", "/servers"))


def test_a_volume_in_use_is_refused_and_its_attachment_stays_alone(demo, stack):
    volumes = Volumes(stack, demo.token, project_id_of(stack))
    volume = volumes.create()
    try:
        # Reserve it for someone else, as a second server would.
        import requests
        taken = requests.post(f"{volumes.url}/attachments", headers=volumes.headers,
                              timeout=30, json={"attachment": {"volume_uuid": volume["id"]}})
        assert taken.status_code == 200, taken.text
        response = demo.create(expect=400, block_device_mapping_v2=[
            {"source_type": "volume", "destination_type": "volume", "uuid": volume["id"]}])
        # Nova's InvalidVolume around volumed's 400 on the reservation
        message = response.json()["badRequest"]["message"]
        assert message.startswith("Invalid volume: Invalid input received: Invalid volume: ")
        assert "already has an attachment" in message and message.endswith("(HTTP 400)")
        assert len(volumes.attachments(volume["id"])) == 1
        requests.delete(f"{volumes.url}/attachments/{taken.json()['attachment']['id']}",
                        headers=volumes.headers, timeout=30)
    finally:
        volumes.wait(volume["id"], "available")
        volumes.delete(volume["id"])


def test_over_quota_is_403(admin, demo):
    flavor = admin.call("POST", "/flavors", json={"flavor": {
        "name": unique("greedy"), "ram": 128, "vcpus": 21, "disk": 1}}).json()["flavor"]
    try:
        response = demo.create(flavor=flavor["id"], expect=403)
        assert "Quota exceeded for cores: Requested 21" in response.text
    finally:
        admin.call("DELETE", f"/flavors/{flavor['id']}")


def test_a_flavor_too_big_for_the_host_is_error_no_valid_host(admin, demo, stack):
    free_disk = admin.hypervisor()["local_gb_claimable_free"]
    flavor = admin.call("POST", "/flavors", json={"flavor": {
        "name": unique("huge"), "ram": 128, "vcpus": 1, "disk": free_disk + 1}}).json()["flavor"]
    try:
        made = demo.create(flavor=flavor["id"])
        server = demo.wait_status(made["id"], "ERROR")
        assert server["fault"]["message"].startswith("No valid host was found")
        assert "local disk" in server["fault"]["message"]
        assert server["fault"]["code"] == 500
        assert "details" not in server["fault"]  # the traceback is for admins
        assert admin.show(made["id"])["fault"]["details"]
        assert server["OS-EXT-STS:vm_state"] == "error"
        assert leftovers(stack, made["id"]) == []
        events = demo.events(made["id"], "compute.instance.create")
        assert events[-1] == "compute.instance.create.error"
        demo.delete(made["id"])
    finally:
        admin.call("DELETE", f"/flavors/{flavor['id']}")


# --- a server through its states -----------------------------------------------------------
def test_show_gives_the_2_1_view(demo, server, stack):
    assert server["status"] == "ACTIVE"
    assert server["OS-EXT-STS:vm_state"] == "active"
    assert server["OS-EXT-STS:power_state"] == 1
    assert server["OS-EXT-STS:task_state"] is None
    assert server["flavor"]["id"] == "1" and server["image"]["id"] == demo.image_id()
    assert server["metadata"] == {"role": "lab"}
    assert server["hostId"] and server["progress"] == 100
    assert "OS-EXT-SRV-ATTR:instance_name" not in server  # admins only
    assert server["os-extended-volumes:volumes_attached"] == []
    assert demo.call("GET", f"/servers/{server['name']}").status_code == 404
    assert (instances_dir(stack) / server["id"] / "disk").exists()


def test_admin_sees_the_domain_name_and_host(admin, server):
    shown = admin.show(server["id"])
    assert shown["OS-EXT-SRV-ATTR:instance_name"] == f"instance-{server['id'][:8]}"
    assert shown["OS-EXT-SRV-ATTR:host"]


def test_list_filters(demo, server):
    assert server["name"] in names_of(demo.call("GET", "/servers"))
    assert names_of(demo.call("GET", "/servers/detail", params={"name": server["name"]})) \
        == {server["name"]}
    assert server["name"] in names_of(demo.call("GET", "/servers/detail",
                                                params={"status": "ACTIVE"}))
    assert server["name"] not in names_of(demo.call("GET", "/servers/detail",
                                                    params={"status": "SHUTOFF"}))
    assert server["name"] in names_of(demo.call("GET", "/servers/detail",
                                                params={"deleted": "False", "flavor": "1"}))
    page = demo.call("GET", "/servers/detail", params={"limit": 1}).json()
    assert len(page["servers"]) == 1
    assert demo.call("GET", "/servers", params={"all_tenants": "1"}).status_code == 403
    assert demo.call("GET", "/servers", params={"all_tenants": ""}).status_code == 403


@pytest.mark.parametrize("query", [{"all_tenants": "maybe"}, {"deleted": "maybe"}])
def test_an_unknown_boolean_word_in_a_listing_is_400(admin, query):
    response = admin.call("GET", "/servers", params=query)
    assert response.status_code == 400, response.text
    assert f"Invalid value for {next(iter(query))}: Unrecognized value 'maybe'" \
        in response.json()["badRequest"]["message"]


def test_rename_and_metadata(demo, server):
    path = f"/servers/{server['id']}"
    renamed = demo.call("PUT", path, json={"server": {"name": server["name"] + "-x"}})
    assert renamed.json()["server"]["name"] == server["name"] + "-x"
    demo.call("PUT", path, json={"server": {"name": server["name"]}})
    assert demo.call("POST", f"{path}/metadata", json={"metadata": {"b": "2"}}).json() == \
        {"metadata": {"role": "lab", "b": "2"}}
    assert demo.call("GET", f"{path}/metadata/b").json() == {"meta": {"b": "2"}}
    assert demo.call("DELETE", f"{path}/metadata/b").status_code == 204
    assert demo.call("GET", f"{path}/metadata").json() == {"metadata": {"role": "lab"}}


def expect_409(demo, server_id: str, *actions) -> None:
    for name, argument in actions:
        response = demo.action(server_id, name, argument)
        assert response.status_code == 409, f"{name}: {response.status_code} {response.text}"
        assert "Cannot '" in response.json()["conflictingRequest"]["message"]


def test_pause_unpause_suspend_resume_with_409s(demo, server):
    sid = server["id"]
    expect_409(demo, sid, ("os-start", None), ("unpause", None), ("resume", None))
    assert demo.action(sid, "pause", None).status_code == 202
    paused = demo.wait_status(sid, "PAUSED", task_state=None)
    assert paused["OS-EXT-STS:power_state"] == 3
    expect_409(demo, sid, ("pause", None), ("suspend", None), ("os-stop", None),
               ("reboot", {"type": "SOFT"}))
    assert demo.action(sid, "unpause", None).status_code == 202
    demo.wait_status(sid, "ACTIVE", task_state=None)
    assert demo.action(sid, "suspend", None).status_code == 202
    suspended = demo.wait_status(sid, "SUSPENDED", task_state=None)
    assert suspended["OS-EXT-STS:power_state"] == 4
    expect_409(demo, sid, ("pause", None), ("os-stop", None), ("suspend", None))
    assert demo.action(sid, "resume", None).status_code == 202
    demo.wait_status(sid, "ACTIVE", task_state=None)


def test_stop_start_and_reboots_with_409s(demo, server):
    sid = server["id"]
    assert demo.action(sid, "os-stop", None).status_code == 202
    stopped = demo.wait_status(sid, "SHUTOFF", task_state=None)
    assert stopped["OS-EXT-STS:power_state"] == 4
    expect_409(demo, sid, ("os-stop", None), ("pause", None), ("reboot", {"type": "SOFT"}))
    assert demo.action(sid, "os-start", None).status_code == 202
    demo.wait_status(sid, "ACTIVE", task_state=None)
    assert demo.action(sid, "reboot", {"type": "HARD"}).status_code == 202
    demo.wait_status(sid, "ACTIVE", task_state=None)
    assert demo.action(sid, "reboot", {"type": "sideways"}).status_code == 400
    assert demo.action(sid, "fly", {}).status_code == 400
    events = demo.events(sid, "compute.instance.")
    for pair in ("pause", "unpause", "suspend", "resume", "power_off", "power_on", "reboot"):
        assert f"compute.instance.{pair}.start" in events
        assert f"compute.instance.{pair}.end" in events


def test_console_output_and_its_length(demo, server):
    everything = demo.console(server["id"])
    assert demo.console(server["id"], length=0) == ""
    last = demo.console(server["id"], length=1)
    assert last == "".join(everything.splitlines(keepends=True)[-1:])
    assert demo.action(server["id"], "os-getConsoleOutput",
                       {"length": "many"}).status_code == 400


def test_limits_and_hypervisor_count_the_server(demo, admin, server):
    absolute = demo.call("GET", "/limits").json()["limits"]["absolute"]
    assert absolute["totalInstancesUsed"] >= 1 and absolute["totalCoresUsed"] >= 1
    assert absolute["totalRAMUsed"] >= 128
    assert absolute["maxTotalCores"] == 20 and absolute["maxTotalInstances"] == 10
    hypervisor = admin.hypervisor()
    assert hypervisor["vcpus_used"] >= 1 and hypervisor["local_gb_used"] >= 2
    assert hypervisor["running_vms"] >= 1
    assert hypervisor["hypervisor_type"] == "QEMU"
    for key in ("vcpus", "memory_mb", "local_gb", "free_ram_mb", "free_disk_gb",
                "vcpus_claimable_free", "memory_mb_claimable_free", "local_gb_claimable_free"):
        assert isinstance(hypervisor[key], int), key
    assert demo.call("GET", "/os-hypervisors/detail").status_code == 403
    statistics = admin.call("GET", "/os-hypervisors/statistics").json()
    assert statistics["hypervisor_statistics"]["count"] == 1
    assert absolute["maxImageMeta"] == absolute["maxServerMeta"] == 128  # [quota]
    listed = admin.call("GET", "/os-hypervisors").json()["hypervisors"]
    assert [h["id"] for h in listed] == [hypervisor["id"]] == [hypervisor["service"]["id"]]
    assert hypervisor["host_ip"] == "127.0.0.1"  # [compute] my_ip empty: the API's address
    assert json.loads(hypervisor["cpu_info"])["arch"] == platform.machine()


def test_delete_frees_everything_but_the_image(demo, admin, server, stack):
    before = admin.hypervisor()
    demo.delete(server["id"])
    assert leftovers(stack, server["id"]) == []
    after = admin.hypervisor()
    assert after["vcpus_used"] == before["vcpus_used"] - 1
    assert after["local_gb_used"] == before["local_gb_used"] - 2
    assert demo.call("GET", f"/servers/{server['id']}").status_code == 404
    assert demo.action(server["id"], "os-stop", None).status_code == 404
    deleted = admin.call("GET", "/servers/detail",
                         params={"all_tenants": "1", "deleted": "True"}).json()["servers"]
    assert server["id"] in {s["id"] for s in deleted if s["status"] == "DELETED"}
    assert (instances_dir(stack) / "_base" / base_name(demo.image_id())).exists()
    events = demo.events(server["id"], "compute.instance.delete")
    assert events[-1] == "compute.instance.delete.end"


def test_user_data_and_create_body_of_the_real_client(demo):
    """The client's body at 2.1: imageRef and an image/local mapping,
    networks [] (the project's only network)."""
    image = demo.image_id()
    made = demo.create(user_data=b64("#!/bin/sh\necho hi\n"), networks=[],
                       min_count=1, max_count=1, block_device_mapping_v2=[{
                           "uuid": image, "boot_index": 0, "source_type": "image",
                           "destination_type": "local", "delete_on_termination": True}])
    demo.delete(made["id"], wait=True)


def test_delete_during_the_build_leaves_nothing(demo, stack):
    made = demo.create()
    demo.delete(made["id"])  # at whatever step the build is
    assert leftovers(stack, made["id"]) == []
    events = demo.events(made["id"])
    assert events[-1] == "compute.instance.delete.end"


def test_several_servers_in_one_request(demo, stack):
    name = unique("many")
    response = demo.call("POST", "/servers", json={"server": {
        "name": name, "imageRef": demo.image_id(), "flavorRef": "1", "min_count": 2,
        "max_count": 2, "return_reservation_id": True}})
    assert response.status_code == 202, response.text
    reservation = response.json()["reservation_id"]
    servers = demo.call("GET", "/servers/detail",
                        params={"reservation_id": reservation}).json()["servers"]
    assert sorted(s["name"] for s in servers) == [f"{name}-1", f"{name}-2"]
    for server in servers:
        demo.delete(server["id"])
        assert leftovers(stack, server["id"]) == []
