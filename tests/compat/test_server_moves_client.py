"""`openstack server rebuild`, `server resize` (and `resize confirm` /
`resize revert`, and the older `--confirm` / `--revert`), `server migrate`
and `server migration list`, with the unmodified client against computed
(Nova's 2.1): the states a server goes through, the flavor it ends with,
Nova's refusals, the instance actions and the migrations they leave."""
from __future__ import annotations

import json
import uuid

import pytest

from tests.support.compute import Images, unique, wait_for

ADMIN = "pocketstack-admin"


@pytest.fixture(scope="module")
def server(stack, demo):
    made = demo.create(name=unique("moves"))
    demo.wait_status(made["id"], "ACTIVE")
    return made["id"]


def flavor_id(demo, server_id: str) -> str:
    return demo.show(server_id)["flavor"]["id"]


def refused(stack, *args: str, cloud: str = "pocketstack") -> str:
    result = stack.openstack(*args, cloud=cloud, check=False)
    assert result.returncode != 0, result.stdout
    return result.stderr


def actions(stack, server_id: str) -> list[str]:
    listed = json.loads(stack.openstack("server", "event", "list", server_id,
                                        "-f", "json").stdout)
    return [row["Action"] for row in listed]


def test_resize_then_confirm(stack, demo, server):
    stack.openstack("server", "resize", "--flavor", "m1.tiny", "--wait", server)
    shown = demo.wait_status(server, "VERIFY_RESIZE")
    assert shown["OS-EXT-STS:vm_state"] == "resized"
    assert shown["OS-EXT-STS:task_state"] is None and shown["flavor"]["id"] == "2"
    assert shown["OS-EXT-STS:power_state"] == 1
    stack.openstack("server", "resize", "confirm", server)
    shown = demo.wait_status(server, "ACTIVE", task_state=None)
    assert shown["flavor"]["id"] == "2"
    again = demo.action(server, "confirmResize")
    assert again.status_code == 409, again.text
    assert f"Cannot 'confirmResize' instance {server} while it is in vm_state active" in \
        again.json()["conflictingRequest"]["message"]
    assert actions(stack, server)[:2] == ["confirmResize", "resize"]
    steps = json.loads(stack.openstack(
        "server", "event", "show", server, json.loads(stack.openstack(
            "server", "event", "list", server, "-f", "json").stdout)[1]["Request ID"],
        "-f", "json", cloud=ADMIN).stdout)["events"]
    assert [s["event"] for s in steps] == ["compute_prep_resize", "compute_resize_instance",
                                          "compute_finish_resize"], steps
    assert {s["result"] for s in steps} == {"Success"}
    migrations = json.loads(stack.openstack("server", "migration", "list", "--server",
                                            server, "-f", "json", cloud=ADMIN).stdout)
    assert [m["Status"] for m in migrations] == ["confirmed"], migrations
    assert migrations[0]["Source Compute"] == migrations[0]["Dest Compute"]


def test_resize_then_revert_with_the_older_flag(stack, demo, server):
    before = flavor_id(demo, server)
    stack.openstack("server", "resize", "--flavor", "m1.small", "--wait", server)
    assert demo.wait_status(server, "VERIFY_RESIZE")["flavor"]["id"] == "3"
    hypervisor = demo.__class__(stack, "admin").hypervisor()
    stack.openstack("server", "resize", "--revert", server)
    shown = demo.wait_status(server, "ACTIVE", task_state=None)
    assert shown["flavor"]["id"] == before
    after = demo.__class__(stack, "admin").hypervisor()
    assert after["memory_mb_used"] < hypervisor["memory_mb_used"]   # m1.small freed
    assert actions(stack, server)[:2] == ["revertResize", "resize"]


def test_novas_refusals(stack, demo, server):
    current = flavor_id(demo, server)
    same = demo.action(server, "resize", {"flavorRef": current})
    assert same.status_code == 400
    assert same.json()["badRequest"]["message"] == \
        "When resizing, instances must change flavor!"
    unknown = demo.action(server, "resize", {"flavorRef": "no-such-flavor"})
    assert unknown.status_code == 400
    assert unknown.json()["badRequest"]["message"] == \
        "Flavor no-such-flavor could not be found."
    extra = demo.action(server, "resize", {"flavorRef": "3", "color": "red"})
    assert extra.status_code == 400 and "'color' was unexpected" in extra.text
    not_resized = demo.action(server, "revertResize")
    assert not_resized.status_code == 409
    missing = demo.action(server, "rebuild", {"imageRef": str(uuid.uuid4())})
    assert missing.status_code == 400
    assert missing.json()["badRequest"]["message"] == "Cannot find image for rebuild"
    assert "403" in refused(stack, "server", "migrate", server)   # admins only
    stack.openstack("server", "lock", server)
    for action, argument in (("resize", {"flavorRef": "3"}),
                             ("rebuild", {"imageRef": demo.image_id()})):
        locked = demo.action(server, action, argument)
        assert locked.status_code == 409 and "is locked" in locked.text, locked.text
    stack.openstack("server", "unlock", server)
    assert demo.show(server)["status"] == "ACTIVE"


