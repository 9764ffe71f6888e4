"""A volume's read-only flag (os-update_readonly_flag), as Cinder keeps it:
admin metadata shown in the volume's metadata, attachments made read-only
(attach_mode and connection_info access_mode "ro"), the older os-attach
refusing rw and recording attached_mode until the detach."""
from __future__ import annotations

import pytest

from tests.support.volumes import VolumeApi, connector, new_project_user


@pytest.fixture(scope="module")
def demo(stack) -> VolumeApi:
    return VolumeApi(stack, "demo")


def set_readonly(api: VolumeApi, volume_id: str, value, expect=202):
    return api.action(volume_id, "os-update_readonly_flag", {"readonly": value},
                      expect=expect)


def test_the_flag_is_shown_in_the_metadata_and_makes_attachments_read_only(demo):
    volume = demo.create(metadata={"own": "key"})
    set_readonly(demo, volume["id"], True)
    assert demo.show(volume["id"])["metadata"] == {"own": "key", "readonly": "True"}
    # The metadata sub-resource is the users' keys only, as in Cinder.
    assert demo.call("GET", f"/volumes/{volume['id']}/metadata",
                     expect=200).json()["metadata"] == {"own": "key"}
    # The attachments API: the flag wins over the mode asked for.
    attachment = demo.call("POST", "/attachments", json={"attachment": {
        "volume_uuid": volume["id"], "instance_uuid": "5b1a6b8e-0000-4000-8000-000000000001",
        "connector": connector("ro"), "mode": "rw"}}, expect=200).json()["attachment"]
    assert attachment["attach_mode"] == "ro"
    assert attachment["connection_info"]["access_mode"] == "ro"
    demo.complete(attachment["id"])
    refused = set_readonly(demo, volume["id"], False, expect=400).json()
    assert refused["badRequest"]["message"] == (
        f"Invalid volume: Volume {volume['id']} status must be available to update "
        f"readonly flag, but current status is: in-use.")
    demo.detach(attachment["id"])

    set_readonly(demo, volume["id"], "false")
    assert demo.show(volume["id"])["metadata"] == {"own": "key", "readonly": "False"}
    attachment = demo.attach(volume["id"], connector("rw"))
    assert attachment["attach_mode"] == "rw"
    assert attachment["connection_info"]["access_mode"] == "rw"
    demo.detach(attachment["id"])
    demo.delete(volume["id"])


def test_the_older_actions_record_attached_mode(demo):
    volume = demo.create()
    set_readonly(demo, volume["id"], True)
    demo.action(volume["id"], "os-reserve", None, expect=202)
    info = demo.action(volume["id"], "os-initialize_connection",
                       {"connector": connector("legacy")}, expect=200).json()
    assert info["connection_info"]["data"]["access_mode"] == "ro"
    refused = demo.action(volume["id"], "os-attach", {
        "instance_uuid": "5b1a6b8e-0000-4000-8000-000000000002", "mountpoint": "/dev/vdc",
        "mode": "rw"}, expect=400).json()
    assert refused["badRequest"]["message"] == \
        f"Invalid attaching mode 'rw' for volume {volume['id']}."
    demo.action(volume["id"], "os-attach", {
        "instance_uuid": "5b1a6b8e-0000-4000-8000-000000000002", "mountpoint": "/dev/vdc",
        "mode": "ro"}, expect=202)
    assert demo.show(volume["id"])["metadata"] == {"readonly": "True", "attached_mode": "ro"}
    demo.action(volume["id"], "os-terminate_connection", {"connector": connector("legacy")},
                expect=202)
    demo.action(volume["id"], "os-detach", {}, expect=202)
    shown = demo.wait(volume["id"], "available")
    assert shown["metadata"] == {"readonly": "True"}
    demo.delete(volume["id"])


def test_bad_flag_values_and_other_projects(stack, demo):
    volume = demo.create()
    for body in ({"readonly": "maybe"}, {}, None):
        response = demo.action(volume["id"], "os-update_readonly_flag", body)
        assert response.status_code == 400, response.text
    assert demo.show(volume["id"])["metadata"] == {}
    project, user, password = new_project_user(stack)
    other = VolumeApi(stack, user, project, password)
    set_readonly(other, volume["id"], True, expect=404)
    demo.delete(volume["id"])
