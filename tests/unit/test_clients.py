"""The shared service clients against a real HTTP server on 127.0.0.1:
what they send (tokens, the global request id, the volume microversion)
and how a refusal reaches the caller (RemoteError with status and message)."""
from __future__ import annotations

import hashlib
import json
import socket
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from shared.clients import (
    Caller,
    ImageClient,
    NetworkClient,
    RemoteError,
    ServiceSession,
    VolumeClient,
)
from shared.request_ids import RequestIds, acting_for

DATA = b"\x5a" * 300_000


class Recorder(BaseHTTPRequestHandler):
    """Answers like identity, imaged and volumed would, and records each request."""
    seen: list[dict] = []

    def log_message(self, *args) -> None:
        pass

    def _answer(self, status: int, body: object = None, headers: dict | None = None) -> None:
        data = b"" if body is None else (body if isinstance(body, bytes)
                                         else json.dumps(body).encode())
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        Recorder.seen.append({"method": self.command, "path": self.path,
                              "headers": dict(self.headers), "body": body})
        path = self.path
        if path == "/v3/auth/tokens":
            self._answer(201, {"token": {"expires_at": "2999-01-01T00:00:00Z",
                                         "project": {"id": "svc-project"}}},
                         {"X-Subject-Token": "service-token"})
        elif path == "/v2/images/known":
            self._answer(200, {"id": "known", "status": "active"})
        elif path == "/v2/images/known/file":
            self._answer(200, DATA)
        elif path == "/v2/images/empty/file":
            self._answer(204)
        elif path == "/v2/images/broken":
            self._answer(500, b"<html>boom</html>")
        elif path == "/v2/images/full/file":   # webob's plain text, as Glance's
            self._answer(413, b"413 Request Entity Too Large\n\nImage storage media is "
                              b"full.\n\n The image is queued again.\n",
                         {"Content-Type": "text/plain; charset=UTF-8"})
        elif path.startswith("/v2/images/"):
            self._answer(404, {"error": {"code": 404, "message": "No image found."}})
        elif path == "/v3/p1/volumes/busy" and self.command == "DELETE":
            self._answer(400, {"badRequest": {"code": 400,
                                              "message": "Volume has an attachment."}})
        elif path == "/v3/p1/volumes/gone":
            self._answer(404, {"itemNotFound": {"code": 404, "message": "Not found."}})
        elif path == "/v3/p1/attachments":
            self._answer(200, {"attachment": {"id": "att-1"}})
        elif path.startswith("/v2.0/ports?") and "marker=p2" not in path:
            self._answer(200, {"ports": [{"id": "p1"}, {"id": "p2"}], "ports_links": [
                {"rel": "next", "href": "/v2.0/ports?limit=2&marker=p2"}]})
        elif path.startswith("/v2.0/ports?"):
            self._answer(200, {"ports": [{"id": "p3"}]})
        elif path == "/v2.0/ports" and self.command == "POST":
            self._answer(201, {"port": {"id": "new", **json.loads(body)["port"]}})
        elif path.startswith("/v2.0/security-groups"):
            self._answer(200, {"security_groups": [{"id": "sg-1", "name": "default"}]})
        elif path.startswith("/v2.0/ports/"):
            self._answer(404, {"NeutronError": {"type": "PortNotFound", "detail": "",
                                                "message": "Port x could not be found."}})
        else:
            self._answer(404, {"message": "nothing here"})

    do_GET = do_POST = do_PUT = do_DELETE = _handle


@pytest.fixture
def server():
    Recorder.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def session(url: str) -> ServiceSession:
    return ServiceSession(url, "svc", "secret", "service")


def calls_to(prefix: str) -> list[dict]:
    return [r for r in Recorder.seen if r["path"].startswith(prefix)]


def test_a_call_for_a_user_sends_both_tokens_and_the_global_request_id(server):
    images = ImageClient(session(server), server, timeout=10)
    own, first = f"req-{uuid.uuid4()}", f"req-{uuid.uuid4()}"
    with acting_for(RequestIds(own)):
        assert images.show(Caller("user-token"), "known")["id"] == "known"
    with acting_for(RequestIds(own, first)):
        images.show(Caller("user-token"), "known")
    images.show(Caller(None), "known")  # no request: no id to send
    sent = [r["headers"] for r in calls_to("/v2/images/known")]
    assert sent[0]["X-Auth-Token"] == "user-token"
    assert sent[0]["X-Service-Token"] == "service-token"
    assert sent[0]["X-OpenStack-Request-ID"] == own
    assert sent[1]["X-OpenStack-Request-ID"] == first  # the action's id travels on
    assert sent[2]["X-Auth-Token"] == "service-token" and "X-Service-Token" not in sent[2]
    assert "X-OpenStack-Request-ID" not in sent[2]


