"""Visibility and members: who sees which image, and how sharing works.
The demo project owns images; "student2", a project of its own created for
these tests, is the other side; admin may see everything."""
from __future__ import annotations

import time
import uuid

import pytest

from tests.support.images import Images, project_id, raw_bytes, second_project_user


@pytest.fixture(scope="module")
def demo(stack) -> Images:
    return Images(stack, stack.token("demo"))


@pytest.fixture(scope="module")
def other(stack) -> tuple[Images, str]:
    token, project = second_project_user(stack, "student2")
    return Images(stack, token), project


@pytest.fixture(scope="module")
def admin(stack) -> Images:
    return Images(stack, stack.token("admin"))


def ids(response) -> set[str]:
    assert response.status_code == 200, response.text
    return {image["id"] for image in response.json()["images"]}


def test_another_projects_private_image_is_404_for_everything(demo, other):
    client, _ = other
    image = demo.uploaded(raw_bytes(100), visibility="private")
    image_id = image["id"]
    for response in (client.get(image_id), client.download(image_id),
                     client.patch(image_id, [{"op": "replace", "path": "/name",
                                              "value": "mine"}]),
                     client.upload(image_id, b"x"), client.delete(image_id),
                     client.action(image_id, "deactivate"),
                     client.request("PUT", f"/v2/images/{image_id}/tags/x"),
                     client.request("GET", f"/v2/images/{image_id}/members")):
        assert response.status_code == 404, (response.request.method, response.text)
        assert image_id in response.json()["message"]
    assert image_id not in ids(client.list(limit=1000, visibility="all"))
    assert demo.show(image_id)["name"] == image["name"]


def test_member_update_answers_with_the_updated_at_it_stored(demo, other):
    """As for images: the answer is the member as stored, in registry mode too."""
    client, project = other
    image_id = demo.new(visibility="shared")["id"]
    added = demo.request("POST", f"/v2/images/{image_id}/members", json={"member": project})
    assert added.status_code == 200, added.text
    time.sleep(1.1)  # updated_at has a resolution of one second
    path = f"/v2/images/{image_id}/members/{project}"
    accepted = client.request("PUT", path, json={"status": "accepted"})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["updated_at"] > added.json()["updated_at"]
    assert client.request("GET", path).json()["updated_at"] == accepted.json()["updated_at"]


def test_sharing_pending_accepted_rejected(demo, other):
    client, project = other
    image = demo.uploaded(raw_bytes(100))
    image_id = image["id"]
    assert client.get(image_id).status_code == 404

    added = demo.request("POST", f"/v2/images/{image_id}/members", json={"member": project})
    assert added.status_code == 200, added.text
    member = added.json()
    assert (member["image_id"], member["member_id"], member["status"]) == \
        (image_id, project, "pending")
    assert member["schema"] == "/v2/schemas/member"

    # A pending member may look at the image, but it is not in its list yet.
    assert client.get(image_id).status_code == 200
    assert image_id not in ids(client.list(limit=1000))
    assert image_id in ids(client.list(limit=1000, member_status="pending"))
    assert image_id in ids(client.list(limit=1000, member_status="all"))

    # The owner cannot answer for the member; the member can.
    path = f"/v2/images/{image_id}/members/{project}"
    assert demo.request("PUT", path, json={"status": "accepted"}).status_code == 403
    bad = client.request("PUT", path, json={"status": "maybe"})
    assert bad.status_code == 400 and "accepted" in bad.json()["message"]
    accepted = client.request("PUT", path, json={"status": "accepted"})
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assert image_id in ids(client.list(limit=1000))
    assert image_id in ids(client.list(limit=1000, visibility="shared"))
    assert client.download(image_id).content == raw_bytes(100)

    rejected = client.request("PUT", path, json={"status": "rejected"})
    assert rejected.json()["status"] == "rejected"
    assert image_id not in ids(client.list(limit=1000))
    assert image_id in ids(client.list(limit=1000, member_status="rejected"))


