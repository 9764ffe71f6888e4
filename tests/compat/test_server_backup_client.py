"""`openstack server backup create` with the unmodified client (Nova's
createBackup at 2.1): each backup is a snapshot image with image_type
backup, its backup_type and the server's id; the oldest backups of a type
beyond the rotation are deleted; rotation 0 keeps none (and the 202 has no
Location); bad bodies get Nova's 400s and begin nothing."""
from __future__ import annotations

import json

import requests

from tests.support.compute import Images, unique, wait_for


def backups(images: Images, server_id: str, backup_type: str) -> list[dict]:
    response = requests.get(images.url, headers=images.headers, timeout=30, params={
        "image_type": "backup", "backup_type": backup_type, "instance_uuid": server_id,
        "sort_key": "created_at", "sort_dir": "desc"})
    assert response.status_code == 200, response.text
    return response.json()["images"]


def test_backups_rotate_as_in_nova(stack, demo):
    images = Images(stack, demo.token)
    server = demo.create(name=unique("backed-up"))
    demo.wait_status(server["id"], "ACTIVE")
    names = [unique("daily") for _ in range(3)]
    for name in names:
        shown = json.loads(stack.openstack(
            "server", "backup", "create", "--name", name, "--type", "daily", "--rotate",
            "2", "--wait", "-f", "json", server["id"]).stdout)
        assert shown["name"] == name        # as found before --wait: maybe still queued
        assert images.show(shown["id"])["status"] == "active"
        demo.wait_status(server["id"], "ACTIVE", task_state=None)
    kept = wait_for(lambda: (found := backups(images, server["id"], "daily"))
                    and len(found) == 2 and found, what="two daily backups")
    assert [image["name"] for image in kept] == names[:0:-1]      # the newest two
    image = kept[0]
    assert image["image_type"] == "backup" and image["backup_type"] == "daily"
    assert image["instance_uuid"] == server["id"] and image["visibility"] == "private"
    assert image["disk_format"] == "qcow2" and image["size"] > 0
    # A weekly backup is of another rotation: the dailies stay.
    weekly = demo.action(server["id"], "createBackup", {
        "name": unique("weekly"), "backup_type": "weekly", "rotation": "1",
        "metadata": {"purpose": "lab"}})
    assert weekly.status_code == 202, weekly.text
    assert weekly.content == b""
    location = weekly.headers["Location"]
    assert location.startswith(f"{stack.url('computed')}/v2.1/images/"), location
    weekly_image = wait_for(lambda: (i := images.show(location.rsplit("/", 1)[1]))[
        "status"] == "active" and i, what="the weekly backup")
    assert weekly_image["purpose"] == "lab" and weekly_image["backup_type"] == "weekly"
    demo.wait_status(server["id"], "ACTIVE", task_state=None)
    # Rotation 0 keeps none of its type, not even the new one; no Location.
    none_kept = demo.action(server["id"], "createBackup", {
        "name": unique("daily"), "backup_type": "daily", "rotation": 0})
    assert none_kept.status_code == 202 and "Location" not in none_kept.headers
    wait_for(lambda: not backups(images, server["id"], "daily"), timeout=120,
             what="no daily backup left")
    assert len(backups(images, server["id"], "weekly")) == 1
    demo.wait_status(server["id"], "ACTIVE", task_state=None)
    events = json.loads(stack.openstack("server", "event", "list", server["id"],
                                        "-f", "json").stdout)
    assert [e["Action"] for e in events].count("createBackup") == 5
    images.delete(weekly_image["id"])
    demo.delete(server["id"])


def test_bad_backup_requests_get_novas_answers(stack, demo):
    server = demo.create(name=unique("backup-errors"))
    demo.wait_status(server["id"], "ACTIVE")
    vm = server["id"]
    cases = [
        ({"name": "b", "backup_type": "daily", "rotation": -1},
         "Invalid input for field/attribute rotation. Value: -1. -1 is less than the "
         "minimum of 0"),
        ({"name": "b", "backup_type": "daily", "rotation": "two"},
         "Invalid input for field/attribute rotation. Value: two. 'two' does not match "
         "'^[0-9]*$'"),
        ({"name": "b", "rotation": 1}, "'backup_type' is a required property"),
        ({"name": "b", "backup_type": "daily", "rotation": 1, "color": "red"},
         "Additional properties are not allowed ('color' was unexpected)"),
        ({"name": "", "backup_type": "daily", "rotation": 1},
         "Invalid input for field/attribute name."),
    ]
    for body, message in cases:
        response = demo.action(vm, "createBackup", body)
        assert response.status_code == 400, (body, response.text)
        assert message in response.json()["badRequest"]["message"], response.text
    assert demo.action(vm, "createBackup", "daily").status_code == 400
    assert demo.show(vm)["OS-EXT-STS:task_state"] is None        # nothing began
    assert not backups(Images(stack, demo.token), vm, "daily")
    demo.delete(vm)
