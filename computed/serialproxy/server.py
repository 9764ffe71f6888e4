"""The serial console proxy's listener: a thread of computed's worker on
[serial_console] serialproxy_host:serialproxy_port (127.0.0.1:6083), as
nova-serialproxy is a process of Nova's.

One connection, from `ws://127.0.0.1:6083/?token=<token>` to the guest:
    1. the opening handshake (websocket.py): a request that is no
       WebSocket handshake is answered 400 and closed
    2. the token, from the query (or a `token` cookie, as Nova reads it):
       unknown, expired, or for a server that is gone, being deleted or
       not on this host: the socket is closed with code 1008 and Nova's
       message "The token '***' is invalid or has expired"
    3. an Origin header (a browser's) must name this host or one of
       [console] allowed_origins, with the scheme of the URL handed out
    4. the guest's serial port: the unix socket QEMU listens on
       (driver.serial_console_socket); then bytes flow both ways, the
       client's in binary (or text) frames, the guest's in binary frames,
       until either side closes.
Nothing the client sends is logged; the guest's output is in console.log
anyway.
"""
from __future__ import annotations

import contextlib
import logging
import socket
import socketserver
import threading
from urllib.parse import urlsplit

from computed import consoleauth
from computed.db import repository as repo
from computed.domain import states
from computed.flows import Deps
from computed.serialproxy import websocket as ws
from computed.virt.driver import HypervisorError
from shared.db import transaction
from shared.errors import NotFound

LOG = logging.getLogger(__name__)
HANDSHAKE_TIMEOUT = 10.0
CHUNK = 4096
INVALID_TOKEN = "The token '***' is invalid or has expired"


class SerialProxyListenError(Exception):
    """The port could not be listened on; the message says which option."""


class Refused(Exception):
    """The connection is closed with this reason (code 1008)."""


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def start(conf, deps: Deps) -> socketserver.ThreadingTCPServer | None:
    """Listen and serve in a daemon thread; None if [serial_console] enabled
    is off."""
    if not conf.serial_console.enabled:
        return None
    host, port = conf.serial_console.serialproxy_host, conf.serial_console.serialproxy_port
    relay = Relay(deps, list(conf.console.allowed_origins))

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            relay.serve(self.request)

    try:
        server = _Server((host, port), Handler)
    except OSError as exc:
        raise SerialProxyListenError(
            f"computed.conf: [serial_console] serialproxy_host/serialproxy_port: cannot "
            f"listen on {host}:{port}: {exc.strerror or exc}") from exc
    threading.Thread(target=server.serve_forever, name="serial-proxy", daemon=True).start()
    LOG.info("serial console proxy listening on ws://%s:%s/", host, port)
    return server


