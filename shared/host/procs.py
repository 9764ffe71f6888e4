"""Small process helpers shared by the host-service modules.

We identify a daemon by pid *and* by its command name (/proc/PID/comm):
a pid in a stale record may since have been reused by another program,
and we must never signal that one.
"""
from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path


def command_name(pid: int) -> str | None:
    """The process's command name, or None if there is no such process."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return None


def is_running(pid: int | None, name: str) -> bool:
    """True if `pid` is alive and is the program `name` (zombies excluded)."""
    if not pid or command_name(pid) != name:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def pids_named(name: str) -> list[int]:
    """All live processes whose command name is `name`."""
    return sorted(int(entry) for entry in os.listdir("/proc")
                  if entry.isdigit() and is_running(int(entry), name))


def read_pid_file(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def wait_for(condition: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    """Poll `condition` until it is true or `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def reap(pid: int) -> None:
    """Collect the exit status if `pid` is our own child (avoids a zombie)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def terminate(pid: int, name: str, timeout: float = 15.0) -> bool:
    """SIGTERM `pid` (only if it still is `name`), then SIGKILL after
    `timeout` seconds.  Returns True once the process is gone."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if not is_running(pid, name):
            return True
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return True

        def gone() -> bool:
            reap(pid)
            return not is_running(pid, name)

        if wait_for(gone, timeout):
            return True
    return not is_running(pid, name)


def load_record(path: Path) -> dict:
    """A JSON record of what we started; {} if there is none (or it is bad)."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def save_record(path: Path, record: dict) -> None:
    """Write the record atomically (temp file + rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


def _socket_inodes(pid: int) -> set[str]:
    """Inode numbers of the sockets process `pid` has open."""
    inodes: set[str] = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    try:
        entries = list(fd_dir.iterdir())
    except OSError:
        return inodes
    for fd in entries:
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    return inodes


def _decode_address(hex_address: str) -> str:
    """'0100007F:0CBC' (as in /proc/net/tcp) -> '127.0.0.1:3260'."""
    hex_ip, hex_port = hex_address.split(":")
    raw = bytes.fromhex(hex_ip)
    # The kernel prints the address as 32-bit words in host (little-endian) order.
    raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    ip = ipaddress.ip_address(raw)
    host = str(ip) if ip.version == 4 else f"[{ip}]"
    return f"{host}:{int(hex_port, 16)}"


def listening_tcp(pid: int) -> list[str]:
    """The "IP:PORT" TCP addresses `pid` itself listens on (from /proc/net/tcp
    and tcp6, matched to the process's sockets by inode).  Unlike a connect
    test, this cannot be fooled by another program holding the port."""
    inodes = _socket_inodes(pid)
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A = LISTEN
                found.append(_decode_address(fields[1]))
    return sorted(found)
