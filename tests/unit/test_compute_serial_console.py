"""The serial console's pure pieces: RFC 6455's handshake and frames, the
console tokens, and the proxy's relay between a real websocket client
(websocket-client) and a unix socket standing in for QEMU's serial port.
The real guest's console is tests/e2e/test_server_serial_console.py."""
from __future__ import annotations

import datetime as dt
import io
import socket
import threading

import pytest
import websocket
from sqlalchemy import select

from computed import consoleauth
from computed.db import repository as repo
from computed.db.models import ConsoleAuthToken, Instance
from computed.domain import states
from computed.serialproxy import websocket as ws
from computed.serialproxy.server import INVALID_TOKEN, Relay
from shared.db import transaction
from tests.unit.compute_fakes import FakeDriver, make_deps

UUID = "7c0cc6b4-0000-4000-8000-000000000001"


# --- the protocol ---------------------------------------------------------------------
def test_the_accept_key_is_the_rfcs_example():
    assert ws.accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def request(**headers) -> ws.Request:
    base = {"host": "127.0.0.1:6083", "upgrade": "websocket", "connection": "Upgrade",
            "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-version": "13"}
    base.update(headers)
    return ws.Request("GET", "/?token=abc", {k: v for k, v in base.items() if v is not None})


def test_the_handshake_answers_101_and_picks_the_binary_subprotocol():
    answer = ws.handshake(request(**{"sec-websocket-protocol": "base64, binary"})).decode()
    assert answer.startswith("HTTP/1.1 101 Switching Protocols\r\n")
    assert "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" in answer
    assert "Sec-WebSocket-Protocol: binary\r\n" in answer and answer.endswith("\r\n\r\n")
    assert "Sec-WebSocket-Protocol" not in ws.handshake(request()).decode()
    assert request().query("token") == "abc"


@pytest.mark.parametrize("broken", [{"upgrade": None}, {"connection": "keep-alive"},
                                    {"sec-websocket-version": "8"},
                                    {"sec-websocket-key": "short"}])
def test_what_is_no_websocket_handshake_is_refused(broken):
    with pytest.raises(ws.HandshakeError):
        ws.handshake(request(**broken))


def test_a_request_head_is_parsed_with_lower_case_names_and_cookies():
    parsed = ws.parse_request(b"GET /?x=1 HTTP/1.1\r\nHost: h\r\nCookie: a=1; token=t9\r\n")
    assert (parsed.method, parsed.target, parsed.headers["host"]) == ("GET", "/?x=1", "h")
    assert parsed.cookie("token") == "t9" and parsed.query("token") == ""
    with pytest.raises(ws.HandshakeError):
        ws.parse_request(b"hello")


@pytest.mark.parametrize("size", [0, 5, 125, 126, 65535, 65536, 70000])
def test_frames_of_every_length_encoding_read_back(size):
    payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
    masked = ws.encode_frame(ws.BINARY, payload, mask=b"\x01\x02\x03\x04")
    frame = ws.read_frame(io.BytesIO(masked).read)
    assert (frame.fin, frame.opcode, frame.payload) == (True, ws.BINARY, payload)
    unmasked = ws.read_frame(io.BytesIO(ws.encode_frame(ws.TEXT, payload)).read,
                             require_mask=False)
    assert unmasked.payload == payload


def test_a_clients_unmasked_frame_and_a_huge_one_break_the_protocol():
    with pytest.raises(ws.ProtocolError) as caught:
        ws.read_frame(io.BytesIO(ws.encode_frame(ws.BINARY, b"x")).read)
    assert caught.value.code == ws.PROTOCOL_ERROR
    huge = bytes([0x82, 0xFF]) + (ws.MAX_PAYLOAD + 1).to_bytes(8, "big") + b"mask"
    with pytest.raises(ws.ProtocolError) as caught:
        ws.read_frame(io.BytesIO(huge).read)
    assert caught.value.code == ws.TOO_BIG


def test_a_close_frame_carries_its_code_and_reason():
    frame = ws.read_frame(io.BytesIO(ws.close_frame(1008, "no")).read, require_mask=False)
    assert ws.close_reason(frame.payload) == (1008, "no")


# --- the tokens -----------------------------------------------------------------------
@pytest.fixture
def deps(tmp_path):
    deps = make_deps(tmp_path, FakeDriver())
    now = dt.datetime(2026, 1, 1)
    with transaction(deps.sessions) as session:
        session.add(Instance(
            uuid=UUID, display_name="s", hostname="s", project_id="p", user_id="u",
            image_ref="img", flavor={"id": "1"}, vcpus=1, memory_mb=128, root_gb=1,
            ephemeral_gb=0, swap=0, vm_state=states.ACTIVE, task_state=None, power_state=1,
            host="h1", node="h1", domain_name="instance-7c0cc6b4", claimed=True,
            reservation_id="r", created_at=now, updated_at=now))
    deps.driver.add(UUID, states.RUNNING)  # type: ignore[attr-defined]
    return deps


