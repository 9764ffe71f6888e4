"""The WebSocket protocol (RFC 6455), the server's side, as much as a
serial console needs: the opening handshake and the frames. Pure functions
over bytes: the listener (server.py) does the sockets.

Handshake: the client's GET carries `Upgrade: websocket`,
`Sec-WebSocket-Version: 13` and a random `Sec-WebSocket-Key`; the server
answers 101 with `Sec-WebSocket-Accept` = base64(SHA-1(key + the RFC's
GUID)), proving it read the request. noVNC and Nova's serial clients offer
the subprotocol "binary" (data as binary frames; websockify's older
"base64" is not offered here).

A frame (section 5.2):
    byte 0     FIN bit (last fragment), opcode (0 continuation, 1 text,
               2 binary, 8 close, 9 ping, 10 pong)
    byte 1     MASK bit (clients must mask, servers must not), length 0-125,
               or 126 (a 16-bit length follows) or 127 (64-bit)
    [mask]     4 bytes, XORed over the payload, when MASK is set
"""
from __future__ import annotations

import base64
import hashlib
import struct
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
SUBPROTOCOL = "binary"
CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
CONTROL = (CLOSE, PING, PONG)
MAX_PAYLOAD = 1 << 20   # what one frame may carry here (a console needs little)
MAX_HEAD = 8192         # the request's line and headers

# close codes (section 7.4.1)
NORMAL, GOING_AWAY, PROTOCOL_ERROR, POLICY_VIOLATION, TOO_BIG = 1000, 1001, 1002, 1008, 1009


class HandshakeError(Exception):
    """Not a WebSocket opening handshake we accept (answered 400)."""


class ProtocolError(Exception):
    """A frame that breaks the protocol; `code` is the close code to send."""

    def __init__(self, message: str, code: int = PROTOCOL_ERROR):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Request:
    method: str
    target: str                 # the path and query: /?token=...
    headers: dict[str, str]     # names lower-cased

    def query(self, name: str) -> str:
        return parse_qs(urlsplit(self.target).query).get(name, [""])[-1]

    def cookie(self, name: str) -> str:
        for part in self.headers.get("cookie", "").split(";"):
            key, _, value = part.strip().partition("=")
            if key == name:
                return value
        return ""


@dataclass(frozen=True)
class Frame:
    fin: bool
    opcode: int
    payload: bytes


def parse_request(head: bytes) -> Request:
    """The request line and headers (everything before the blank line)."""
    try:
        text = head.decode("latin-1")
    except UnicodeDecodeError as exc:  # latin-1 decodes anything; kept for clarity
        raise HandshakeError("the request is not text") from exc
    lines = text.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise HandshakeError("not an HTTP/1.1 request")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, colon, value = line.partition(":")
        if not colon:
            raise HandshakeError(f"a header line without a colon: {line[:40]!r}")
        headers[name.strip().lower()] = value.strip()
    return Request(parts[0], parts[1], headers)


def accept_key(key: str) -> str:
    """Sec-WebSocket-Accept for the client's Sec-WebSocket-Key."""
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def handshake(request: Request) -> bytes:
    """The 101 answer to a valid opening handshake; HandshakeError otherwise."""
    headers = request.headers
    if request.method != "GET":
        raise HandshakeError("a WebSocket opens with GET")
    if "websocket" not in headers.get("upgrade", "").lower():
        raise HandshakeError("no 'Upgrade: websocket' header")
    if "upgrade" not in [t.strip().lower() for t in headers.get("connection", "").split(",")]:
        raise HandshakeError("no 'Connection: Upgrade' header")
    if headers.get("sec-websocket-version") != "13":
        raise HandshakeError("only Sec-WebSocket-Version 13 is spoken")
    key = headers.get("sec-websocket-key", "")
    try:
        if len(base64.b64decode(key, validate=True)) != 16:
            raise ValueError
    except ValueError:
        raise HandshakeError("Sec-WebSocket-Key is not 16 bytes in base64") from None
    lines = ["HTTP/1.1 101 Switching Protocols", "Upgrade: websocket",
             "Connection: Upgrade", f"Sec-WebSocket-Accept: {accept_key(key)}"]
    offered = [p.strip() for p in headers.get("sec-websocket-protocol", "").split(",")]
    if SUBPROTOCOL in offered:
        lines.append(f"Sec-WebSocket-Protocol: {SUBPROTOCOL}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def http_error(status: int, reason: str, message: str) -> bytes:
    body = message.encode() + b"\n"
    return (f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body


def encode_frame(opcode: int, payload: bytes = b"", mask: bytes | None = None) -> bytes:
    """One whole (FIN) frame; a server sends them unmasked (mask None), a
    client with a 4-byte mask."""
    length = len(payload)
    head = bytes([0x80 | opcode])
    mask_bit = 0x80 if mask else 0
    if length < 126:
        head += bytes([mask_bit | length])
    elif length < 1 << 16:
        head += bytes([mask_bit | 126]) + struct.pack("!H", length)
    else:
        head += bytes([mask_bit | 127]) + struct.pack("!Q", length)
    if mask:
        return head + mask + _unmask(payload, mask)
    return head + payload


def close_frame(code: int, reason: str = "") -> bytes:
    return encode_frame(CLOSE, struct.pack("!H", code) + reason.encode()[:120])


def read_frame(read: Callable[[int], bytes], require_mask: bool = True) -> Frame:
    """The next frame; `read(n)` returns exactly n bytes (or raises EOFError).
    ProtocolError for an unmasked client frame, a bad control frame or a
    payload over MAX_PAYLOAD."""
    first, second = read(2)
    fin, opcode = bool(first & 0x80), first & 0x0F
    if first & 0x70:
        raise ProtocolError("reserved bits set without an extension")
    if opcode not in (CONTINUATION, TEXT, BINARY, *CONTROL):
        raise ProtocolError(f"unknown opcode {opcode}")
    masked, length = bool(second & 0x80), second & 0x7F
    if require_mask and not masked:
        raise ProtocolError("a client's frames must be masked")
    if opcode in CONTROL and (length > 125 or not fin):
        raise ProtocolError("a control frame is short and never fragmented")
    if length == 126:
        (length,) = struct.unpack("!H", read(2))
    elif length == 127:
        (length,) = struct.unpack("!Q", read(8))
    if length > MAX_PAYLOAD:
        raise ProtocolError(f"a frame of {length} bytes is more than {MAX_PAYLOAD}", TOO_BIG)
    mask = read(4) if masked else b""
    payload = read(length) if length else b""
    return Frame(fin, opcode, _unmask(payload, mask) if masked else payload)


def close_reason(payload: bytes) -> tuple[int | None, str]:
    """(code, reason) of a close frame's payload."""
    if len(payload) < 2:
        return None, ""
    return struct.unpack("!H", payload[:2])[0], payload[2:].decode("utf-8", "replace")


def _unmask(payload: bytes, mask: bytes) -> bytes:
    """XOR with the 4-byte mask, repeated (the same operation both ways)."""
    if not payload:
        return payload
    repeated = (mask * (len(payload) // 4 + 1))[:len(payload)]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(
        len(payload), "big")