def test_refusals_are_one_exception_with_the_status_and_the_message(server):
    images = ImageClient(session(server), server, timeout=10)
    assert images.show(Caller("t"), "missing") is None
    with pytest.raises(RemoteError) as refused:
        images.show(Caller("t"), "broken")
    assert (refused.value.status, refused.value.message) == (500, "<html>boom</html>")
    assert refused.value.reached and refused.value.service == "imaged"
    with pytest.raises(RemoteError) as full:
        images.upload(Caller("t"), "full", Path(__file__))
    assert (full.value.status, full.value.message) == (
        413, "Image storage media is full. The image is queued again.")
    volumes = VolumeClient(session(server), server, timeout=10)
    with pytest.raises(RemoteError) as busy:
        volumes.delete_volume(Caller("t", "p1"), "busy")
    assert (busy.value.status, busy.value.message) == (400, "Volume has an attachment.")
    volumes.delete_volume(Caller("t", "p1"), "gone")  # already gone is fine
    assert volumes.show_volume(Caller("t", "p1"), "gone") is None


def test_a_service_that_cannot_be_reached_is_a_503_not_reached():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    images = ImageClient(ServiceSession(closed, "svc", "secret", "service"), closed, 5)
    with pytest.raises(RemoteError) as unreachable:
        images.show(Caller("t"), "known")
    assert unreachable.value.status == 503 and not unreachable.value.reached
    assert "imaged could not be reached" in unreachable.value.message


def test_a_download_streams_the_data_and_returns_its_digests(server):
    images = ImageClient(session(server), server, timeout=10)
    received = bytearray()
    digests = images.download(Caller("t"), "known", received.extend,
                              ("md5", "sha512", None, "no-such-hash"))
    assert bytes(received) == DATA
    assert digests == {"md5": hashlib.md5(DATA).hexdigest(),
                       "sha512": hashlib.sha512(DATA).hexdigest()}
    with pytest.raises(RemoteError) as empty:
        images.download(Caller("t"), "empty", received.extend)
    assert empty.value.status == 204


def test_volume_calls_name_the_project_and_the_microversion(server):
    volumes = VolumeClient(session(server), server, timeout=10)
    assert volumes.reserve(Caller("t", "p1"), "vol-1", instance_uuid="srv-1") == "att-1"
    [call] = calls_to("/v3/p1/attachments")
    assert call["headers"]["OpenStack-API-Version"] == "volume 3.44"
    assert json.loads(call["body"]) == {"attachment": {"volume_uuid": "vol-1",
                                                       "instance_uuid": "srv-1"}}
    with pytest.raises(ValueError, match="project"):
        volumes.show_volume(Caller("t"), "vol-1")


def test_the_service_session_knows_its_project(server):
    assert session(server).project_id() == "svc-project"


def test_network_calls_page_through_lists_and_read_neutrons_errors(server):
    network = NetworkClient(session(server), server, timeout=10)
    caller = Caller("t")
    ports = network.list_ports(caller, device_id=["srv-1", "srv-2"], tenant_id="p1")
    assert [p["id"] for p in ports] == ["p1", "p2", "p3"]  # the second page followed
    first, second = calls_to("/v2.0/ports?")
    assert first["path"] == "/v2.0/ports?device_id=srv-1&device_id=srv-2&tenant_id=p1"
    assert second["path"].endswith("&marker=p2")
    assert network.show_port(caller, "gone") is None
    with pytest.raises(RemoteError) as refused:
        network.update_port(caller, "gone", {"device_id": ""})
    assert (refused.value.status, refused.value.message) == (404, "Port x could not be "
                                                                  "found.")
    network.delete_port(caller, "gone")  # already gone is fine
    made = network.create_port(caller, {"network_id": "n1", "device_id": "srv-1"})
    assert made == {"id": "new", "network_id": "n1", "device_id": "srv-1"}
    groups = network.list_security_groups(caller, tenant_id="p1")
    assert groups == [{"id": "sg-1", "name": "default"}]
