"""Policy (Glance's defaults, an operator's override file), tokens, and the
events every change records."""
from __future__ import annotations

import pytest
import requests

from tests.support.images import Images, raw_bytes
from tests.support.revocation import wait_out_revocation_cache


@pytest.fixture(scope="module")
def demo(stack) -> Images:
    return Images(stack, stack.token("demo"))


@pytest.fixture(scope="module")
def admin(stack) -> Images:
    return Images(stack, stack.token("admin"))


def test_the_owning_project_deactivates_and_downloads_stop_for_non_admins(demo, admin, stack):
    """Glance's running code: members of the owning project may deactivate
    and reactivate (its API reference still says admins only); a deactivated
    image's data is for admins alone."""
    data = raw_bytes(4096)
    image = demo.uploaded(data)
    assert demo.action(image["id"], "deactivate").status_code == 204
    assert demo.show(image["id"])["status"] == "deactivated"
    assert demo.action(image["id"], "deactivate").status_code == 204  # again: no-op
    download = demo.download(image["id"])
    assert download.status_code == 403 and "deactivated" in download.json()["message"]
    assert admin.download(image["id"]).content == data
    assert demo.action(image["id"], "reactivate").status_code == 204
    assert demo.download(image["id"]).content == data
    # Another project's member may not, even on an image it can see.
    admins_public = admin.uploaded(raw_bytes(100), visibility="public")
    refused = demo.action(admins_public["id"], "deactivate")
    assert refused.status_code == 403 and "deactivate" in refused.json()["message"]


def test_illegal_transitions_are_409_naming_the_status(demo, admin):
    queued = demo.new()
    for action in ("deactivate", "reactivate"):
        response = admin.action(queued["id"], action)
        assert response.status_code == 409, response.text
        assert "queued" in response.json()["message"]
    assert admin.action(queued["id"], "explode").status_code == 404


def test_an_operator_policy_file_changes_one_rule(stack, demo):
    policy = stack.state_dir / "etc" / "imaged-policy.yaml"
    image = demo.uploaded(raw_bytes(100))
    try:
        policy.write_text('"deactivate": "rule:admin_required"\n')
        assert demo.action(image["id"], "deactivate").status_code == 403
    finally:
        policy.unlink(missing_ok=True)
    # Without the file the default holds again: the owner's member may.
    assert demo.action(image["id"], "deactivate").status_code == 204
    assert demo.action(image["id"], "reactivate").status_code == 204
@pytest.mark.parametrize("token", ["", "forged.token.value",
                                   "gAAAAABfakefakefakefakefakefakefakefakefakefake"])
def test_missing_or_forged_tokens_are_401(stack, token):
    headers = {"X-Auth-Token": token} if token else {}
    json_answer = requests.get(stack.url("imaged") + "/v2/images", timeout=30,
                               headers={**headers, "Accept": "application/json"})
    assert json_answer.status_code == 401
    assert json_answer.json()["code"] == "401 Unauthorized"
    # A client that does not ask for JSON (glanceclient, curl) gets text, as from Glance.
    text = requests.get(stack.url("imaged") + "/v2/images", headers=headers, timeout=30)
    assert text.status_code == 401 and text.headers["Content-Type"].startswith("text/plain")
    assert text.text.startswith("401 Unauthorized")


def test_a_revoked_token_is_refused(stack, demo):
    token = stack.token("demo")
    images = Images(stack, token)
    assert images.list().status_code == 200
    revoked = requests.delete(stack.url("identity") + "/v3/auth/tokens",
                              headers={"X-Auth-Token": token, "X-Subject-Token": token},
                              timeout=30)
    assert revoked.status_code == 204
    wait_out_revocation_cache()
    assert images.list().status_code == 401


def test_every_change_records_an_event(demo, admin):
    image = demo.new(name="evented")
    image_id = image["id"]
    demo.patch(image_id, [{"op": "add", "path": "/os_distro", "value": "debian"}])
    demo.upload(image_id, raw_bytes(1000))
    demo.request("PUT", f"/v2/images/{image_id}/tags/t1")
    admin.action(image_id, "deactivate")
    admin.action(image_id, "reactivate")
    demo.delete(image_id)
    events = demo.events(image_id)
    types = [event["event_type"] for event in events]
    assert types == ["image.create", "image.update", "image.prepare", "image.upload",
                     "image.activate", "image.update", "image.deactivate",
                     "image.reactivate", "image.delete"]
    upload = events[types.index("image.upload")]
    assert upload["payload"]["size"] == 1000 and upload["publisher"] == "imaged"
    assert upload["request_id"].startswith("req-")
    assert events[1]["payload"]["changed"] == ["os_distro"]
    assert all(event["resource_id"] == image_id for event in events)
    assert all(event["project_id"] == image["owner"] for event in events)