def test_member_lists_and_who_may_change_them(demo, other, stack):
    client, project = other
    image_id = demo.new()["id"]
    admin_project = project_id(stack, "admin")
    for member in (project, admin_project):
        assert demo.request("POST", f"/v2/images/{image_id}/members",
                            json={"member": member}).status_code == 200
    duplicate = demo.request("POST", f"/v2/images/{image_id}/members",
                             json={"member": project})
    assert duplicate.status_code == 409
    listing = demo.request("GET", f"/v2/images/{image_id}/members").json()
    assert listing["schema"] == "/v2/schemas/members"
    assert {m["member_id"] for m in listing["members"]} == {project, admin_project}
    # A member sees only its own membership, and cannot share further.
    own = client.request("GET", f"/v2/images/{image_id}/members").json()["members"]
    assert [m["member_id"] for m in own] == [project]
    assert client.request("GET", f"/v2/images/{image_id}/members/{admin_project}"
                          ).status_code == 404
    assert client.request("POST", f"/v2/images/{image_id}/members",
                          json={"member": "someone"}).status_code == 403
    assert client.request("DELETE", f"/v2/images/{image_id}/members/{project}"
                          ).status_code == 403
    shown = demo.request("GET", f"/v2/images/{image_id}/members/{project}")
    assert shown.status_code == 200 and shown.json()["member_id"] == project
    assert demo.request("DELETE", f"/v2/images/{image_id}/members/{project}"
                        ).status_code == 204
    assert client.get(image_id).status_code == 404
    assert demo.request("DELETE", f"/v2/images/{image_id}/members/{project}"
                        ).status_code == 404
    assert demo.request("POST", f"/v2/images/{image_id}/members",
                        json={}).status_code == 400


def test_only_shared_images_have_members(demo):
    image_id = demo.new(visibility="private")["id"]
    response = demo.request("POST", f"/v2/images/{image_id}/members",
                            json={"member": "x"})
    assert response.status_code == 403
    assert "shared" in response.json()["message"]


def test_public_is_for_admins_and_everyone_sees_it(demo, other, admin):
    client, _ = other
    refused = demo.create(name="public-try", visibility="public")
    assert refused.status_code == 403
    assert "publicize_image" in refused.json()["message"]
    mine = demo.new()
    assert demo.patch(mine["id"], [{"op": "replace", "path": "/visibility",
                                    "value": "public"}]).status_code == 403
    public = admin.uploaded(raw_bytes(10), visibility="public", name="pub-" + uuid.uuid4().hex)
    assert public["id"] in ids(client.list(limit=1000))
    assert public["id"] in ids(demo.list(limit=1000, visibility="public"))
    assert client.download(public["id"]).content == raw_bytes(10)
    # Visible is not owned: changing or deleting it is refused (403, not 404).
    assert client.patch(public["id"], [{"op": "replace", "path": "/name",
                                        "value": "x"}]).status_code == 403
    assert client.delete(public["id"]).status_code == 403
    assert admin.delete(public["id"]).status_code == 204


def test_community_images_are_listed_on_request(demo, other):
    client, _ = other
    image = demo.uploaded(raw_bytes(10), visibility="community")
    assert image["id"] not in ids(client.list(limit=1000))
    assert image["id"] in ids(client.list(limit=1000, visibility="community"))
    assert image["id"] in ids(demo.list(limit=1000))  # its owner always sees it
    assert client.get(image["id"]).status_code == 200


def test_visibility_filters_of_the_owner(demo):
    private = demo.new(visibility="private")["id"]
    shared = demo.new()["id"]
    assert private in ids(demo.list(limit=1000, visibility="private"))
    assert shared not in ids(demo.list(limit=1000, visibility="private"))
    assert shared in ids(demo.list(limit=1000, visibility="shared"))
    assert demo.list(visibility="secret").status_code == 400
    assert demo.list(member_status="maybe").status_code == 400


def test_admin_sees_every_project_image(demo, admin):
    private = demo.new(visibility="private")["id"]
    assert admin.get(private).status_code == 200
    assert private in ids(admin.list(limit=1000))
