"""The status machine over HTTP: what is refused in which status (400 with
a message naming the status), extend, admin actions (reset_status, force
delete), and the older attach actions."""
from __future__ import annotations

import pytest

from shared.units import GiB
from tests.support.volumes import VolumeApi, connector


@pytest.fixture(scope="module")
def demo(stack) -> VolumeApi:
    return VolumeApi(stack, "demo")


@pytest.fixture(scope="module")
def admin(stack) -> VolumeApi:
    return VolumeApi(stack, "admin")


@pytest.fixture(autouse=True)
def no_volume_outlives_its_test(demo, admin):
    """The tests here leave volumes reserved, attached or in odd statuses on
    purpose; when one fails half-way its volume would stay in the module's
    stack and change what later tests see. Whatever a test made goes when
    it ends, however it ended."""
    before = {v["id"] for v in demo.call("GET", "/volumes", expect=200).json()["volumes"]}
    yield
    for volume in demo.call("GET", "/volumes", expect=200).json()["volumes"]:
        if volume["id"] in before:
            continue
        admin.action(volume["id"], "os-reset_status",
                     {"status": "available", "attach_status": "detached"}, expect=202)
        admin.call("DELETE", f"/volumes/{volume['id']}",
                   params={"force": "true", "cascade": "true"}, expect=202)


def message(response) -> str:
    return next(iter(response.json().values()))["message"]


def test_extend_grows_the_file_and_keeps_the_status(stack, demo):
    volume = demo.create(size=1)
    path = stack.state_dir / "lib" / "volumes" / f"volume-{volume['id']}"
    with open(path, "r+b") as handle:
        handle.write(b"keep me")
    demo.action(volume["id"], "os-extend", {"new_size": 3}, expect=202)
    extended = demo.wait(volume["id"], "available")
    assert extended["size"] == 3
    assert path.stat().st_size == 3 * GiB
    with open(path, "rb") as handle:
        assert handle.read(7) == b"keep me"
    demo.delete(volume["id"])


def test_extend_must_grow(demo):
    volume = demo.create(size=2)
    response = demo.action(volume["id"], "os-extend", {"new_size": 2})
    assert response.status_code == 400
    assert "must be greater than current size" in message(response)
    assert demo.action(volume["id"], "os-extend", {"new_size": "x"}).status_code == 400
    demo.delete(volume["id"])


def test_a_reserved_volume_cannot_be_deleted_or_extended(demo):
    volume = demo.create()
    attachment = demo.attach(volume["id"], connector=None)
    assert attachment["status"] == "reserved"
    assert demo.show(volume["id"])["status"] == "reserved"
    refused = demo.delete(volume["id"], expect=400)
    assert "attachment" in message(refused)
    refused = demo.action(volume["id"], "os-extend", {"new_size": 2})
    assert refused.status_code == 400
    assert "but it is reserved" in message(refused)
    # A second attachment of a volume that is not multiattach is refused.
    second = demo.call("POST", "/attachments", json={"attachment": {
        "volume_uuid": volume["id"], "instance_uuid": None}})
    assert second.status_code == 400
    demo.detach(attachment["id"])
    assert demo.show(volume["id"])["status"] == "available"
    demo.delete(volume["id"])


def test_an_in_use_volume_cannot_be_deleted_snapshotted_or_extended_below_3_42(demo):
    volume = demo.create()
    attachment = demo.attach(volume["id"], connector("status"))
    demo.complete(attachment["id"])
    in_use = demo.show(volume["id"])
    assert in_use["status"] == "in-use"
    (item,) = in_use["attachments"]
    assert item["server_id"] == attachment["instance"]
    assert item["attachment_id"] == attachment["id"]
    refused = demo.action(volume["id"], "os-extend", {"new_size": 2}, version="volume 3.41")
    assert refused.status_code == 400 and "but it is in-use" in message(refused)
    demo.delete(volume["id"], expect=400)
    snapshot = demo.call("POST", "/snapshots", json={"snapshot": {"volume_id": volume["id"]}})
    assert snapshot.status_code == 400
    assert "force=true" in message(snapshot)
    demo.detach(attachment["id"])
    assert demo.show(volume["id"])["status"] == "available"
    demo.delete(volume["id"])


def test_reset_status_and_force_delete_are_for_admins(demo, admin):
    volume = demo.create()
    vid = volume["id"]
    assert demo.action(vid, "os-reset_status", {"status": "error"}).status_code == 403
    assert admin.action(vid, "os-reset_status", {"status": "bogus"}).status_code == 400
    admin.action(vid, "os-reset_status", {"status": "creating"}, expect=202)
    assert demo.show(vid)["status"] == "creating"
    refused = demo.delete(vid, expect=400)
    assert "but it is creating" in message(refused)
    assert demo.action(vid, "os-force_delete").status_code == 403
    admin.action(vid, "os-force_delete", expect=202)
    demo.wait_gone(vid)


