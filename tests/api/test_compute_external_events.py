"""POST /v2.1/os-server-external-events over computed's API, as Nova's
server_external_events.py answers it: every event comes back with its code
and status, 200 when all were taken, 207 when any failed (404: no such
server; 400: volume-extended without its tag); Nova's schema refuses a
malformed body with 400; only admins and services may send events (403).
What volume-extended does to a running guest: tests/e2e/test_volume_extend_guest.py."""
from __future__ import annotations

import uuid

import pytest

from tests.support.compute import Compute, unique

PATH = "/os-server-external-events"


@pytest.fixture(scope="module")
def server(demo) -> dict:
    made = demo.create(name=unique("events"))
    return demo.wait_status(made["id"], "ACTIVE")


def test_events_for_a_known_and_an_unknown_server(admin: Compute, server):
    unknown = str(uuid.uuid4())
    volume = str(uuid.uuid4())   # not attached: taken, and nothing to resize
    events = [{"name": "volume-extended", "server_uuid": server["id"], "tag": volume},
              {"name": "network-changed", "server_uuid": unknown}]
    response = admin.call("POST", PATH, json={"events": events})
    assert response.status_code == 207, response.text
    assert response.json() == {"events": [
        {**events[0], "code": 200, "status": "completed"},
        {**events[1], "code": 404, "status": "failed"}]}

    response = admin.call("POST", PATH, json={"events": events[:1]})
    assert response.status_code == 200, response.text
    assert response.json()["events"][0]["code"] == 200

    untagged = {"name": "volume-extended", "server_uuid": server["id"]}
    response = admin.call("POST", PATH, json={"events": [untagged]})
    assert response.status_code == 207, response.text
    assert response.json()["events"] == [{**untagged, "code": 400, "status": "failed"}]


@pytest.mark.parametrize("body", [
    {},
    {"events": []},
    {"events": [{"name": "volume-extended"}]},
    {"events": [{"name": "no-such-event", "server_uuid": str(uuid.uuid4())}]},
    {"events": [{"name": "network-changed", "server_uuid": "not-a-uuid"}]},
    {"events": [{"name": "network-changed", "server_uuid": str(uuid.uuid4()),
                 "status": "done"}]},
    {"events": [{"name": "network-changed", "server_uuid": str(uuid.uuid4()),
                 "extra": 1}]},
    {"events": [{"name": "network-changed", "server_uuid": str(uuid.uuid4()),
                 "tag": "x" * 256}]},
])
def test_what_novas_schema_refuses_is_400(admin: Compute, body):
    response = admin.call("POST", PATH, json=body)
    assert response.status_code == 400, response.text
    assert "badRequest" in response.json()


def test_only_admins_and_services_send_events(demo: Compute):
    response = demo.call("POST", PATH, json={"events": [
        {"name": "network-changed", "server_uuid": str(uuid.uuid4())}]})
    assert response.status_code == 403, response.text
