"""Talking to tgtd over its management socket, the way tgtadm does.

Why not run tgtadm? Because tgtadm takes a CHAP password only on its command
line (`--password P`), and every process's command line is readable by every
user in /proc/<pid>/cmdline. tgtadm itself is a thin client: it packs its
options into one request (a fixed header and a "key=value,key=value" text)
and writes it to the UNIX socket /var/run/tgtd/socket.<control port>. Doing
the same from Python keeps the secret inside volumed's memory and that
root-only socket: it never appears in any process list.

The header layout is tgt's `struct tgtadm_req` (usr/tgtadm.h, unchanged
since tgt 1.0.3x); `check_protocol()` makes sure the daemon understands us
before anything else is sent.
"""
from __future__ import annotations

import socket
import struct
from pathlib import Path

SOCKET_DIR = Path("/var/run/tgtd")

# enum tgtadm_mode
MODE_SYSTEM, MODE_TARGET, MODE_DEVICE, MODE_PORTAL, MODE_LLD = 0, 1, 2, 3, 4
MODE_SESSION, MODE_CONNECTION, MODE_ACCOUNT = 5, 6, 7
# enum tgtadm_op
OP_NEW, OP_DELETE, OP_SHOW, OP_BIND, OP_UNBIND, OP_UPDATE = 0, 1, 2, 3, 4, 5
NO_LUN = 2 ** 64 - 1

# struct tgtadm_req { mode, op, lld[64], len, tid, sid(u64), lun(u64), cid,
#                     host_no, device_type, ac_dir, pack, force }
REQUEST = struct.Struct("@ii64sIiQQIIIIII")
RESPONSE = struct.Struct("@II")  # struct tgtadm_rsp { err, len }


class TgtdError(Exception):
    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        self.code = code


class TgtdClient:
    def __init__(self, control_port: int, socket_dir: Path = SOCKET_DIR, timeout: float = 30):
        self.socket_path = Path(socket_dir) / f"socket.{control_port}"
        self.timeout = timeout

    def request(self, mode: int, op: int, params: dict[str, str] | None = None, *,
                tid: int = -1, lun: int = NO_LUN, sid: int = 0, force: bool = False) -> str:
        """Send one request; return tgtd's text answer or raise TgtdError."""
        body = b""
        if params:
            text = ",".join(f"{key}={value}" for key, value in params.items())
            body = text.encode() + b"\0"
        header = REQUEST.pack(mode, op, b"iscsi", REQUEST.size + len(body), tid, sid, lun,
                              0, 0, 0, 0, 0, 1 if force else 0)
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.settimeout(self.timeout)
                conn.connect(str(self.socket_path))
                conn.sendall(header + body)
                err, length = RESPONSE.unpack(_read_exactly(conn, RESPONSE.size))
                data = _read_exactly(conn, max(0, length - RESPONSE.size))
        except OSError as exc:
            raise TgtdError(f"cannot talk to tgtd at {self.socket_path}: {exc}") from None
        if err != 0:
            raise TgtdError(f"tgtd refused the request (tgtadm error {err})", err)
        return data.rstrip(b"\0").decode(errors="replace")

    def alive(self) -> bool:
        try:
            self.request(MODE_SYSTEM, OP_SHOW)
            return True
        except TgtdError:
            return False

    def check_protocol(self) -> None:
        """A system show must answer with tgtd's system report."""
        answer = self.request(MODE_SYSTEM, OP_SHOW)
        if "System:" not in answer and "Driver" not in answer:
            raise TgtdError("tgtd answered in a format volumed does not know")


def _read_exactly(conn: socket.socket, size: int) -> bytes:
    chunks, got = [], 0
    while got < size:
        chunk = conn.recv(size - got)
        if not chunk:
            raise OSError("tgtd closed the connection early")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)
