"""One user action followed through every service's log: volumed, making a
volume from an image, calls imaged with the action's request id as the
global request id (X-OpenStack-Request-ID), imaged logs it beside its own,
and the download volumed runs after its 202, in a thread, logs with the
request's ids, not `[-]`."""
from __future__ import annotations

import re
import time
import uuid

import requests

MiB = 1024 * 1024


def log_lines(stack, service: str, needle: str) -> list[str]:
    text = (stack.state_dir / "log" / f"{service}.log").read_text(errors="replace")
    return [line for line in text.splitlines() if needle in line]


def ids_of(line: str) -> str:
    """The [request ids] field of a log line."""
    match = re.search(r"\[(req-[^\]]*|-)\]", line)
    assert match, line
    return match.group(1)


def demo_session(stack) -> tuple[dict, str]:
    login = stack.login("demo", None, None)
    assert login.status_code == 201, login.text
    return ({"X-Auth-Token": login.headers["X-Subject-Token"]},
            login.json()["token"]["project"]["id"])


def raw_image(stack, headers: dict) -> str:
    images = stack.url("imaged") + "/v2/images"
    created = requests.post(images, headers=headers, timeout=30, json={
        "name": f"ids-{uuid.uuid4().hex[:8]}", "disk_format": "raw",
        "container_format": "bare"})
    assert created.status_code == 201, created.text
    image_id = created.json()["id"]
    put = requests.put(f"{images}/{image_id}/file", data=b"\x5a" * MiB, timeout=60,
                       headers={**headers, "Content-Type": "application/octet-stream"})
    assert put.status_code == 204, put.text
    return image_id


def volume_from_image(stack, headers: dict, project_id: str, image_id: str,
                      sent_id: str) -> tuple[str, str]:
    """POST the volume with `sent_id` as X-OpenStack-Request-ID; wait until it
    is available. (volume id, volumed's own request id)."""
    base = f"{stack.url('volumed')}/v3/{project_id}"
    response = requests.post(f"{base}/volumes", timeout=60,
                             headers={**headers, "X-OpenStack-Request-ID": sent_id},
                             json={"volume": {"size": 1, "imageRef": image_id}})
    assert response.status_code == 202, response.text
    volume_id = response.json()["volume"]["id"]
    deadline = time.monotonic() + 120
    while True:
        volume = requests.get(f"{base}/volumes/{volume_id}", headers=headers,
                              timeout=30).json()["volume"]
        if volume["status"] == "available":
            break
        assert volume["status"] in ("creating", "downloading"), volume
        assert time.monotonic() < deadline, volume
        time.sleep(0.5)
    requests.delete(f"{base}/volumes/{volume_id}", headers=headers, timeout=60)
    return volume_id, response.headers["X-OpenStack-Request-ID"]


def test_a_volume_from_an_image_is_one_request_id_in_both_logs(stack):
    headers, project_id = demo_session(stack)
    image_id = raw_image(stack, headers)
    action = f"req-{uuid.uuid4()}"
    volume_id, volumed_id = volume_from_image(stack, headers, project_id, image_id, action)
    assert volumed_id != action  # volumed keeps an id of its own, and logs both
    together = f"{volumed_id} global={action}"

    posted = [line for line in log_lines(stack, "volumed", f"/v3/{project_id}/volumes")
              if '"POST ' in line]
    assert together in [ids_of(line) for line in posted]
    # The download and the end of the create ran in a thread after the 202.
    created = log_lines(stack, "volumed", f"event volume.create.end resource={volume_id}")
    assert [ids_of(line) for line in created] == [together]

    # imaged served volumed's calls (the show in the request, the download in
    # the thread) with the action's id beside its own.
    shown = [ids_of(line) for line in log_lines(stack, "imaged", f"/v2/images/{image_id}\"")]
    downloaded = [ids_of(line)
                  for line in log_lines(stack, "imaged", f"/v2/images/{image_id}/file\"")
                  if '"GET ' in line]
    assert any(ids.endswith(f" global={action}") for ids in shown), shown
    assert [ids.split(" ")[1] for ids in downloaded] == [f"global={action}"], downloaded


def test_a_request_id_of_another_form_is_ignored_and_the_callers_own_is_sent(stack):
    headers, project_id = demo_session(stack)
    image_id = raw_image(stack, headers)
    volume_id, volumed_id = volume_from_image(stack, headers, project_id, image_id,
                                              "req-not-a-uuid")
    assert log_lines(stack, "volumed", "req-not-a-uuid") == []
    created = log_lines(stack, "volumed", f"event volume.create.end resource={volume_id}")
    assert [ids_of(line) for line in created] == [volumed_id]
    downloaded = [ids_of(line)
                  for line in log_lines(stack, "imaged", f"/v2/images/{image_id}/file\"")
                  if '"GET ' in line]
    assert [ids.split(" ")[1] for ids in downloaded] == [f"global={volumed_id}"], downloaded
