"""The serial console (`openstack console url show --serial`), end to end:
the real client gets a ws:// URL with a token, a real websocket client
(websocket-client, offering the "binary" subprotocol as noVNC and Nova's
serial clients do) connects through computed's proxy to the guest's ttyS0,
presses Enter, gets the tiny image's root shell, runs a command and reads
its output. The console log (`console log show`) keeps working beside it.
A token that is not one, and the token of a deleted server, open nothing.
"""
from __future__ import annotations

import json
import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import websocket

from tests.support.compute import Compute, unique

pytestmark = pytest.mark.e2e
BOOTED = r"^POCKETSTACK-HOSTNAME: "
PROMPT = r"# (\x1b\[6n)?$"  # busybox ash asks where the cursor is after its prompt


def console_url(stack, server_id: str, kind: str = "--serial") -> dict:
    return json.loads(stack.openstack("console", "url", "show", kind, server_id,
                                      "-f", "json").stdout)


def read_until(conn: websocket.WebSocket, pattern: str, timeout: float = 60) -> str:
    """What the guest sent until `pattern` matched (binary frames)."""
    regex = re.compile(pattern)
    received = b""
    deadline = time.monotonic() + timeout
    while not regex.search(received.decode(errors="replace")):
        conn.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            opcode, data = conn.recv_data()
        except websocket.WebSocketTimeoutException:
            raise AssertionError(f"{pattern!r} not received within {timeout:.0f} s; "
                                 f"got {received[-2000:]!r}") from None
        assert opcode == websocket.ABNF.OPCODE_BINARY, opcode
        received += data
    return received.decode(errors="replace")


@pytest.fixture(scope="module")
def server(demo: Compute):
    made = demo.create(name=unique("serial"))
    demo.wait_status(made["id"], "ACTIVE")
    demo.wait_console(made["id"], BOOTED)
    return demo.show(made["id"])


def test_the_serial_console_gives_the_guests_shell(stack, server):
    console = console_url(stack, server["id"])
    assert console["type"] == "serial"
    url = urlsplit(console["url"])
    assert (url.scheme, url.hostname, url.port, url.path) == (
        "ws", "127.0.0.1", stack.port("computed-serialproxy"), "/")
    token = parse_qs(url.query)["token"][0]
    assert re.fullmatch(r"[0-9a-f-]{36}", token)      # a random UUID, as Nova's
    conn = websocket.create_connection(console["url"], subprotocols=["binary"], timeout=30)
    try:
        assert conn.getsubprotocol() == "binary"
        conn.send_binary(b"\r")
        read_until(conn, PROMPT)                        # the root shell's prompt
        conn.send_binary(b"echo serial-$((6 * 7))-ok; cat /proc/sys/kernel/hostname\r")
        output = read_until(conn, r"serial-42-ok\r?\n(.+)\r?\n")
        assert re.search(r"serial-42-ok\r?\n" + re.escape(server["name"]), output), output
    finally:
        conn.close()
    # What the guest wrote went to the console log as well.
    log = stack.openstack("console", "log", "show", server["id"]).stdout
    assert "POCKETSTACK-BOOTED" in log and "serial-42-ok" in log


def test_a_second_token_works_and_the_first_stays_valid_until_it_expires(stack, server):
    first, second = console_url(stack, server["id"]), console_url(stack, server["id"])
    assert first["url"] != second["url"]
    for console in (first, second):
        conn = websocket.create_connection(console["url"], subprotocols=["binary"],
                                           timeout=30)
        try:
            conn.send_binary(b"\r")
            read_until(conn, PROMPT)
        finally:
            conn.close()


def refusal(url: str) -> tuple[int | None, str]:
    """Connect and read what the proxy says: a close frame's code and reason."""
    conn = websocket.create_connection(url, subprotocols=["binary"], timeout=30)
    try:
        frame = conn.recv_frame()
        assert frame.opcode == websocket.ABNF.OPCODE_CLOSE, frame
        code = int.from_bytes(frame.data[:2], "big") if len(frame.data) >= 2 else None
        return code, frame.data[2:].decode()
    finally:
        conn.close()


def test_a_token_that_is_not_one_is_refused(stack, server):
    console = console_url(stack, server["id"])
    forged = re.sub(r"token=[^&]+", "token=" + "0" * 8 + "-0000-4000-8000-" + "0" * 12,
                    console["url"])
    assert refusal(forged) == (1008, "The token '***' is invalid or has expired")
    assert refusal(console["url"].split("?")[0]) == (
        1008, "The token '***' is invalid or has expired")


def test_a_deleted_servers_token_opens_nothing(stack, demo: Compute):
    made = demo.create(name=unique("serial-gone"))
    demo.wait_status(made["id"], "ACTIVE")
    console = console_url(stack, made["id"])
    demo.delete(made["id"])
    assert refusal(console["url"]) == (1008, "The token '***' is invalid or has expired")


def test_graphical_consoles_are_unavailable_as_in_nova_without_vnc(stack, server):
    result = stack.openstack("console", "url", "show", "--novnc", server["id"], check=False)
    assert result.returncode != 0
    assert "Unavailable console type novnc." in result.stderr
    response = Compute(stack, "demo").action(server["id"], "os-getSerialConsole",
                                             {"type": "novnc"})
    assert response.status_code == 400, response.text