def test_error_volumes_can_be_deleted(demo, admin):
    volume = demo.create()
    admin.action(volume["id"], "os-reset_status", {"status": "error"}, expect=202)
    demo.delete(volume["id"])
    demo.wait_gone(volume["id"])


def test_reset_attach_status_detached_drops_attachments(demo, admin):
    volume = demo.create()
    attachment = demo.attach(volume["id"], connector("reset"))
    demo.complete(attachment["id"])
    admin.action(volume["id"], "os-reset_status",
                 {"status": "available", "attach_status": "detached"}, expect=202)
    shown = demo.show(volume["id"])
    assert shown["status"] == "available" and shown["attachments"] == []
    demo.delete(volume["id"])


def test_unknown_action_is_a_clear_400(demo):
    volume = demo.create()
    response = demo.action(volume["id"], "os-revert", {"snapshot_id": "x"})
    assert response.status_code == 400
    assert "does not support the action 'os-revert'" in message(response)
    demo.delete(volume["id"])


def test_legacy_attach_actions(demo):
    volume = demo.create()
    vid = volume["id"]
    demo.action(vid, "os-reserve", expect=202)
    assert demo.show(vid)["status"] == "attaching"
    demo.action(vid, "os-unreserve", expect=202)
    assert demo.show(vid)["status"] == "available"

    demo.action(vid, "os-reserve", expect=202)
    info = demo.action(vid, "os-initialize_connection", {"connector": connector("legacy")},
                       expect=200).json()["connection_info"]
    assert info["driver_volume_type"] == "iscsi"
    assert info["data"]["target_iqn"].endswith(f"volume-{vid}")
    assert info["data"]["auth_method"] == "CHAP"
    demo.action(vid, "os-attach", {"instance_uuid": "8f08f6c4-8c8e-4c58-9c43-1e3f1e6f1b1a",
                                   "mountpoint": "/dev/vdc"}, expect=202)
    shown = demo.show(vid)
    assert shown["status"] == "in-use"
    assert shown["attachments"][0]["device"] == "/dev/vdc"
    demo.action(vid, "os-begin_detaching", expect=202)
    assert demo.show(vid)["status"] == "detaching"
    demo.action(vid, "os-roll_detaching", expect=202)
    assert demo.show(vid)["status"] == "in-use"
    demo.action(vid, "os-begin_detaching", expect=202)
    demo.action(vid, "os-terminate_connection", {"connector": connector("legacy")},
                expect=202)
    demo.action(vid, "os-detach", {"attachment_id": shown["attachments"][0]["attachment_id"]},
                expect=202)
    assert demo.show(vid)["status"] == "available"
    demo.delete(vid)


def test_connector_must_name_an_initiator(demo):
    volume = demo.create()
    attachment = demo.attach(volume["id"], connector=None)
    response = demo.call("PUT", f"/attachments/{attachment['id']}",
                         json={"attachment": {"connector": {"host": "x"}}})
    assert response.status_code == 400
    assert "initiator" in message(response)
    demo.detach(attachment["id"])
    demo.delete(volume["id"])


def test_attachments_need_microversion_3_27_and_complete_3_44(demo):
    volume = demo.create()
    old = demo.call("GET", "/attachments", version="volume 3.26")
    assert old.status_code == 404
    attachment = demo.attach(volume["id"], connector("mv"))
    too_old = demo.call("POST", f"/attachments/{attachment['id']}/action",
                        json={"os-complete": None}, version="volume 3.43")
    assert too_old.status_code == 404
    listed = demo.call("GET", "/attachments", params={"volume_id": volume["id"]},
                       expect=200).json()["attachments"]
    assert [a["id"] for a in listed] == [attachment["id"]]
    shown = demo.call("GET", f"/attachments/{attachment['id']}", expect=200).json()
    assert shown["attachment"]["connection_info"]["target_lun"] == 1
    demo.detach(attachment["id"])
    demo.delete(volume["id"])


def test_set_bootable_and_retype(demo, admin):
    volume = demo.create()
    demo.action(volume["id"], "os-set_bootable", {"bootable": True}, expect=200)
    assert demo.show(volume["id"])["bootable"] == "true"
    assert demo.action(volume["id"], "os-retype", {"new_type": "nope"}).status_code == 404
    demo.action(volume["id"], "os-retype", {"new_type": "__DEFAULT__"}, expect=202)
    demo.delete(volume["id"])