def new_token(deps, ttl: int = 600) -> str:
    with transaction(deps.sessions) as session:
        return consoleauth.authorize(session, UUID, "serial", "ws://127.0.0.1:6083/", ttl)


def test_a_token_is_kept_hashed_and_opens_its_server_until_it_expires(deps, monkeypatch):
    token = new_token(deps)
    with transaction(deps.sessions, write=False) as session:
        rows = list(session.scalars(select(ConsoleAuthToken)))
        assert [row.token_hash for row in rows] == [consoleauth.token_hash(token)]
        assert token not in rows[0].token_hash
        grant = consoleauth.validate(session, token)
        assert grant is not None and grant.instance_uuid == UUID
        assert consoleauth.validate(session, "other") is None
        assert consoleauth.validate(session, "") is None
    later = repo.now() + dt.timedelta(seconds=601)
    monkeypatch.setattr(repo, "now", lambda: later)
    with transaction(deps.sessions, write=False) as session:
        assert consoleauth.validate(session, token) is None
    assert consoleauth.access_url("ws://h:1/", token) == f"ws://h:1/?token={token}"


def test_a_servers_tokens_go_with_it(deps):
    token = new_token(deps)
    with transaction(deps.sessions) as session:
        consoleauth.delete_for_instance(session, UUID)
    with transaction(deps.sessions, write=False) as session:
        assert consoleauth.validate(session, token) is None


# --- the relay ------------------------------------------------------------------------
@pytest.fixture
def proxy(deps, tmp_path):
    """The relay on a loopback port; a unix socket plays the guest's serial
    port and echoes what it gets, upper-cased."""
    path = tmp_path / "console.sock"
    guest = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    guest.bind(str(path))
    guest.listen(1)
    deps.driver.console_sockets["instance-7c0cc6b4"] = path  # type: ignore[attr-defined]

    def echo():
        conn, _ = guest.accept()
        conn.sendall(b"login: ")
        while data := conn.recv(1024):
            conn.sendall(data.upper())
        conn.close()

    threading.Thread(target=echo, daemon=True).start()
    listener = socket.create_server(("127.0.0.1", 0))
    relay = Relay(deps, allowed_origins=[])

    def serve():
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=relay.serve, args=(client,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    yield f"ws://127.0.0.1:{listener.getsockname()[1]}/"
    listener.close()
    guest.close()


def test_the_relay_joins_a_websocket_client_to_the_serial_port(deps, proxy):
    conn = websocket.create_connection(f"{proxy}?token={new_token(deps)}",
                                       subprotocols=["binary"], timeout=10)
    try:
        assert conn.getsubprotocol() == "binary"
        assert conn.recv_data() == (websocket.ABNF.OPCODE_BINARY, b"login: ")
        conn.send_binary(b"root\r")
        assert conn.recv_data() == (websocket.ABNF.OPCODE_BINARY, b"ROOT\r")
        conn.ping(b"still there?")
        conn.send("text frames too")
        assert conn.recv_data(control_frame=True) == (websocket.ABNF.OPCODE_PONG,
                                                      b"still there?")
        assert conn.recv_data()[1] == b"TEXT FRAMES TOO"
    finally:
        conn.close()


def refused(url: str, **options) -> tuple[int, str]:
    conn = websocket.create_connection(url, subprotocols=["binary"], timeout=10, **options)
    try:
        frame = conn.recv_frame()
        assert frame.opcode == websocket.ABNF.OPCODE_CLOSE
        return int.from_bytes(frame.data[:2], "big"), frame.data[2:].decode()
    finally:
        conn.close()


def test_no_token_a_wrong_one_or_a_deleted_servers_is_refused(deps, proxy):
    assert refused(f"{proxy}?token=nope") == (1008, INVALID_TOKEN)
    assert refused(proxy) == (1008, INVALID_TOKEN)
    token = new_token(deps)
    with transaction(deps.sessions) as session:
        repo.get_instance(session, UUID, None).deleted = True
    assert refused(f"{proxy}?token={token}") == (1008, INVALID_TOKEN)


def test_a_browser_from_another_origin_is_refused(deps, proxy):
    assert refused(f"{proxy}?token={new_token(deps)}", origin="http://evil.example") == (
        1008, "Origin header does not match this host.")


def test_a_request_that_is_no_websocket_gets_400(proxy):
    port = int(proxy.rsplit(":", 1)[1].strip("/"))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as plain:
        plain.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert plain.recv(1024).startswith(b"HTTP/1.1 400 Bad Request")