def test_an_image_the_flavor_cannot_hold_is_refused(stack, demo, server):
    images = Images(stack, demo.token)
    big = images.create(bytes(1 << 20), min_ram=100000)
    try:
        response = demo.action(server, "rebuild", {"imageRef": big["id"]})
        assert response.status_code == 400
        assert response.json()["badRequest"]["message"] == \
            "Flavor's memory is too small for requested image."
    finally:
        images.delete(big["id"])


def test_rebuild_keeps_the_server_and_changes_its_image_name_and_metadata(stack, demo,
                                                                          server):
    before = demo.show(server)
    output = stack.openstack(
        "server", "rebuild", "--image", "pocketstack-tiny", "--name", "rebuilt",
        "--property", "purpose=lab", "--wait", server, "-f", "json").stdout
    shown = json.loads(output[output.index("{"):])   # after --wait's "Complete"
    assert shown["adminPass"] and len(shown["adminPass"]) == 12
    after = demo.wait_status(server, "ACTIVE", task_state=None)
    assert after["name"] == "rebuilt" and after["metadata"] == {"purpose": "lab"}
    assert after["id"] == before["id"] and after["addresses"] == before["addresses"]
    assert after["OS-SRV-USG:launched_at"] > before["OS-SRV-USG:launched_at"]
    events = demo.events(server, "compute.instance.rebuild")
    assert events == ["compute.instance.rebuild.requested",
                      "compute.instance.rebuild.start", "compute.instance.rebuild.end"]
    assert actions(stack, server)[0] == "rebuild"


def test_the_rebuild_answer_is_novas_21_shape(stack, demo, server):
    response = demo.action(server, "rebuild", {"imageRef": demo.image_id(),
                                               "adminPass": "chosen-one"})
    assert response.status_code == 202, response.text
    body = response.json()["server"]
    assert body["adminPass"] == "chosen-one" and body["status"] == "REBUILD"
    assert "OS-EXT-STS:vm_state" not in body and body["progress"] == 0
    assert set(body) >= {"id", "name", "status", "image", "flavor", "addresses",
                         "OS-DCF:diskConfig", "accessIPv4", "links", "hostId"}
    assert response.headers["Location"].endswith(f"/servers/{server}")
    demo.wait_status(server, "ACTIVE", task_state=None)


def test_a_stopped_server_is_rebuilt_and_resized_stopped(stack, demo):
    made = demo.create(name=unique("stopped"))
    server = made["id"]
    demo.wait_status(server, "ACTIVE")
    stack.openstack("server", "stop", server)
    demo.wait_status(server, "SHUTOFF", task_state=None)
    stack.openstack("server", "rebuild", "--image", "pocketstack-tiny", "--wait", server)
    shown = demo.wait_status(server, "SHUTOFF", task_state=None)
    assert shown["OS-EXT-STS:power_state"] == 4
    stack.openstack("server", "resize", "--flavor", "m1.tiny", "--wait", server)
    shown = demo.wait_status(server, "VERIFY_RESIZE")
    assert shown["OS-EXT-STS:power_state"] == 4
    stack.openstack("server", "resize", "confirm", server)
    shown = demo.wait_status(server, "SHUTOFF", task_state=None)
    assert shown["flavor"]["id"] == "2"
    demo.delete(server)


def test_preserve_ephemeral_fails_as_with_novas_libvirt_driver(stack, demo):
    made = demo.create(name=unique("preserve"))
    demo.wait_status(made["id"], "ACTIVE")
    stack.openstack("server", "rebuild", "--image", "pocketstack-tiny",
                    "--preserve-ephemeral", made["id"])
    shown = demo.wait_status(made["id"], "ERROR", task_state=None)
    assert shown["fault"]["message"] == \
        "The current driver does not support preserving ephemeral partitions."
    demo.delete(made["id"])


def test_admins_migrate_to_the_same_host_and_confirm(stack, demo, server):
    before = demo.show(server)
    stack.openstack("server", "migrate", "--wait", server, cloud=ADMIN)
    shown = demo.wait_status(server, "VERIFY_RESIZE")
    assert shown["flavor"]["id"] == before["flavor"]["id"]
    stack.openstack("server", "migration", "confirm", server, cloud=ADMIN)
    demo.wait_status(server, "ACTIVE", task_state=None)
    migrations = json.loads(stack.openstack("server", "migration", "list", "--server",
                                            server, "-f", "json", cloud=ADMIN).stdout)
    assert migrations[0]["Status"] == "confirmed"
    assert migrations[0]["Old Flavor"] == migrations[0]["New Flavor"]
    assert "migrate" in actions(stack, server)
    wait_for(lambda: demo.delete(server) is None, what="delete")