class Relay:
    """Steps 1-4 for one client socket."""

    def __init__(self, deps: Deps, allowed_origins: list[str]):
        self.deps = deps
        self.allowed_origins = allowed_origins

    def serve(self, client: socket.socket) -> None:
        """Steps 1-4, then the client's socket is closed."""
        try:
            self._serve(client)
        finally:
            _shutdown(client)
            client.close()

    def _serve(self, client: socket.socket) -> None:
        client.settimeout(HANDSHAKE_TIMEOUT)
        try:
            request = ws.parse_request(_read_head(client))
            client.sendall(ws.handshake(request))                            # 1
        except (ws.HandshakeError, OSError) as exc:
            LOG.info("serial console proxy: refused a request: %s", exc)
            _send_quietly(client, ws.http_error(400, "Bad Request", str(exc)))
            return
        try:
            grant = self._grant(request)                                     # 2, 3
            guest = self._connect(grant)                                     # 4
        except Refused as exc:
            LOG.info("serial console proxy: %s", exc)
            _send_quietly(client, ws.close_frame(ws.POLICY_VIOLATION, str(exc)))
            return
        LOG.info("serial console of server %s opened", grant.instance_uuid)
        client.settimeout(None)
        try:
            _relay(client, guest)
        finally:
            guest.close()
            LOG.info("serial console of server %s closed", grant.instance_uuid)

    def _grant(self, request: ws.Request) -> consoleauth.Grant:
        token = request.query("token") or request.cookie("token")
        with transaction(self.deps.sessions, write=False) as session:
            grant = consoleauth.validate(session, token)
            if grant is None or grant.console_type != "serial":
                raise Refused(INVALID_TOKEN)
            try:
                instance = repo.get_instance(session, grant.instance_uuid, None)
            except NotFound:
                raise Refused(INVALID_TOKEN) from None
            if instance.host != self.deps.settings.host or \
                    instance.task_state == states.DELETING:
                raise Refused(INVALID_TOKEN)
        self._check_origin(request, grant)
        return grant

    def _check_origin(self, request: ws.Request, grant: consoleauth.Grant) -> None:
        """As Nova's proxy: a browser's Origin must be this host (or an
        allowed one) with the scheme of the URL it was given."""
        origin = request.headers.get("origin")
        if origin is None:
            return
        parsed = urlsplit(origin)
        if not parsed.hostname or not parsed.scheme:
            raise Refused("Origin header not valid.")
        host = request.headers.get("host", "").rpartition(":")[0] or \
            request.headers.get("host", "")
        if parsed.hostname not in [host.strip("[]"), *self.allowed_origins]:
            raise Refused("Origin header does not match this host.")
        scheme = urlsplit(grant.access_url_base).scheme
        expected = {scheme, {"ws": "http", "wss": "https"}.get(scheme, scheme)}
        if parsed.scheme not in expected:
            raise Refused("Origin header protocol does not match this host.")

    def _connect(self, grant: consoleauth.Grant) -> socket.socket:
        with transaction(self.deps.sessions, write=False) as session:
            domain_name = repo.get_instance(session, grant.instance_uuid, None).domain_name
        try:
            path = self.deps.driver.serial_console_socket(domain_name)
        except HypervisorError as exc:
            raise Refused(f"The serial console is not available: {exc}") from None
        guest = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            guest.connect(str(path))
        except OSError as exc:
            guest.close()
            raise Refused(f"The serial console is not available (is the server running?): "
                          f"{exc.strerror or exc}") from None
        return guest


def _read_head(client: socket.socket) -> bytes:
    """The request up to its blank line (at most MAX_HEAD bytes)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = client.recv(1024)
        if not chunk:
            raise ws.HandshakeError("the client went away before its request ended")
        data += chunk
        if len(data) > ws.MAX_HEAD:
            raise ws.HandshakeError("the request's headers are too long")
    return data.split(b"\r\n\r\n", 1)[0]


def _relay(client: socket.socket, guest: socket.socket) -> None:
    """Guest -> client in a thread of its own; client -> guest here. Either
    side closing ends both."""
    send_lock = threading.Lock()

    def send(frame: bytes) -> None:
        with send_lock:
            client.sendall(frame)

    def guest_to_client() -> None:
        try:
            while data := guest.recv(CHUNK):
                send(ws.encode_frame(ws.BINARY, data))
            send(ws.close_frame(ws.GOING_AWAY, "the guest's serial port closed"))
        except OSError:
            pass
        finally:
            _shutdown(client)

    threading.Thread(target=guest_to_client, name="serial-proxy-out", daemon=True).start()

    def read(count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = client.recv(count - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    try:
        while True:
            frame = ws.read_frame(read)
            if frame.opcode in (ws.BINARY, ws.TEXT, ws.CONTINUATION):
                guest.sendall(frame.payload)
            elif frame.opcode == ws.PING:
                send(ws.encode_frame(ws.PONG, frame.payload))
            elif frame.opcode == ws.CLOSE:
                code, _reason = ws.close_reason(frame.payload)
                send(ws.close_frame(code or ws.NORMAL))
                break
    except ws.ProtocolError as exc:
        _send_quietly(client, ws.close_frame(exc.code, str(exc)))
    except (EOFError, OSError):
        pass
    finally:
        _shutdown(guest)
        _shutdown(client)


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # the other side may be gone already
        sock.shutdown(socket.SHUT_RDWR)


def _send_quietly(sock: socket.socket, data: bytes) -> None:
    with contextlib.suppress(OSError):
        sock.sendall(data)
