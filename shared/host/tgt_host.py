"""Run tgtd, the userspace iSCSI target, bound to loopback.

Why it is done this way:

* `--iscsi portal=IP:PORT` is always given: without it tgtd listens on every
  address of the machine.  We bind 127.0.0.1 unless told otherwise.
* `-C N` gives our tgtd its own control socket (/var/run/tgtd/socket.N), so
  it can live next to a distribution tgtd (which uses 0) and `tgtadm -C N`
  talks to ours only.
* tgtd ignores SIGTERM while targets exist.  stop() therefore deletes every
  target with --force, then asks tgtd to exit with
  `tgtadm --mode system --op delete`.
* tgtd runs in the foreground (-f) as a child we detach into its own session,
  so we know its pid and its output goes to <state>/log/tgtd.log.

What we started is recorded in <state>/run/tgtd.json.  Nothing secret is
logged here: CHAP passwords never appear on our command lines or in the log.
"""
from __future__ import annotations

import fcntl
import logging
import re
import subprocess
from contextlib import contextmanager
from pathlib import Path

from . import procs

log = logging.getLogger(__name__)

DEFAULT_PORTAL_IP = "127.0.0.1"
DEFAULT_PORT = 3260
# Not 0: that is the control port a distribution-started tgtd uses.
DEFAULT_CONTROL_PORT = 1
MAX_CONTROL_PORT = 32767  # tgtd rejects larger -C values
START_TIMEOUT = 15.0
STOP_TIMEOUT = 15.0


class TgtError(RuntimeError):
    """tgtd could not be started, reached or stopped."""


def _record_path(state_dir: Path) -> Path:
    return Path(state_dir) / "run" / "tgtd.json"


@contextmanager
def _locked(state_dir: Path):
    """Serialise concurrent ensure_running/stop calls on this state dir."""
    run = Path(state_dir) / "run"
    run.mkdir(parents=True, exist_ok=True)
    with open(run / "tgtd.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def tgtadm(control_port: int, *args: str) -> subprocess.CompletedProcess:
    """Run `tgtadm -C N ARGS...` and return the completed process."""
    return subprocess.run(["tgtadm", "-C", str(control_port), *args],
                          capture_output=True, text=True, timeout=30)


def answers(control_port: int) -> bool:
    """True if a tgtd answers on this control port."""
    try:
        return tgtadm(control_port, "--mode", "system", "--op", "show").returncode == 0
    except subprocess.TimeoutExpired:
        return False


def portals(control_port: int) -> list[str]:
    """The iSCSI portals ("IP:PORT") the tgtd on this control port listens on."""
    out = tgtadm(control_port, "--lld", "iscsi", "--mode", "portal", "--op", "show").stdout
    return re.findall(r"^Portal:\s*(\S+?),\d+\s*$", out, re.MULTILINE)


def target_ids(control_port: int) -> list[int]:
    """The tids of all iSCSI targets defined in that tgtd."""
    out = tgtadm(control_port, "--lld", "iscsi", "--mode", "target", "--op", "show").stdout
    return [int(tid) for tid in re.findall(r"^Target (\d+):", out, re.MULTILINE)]


def _start(state_dir: Path, portal: str, control_port: int) -> int:
    """Start tgtd detached in the background; return its pid."""
    log_file = Path(state_dir) / "log" / "tgtd.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    argv = ["tgtd", "-f", "--iscsi", f"portal={portal}", "-C", str(control_port)]
    with open(log_file, "ab") as out:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)

    def ready() -> bool:
        return proc.poll() is not None or answers(control_port)

    procs.wait_for(ready, START_TIMEOUT)
    if proc.poll() is not None:
        raise TgtError(f"tgtd exited with {proc.returncode} (see {log_file})")
    # tgtd keeps running even when it could not bind its portal (port taken);
    # it binds before it answers tgtadm, so a short wait is plenty.
    if not answers(control_port) or not procs.wait_for(
            lambda: portal in procs.listening_tcp(proc.pid), 2.0):
        _shut_down(proc.pid, control_port)
        raise TgtError(f"tgtd did not come up on {portal} with control port "
                       f"{control_port}: is the port already in use? (see {log_file})")
    return proc.pid


def ensure_running(state_dir: Path, portal_ip: str = DEFAULT_PORTAL_IP,
                   port: int = DEFAULT_PORT,
                   control_port: int = DEFAULT_CONTROL_PORT) -> dict:
    """Make sure a tgtd serves iSCSI on portal_ip:port with control port
    `control_port`; start one if needed.

    Returns {"pid", "portal", "control_port", "started"}.  Raises TgtError if
    something else already answers on that control port with other portals.
    """
    if not 0 <= control_port <= MAX_CONTROL_PORT:
        raise TgtError(f"tgtd control port must be 0..{MAX_CONTROL_PORT}, not {control_port}")
    state_dir = Path(state_dir)
    portal = f"{portal_ip}:{port}"
    with _locked(state_dir):
        record = procs.load_record(_record_path(state_dir))
        pid = record.get("pid")
        mine = procs.is_running(pid, "tgtd") and record.get("control_port") == control_port
        started = False
        if answers(control_port):
            found = portals(control_port)
            if found != [portal]:
                raise TgtError(f"a tgtd on control port {control_port} serves {found}, "
                               f"not {portal}")
            if not mine:
                pid = None  # someone else's tgtd, already configured as we want
        else:
            log.info("starting tgtd on %s (control port %s)", portal, control_port)
            pid = _start(state_dir, portal, control_port)
            started = True
            procs.save_record(_record_path(state_dir), {
                "pid": pid, "portal": portal, "control_port": control_port})
    return {"pid": pid, "portal": portal, "control_port": control_port, "started": started}


def status(state_dir: Path) -> dict:
    """{"up", "pid", "portal", "control_port"} of the tgtd recorded in state_dir."""
    record = procs.load_record(_record_path(state_dir))
    control_port = record.get("control_port")
    pid = record.get("pid")
    up = (procs.is_running(pid, "tgtd") and control_port is not None
          and answers(control_port))
    return {"up": bool(up), "pid": pid if up else None,
            "portal": record.get("portal"), "control_port": control_port}


def _shut_down(pid: int, control_port: int) -> None:
    """Delete all targets of that tgtd (--force drops connected initiators),
    ask it to exit, and make sure it is gone."""
    for tid in target_ids(control_port):
        tgtadm(control_port, "--lld", "iscsi", "--mode", "target", "--op", "delete",
               "--force", "--tid", str(tid))
    tgtadm(control_port, "--mode", "system", "--op", "delete")

    def gone() -> bool:
        procs.reap(pid)
        return not procs.is_running(pid, "tgtd")

    if not procs.wait_for(gone, STOP_TIMEOUT) and not procs.terminate(pid, "tgtd"):
        raise TgtError(f"tgtd (pid {pid}) would not stop")


def stop(state_dir: Path) -> bool:
    """Stop the tgtd that ensure_running started for state_dir (and only
    that one).  Returns True if a tgtd was stopped."""
    state_dir = Path(state_dir)
    with _locked(state_dir):
        record = procs.load_record(_record_path(state_dir))
        pid, control_port = record.get("pid"), record.get("control_port")
        if pid is None or not procs.is_running(pid, "tgtd"):
            _record_path(state_dir).unlink(missing_ok=True)
            return False
        if control_port is None:  # no way to ask it: stop the process
            procs.terminate(pid, "tgtd")
        else:
            _shut_down(pid, control_port)
        _record_path(state_dir).unlink(missing_ok=True)
    return True
