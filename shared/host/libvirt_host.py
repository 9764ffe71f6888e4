"""Start virtlogd and libvirtd on a machine without systemd.

Why each step:

* libvirt's directories under /var are normally created by systemd units;
  without them the daemons fail to start.
* virtlogd must run before libvirtd: QEMU's console/log files go through it,
  and without it starting a domain fails after a long wait.
* On some machines /dev/kvm exists but the CPU has no vmx/svm flag, so KVM
  cannot run guests.  libvirt sees /dev/kvm and re-probes QEMU on every call
  (each `virsh create` then takes 30-60 s).  So, when KVM is not usable, we
  run libvirtd in a private mount namespace where /dev/kvm is an inaccessible
  plain file, and we turn off libvirt's per-domain /dev namespaces
  (`namespaces = [ ]` in qemu.conf), which would try to copy /dev/kvm.
  Guests then run under TCG (domain type 'qemu').  Where KVM works, libvirtd
  starts normally and the compute driver can use domain type 'kvm'.
* libvirtd runs in the foreground under tini, a child subreaper: a QEMU that
  exits is reaped at once, instead of by the machine's init, which in a
  container may take seconds (and a domain's destroy waits for it).

We record what we started in <state>/run/libvirt-host.json; stop() stops
only that, never a libvirtd someone else started.
"""
from __future__ import annotations

import fcntl
import logging
import os
import pwd
import re
import shutil
import stat
import subprocess
from contextlib import contextmanager
from pathlib import Path

from . import procs

log = logging.getLogger(__name__)

LIBVIRT_DIRS = [Path("/var/log/libvirt"), Path("/var/run/libvirt"), Path("/var/lib/libvirt")]
QEMU_CONF = Path("/etc/libvirt/qemu.conf")
NAMESPACES_LINE = "namespaces = [ ]"
KVM_DEVICE = Path("/dev/kvm")
# The file bind-mounted over /dev/kvm inside libvirtd's mount namespace.
KVM_MASK = Path("/run/pocketstack-nokvm")
SYSTEM_URI = "qemu:///system"
LOCK_FILE = Path("/run/lock/pocketstack-libvirt-host.lock")

# Daemon name -> (pid file it writes, socket it serves when ready).
DAEMONS = {
    "virtlogd": (Path("/run/virtlogd.pid"), Path("/run/libvirt/virtlogd-sock")),
    "libvirtd": (Path("/run/libvirtd.pid"), Path("/run/libvirt/libvirt-sock")),
}
START_TIMEOUT = 60.0
# The child subreaper libvirtd runs under (see _libvirtd_command).
REAPER = "tini"


class HostServiceError(RuntimeError):
    """A host daemon could not be started or checked."""


def kvm_usable() -> bool:
    """True if hardware virtualisation really works here: the CPU advertises
    vmx (Intel) or svm (AMD) and /dev/kvm is a usable character device.
    The compute driver uses this to choose domain type 'kvm' or 'qemu'."""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    has_flag = any(re.search(r"\b(vmx|svm)\b", line)
                   for line in cpuinfo.splitlines() if line.startswith("flags"))
    try:
        is_chardev = stat.S_ISCHR(KVM_DEVICE.stat().st_mode)
    except OSError:
        is_chardev = False
    return has_flag and is_chardev and os.access(KVM_DEVICE, os.R_OK | os.W_OK)


def _record_path(state_dir: Path) -> Path:
    return Path(state_dir) / "run" / "libvirt-host.json"


def _log_path(daemon: str) -> Path:
    """The daemons serve every stack on the machine and outlive the one that
    started them, whose state directory may be deleted: their logs go to
    libvirt's own log directory. (libvirtd's children open the same log
    outputs: a log file that vanished would make every QEMU start fail.)"""
    return LIBVIRT_DIRS[0] / f"{daemon}.log"


@contextmanager
def _locked():
    """Serialise ensure_running/stop calls machine-wide: the daemons are
    global, so two state dirs (e.g. two pytest-xdist workers) starting
    libvirtd at once must not race."""
    LOCK_FILE.parent.mkdir(parents=True, exist_ok=True)
    with open(LOCK_FILE, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _check_prerequisites() -> None:
    """Fail early, with a hint, on what we cannot fix at run time."""
    if os.geteuid() != 0:
        raise HostServiceError("starting libvirtd for qemu:///system needs root")
    try:
        pwd.getpwnam("libvirt-qemu")
    except KeyError:
        raise HostServiceError("user libvirt-qemu is missing: install the Debian "
                               "package libvirt-daemon-system") from None


def prepare_directories() -> None:
    """The directories systemd would have created for libvirt."""
    for directory in LIBVIRT_DIRS:
        directory.mkdir(parents=True, exist_ok=True)


def ensure_qemu_conf(conf: Path = QEMU_CONF) -> bool:
    """Make qemu.conf say `namespaces = [ ]`, idempotently.  Another active
    `namespaces = ...` setting is commented out.  Returns True if the file
    changed (a running libvirtd must then be restarted to see it)."""
    text = conf.read_text() if conf.exists() else ""
    lines = text.splitlines()
    active = [i for i, line in enumerate(lines) if re.match(r"\s*namespaces\s*=", line)]
    if [lines[i].strip() for i in active] == [NAMESPACES_LINE]:
        return False
    for i in active:
        lines[i] = "#" + lines[i] + "  # disabled by PocketStack"
    lines += ["# PocketStack: no per-domain /dev namespace (see the /dev/kvm trap)",
              NAMESPACES_LINE]
    conf.parent.mkdir(parents=True, exist_ok=True)
    tmp = conf.with_name(conf.name + ".pocketstack-tmp")
    tmp.write_text("\n".join(lines) + "\n")
    os.replace(tmp, conf)
    return True


def daemon_pid(name: str) -> int | None:
    """Pid of the running daemon `name`: from its pid file, else from /proc."""
    pid_file, _socket = DAEMONS[name]
    pid = procs.read_pid_file(pid_file)
    if procs.is_running(pid, name):
        return pid
    found = procs.pids_named(name)
    return found[0] if found else None


def kvm_masked(pid: int) -> bool:
    """True if, in the mount namespace of `pid`, /dev/kvm is not a usable
    device (our mask file, or absent).  /proc/PID/root shows that process's
    view of the filesystem."""
    try:
        mode = os.stat(f"/proc/{pid}/root{KVM_DEVICE}").st_mode
    except OSError:
        return True
    return not stat.S_ISCHR(mode)


def _daemon_env(name: str) -> dict:
    """Environment for a daemon: its log goes to /var/log/libvirt/<name>.log
    (level 3 = warnings and errors; no secrets are logged at that level)."""
    env = dict(os.environ)
    env["LIBVIRT_LOG_OUTPUTS"] = f"3:file:{_log_path(name)}"
    return env


def _run_start(argv: list[str], env: dict, name: str) -> None:
    """Run a `-d` start command: it returns once the daemon has forked."""
    proc = subprocess.run(argv, env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=START_TIMEOUT)
    if proc.returncode != 0:
        raise HostServiceError(f"starting {name} failed ({proc.returncode}): "
                               f"{proc.stderr.strip()}")


def _start_virtlogd() -> None:
    _run_start(["virtlogd", "-d"], _daemon_env("virtlogd"), "virtlogd")


def _start_libvirtd() -> None:
    """Start libvirtd, inside the /dev/kvm trap when KVM is not usable, and
    under a reaper where there is one (under_reaper)."""
    env = _daemon_env("libvirtd")
    reaped = under_reaper(["libvirtd"])
    if reaped is None:
        log.warning("%s is not installed (Debian package tini): the QEMU processes "
                    "libvirtd leaves are reaped by init, which may slow every delete "
                    "down", REAPER)
    command = reaped or ["libvirtd", "-d"]
    if not (kvm_usable() or not KVM_DEVICE.exists()):
        KVM_MASK.touch()
        KVM_MASK.chmod(0o000)
        # unshare(1) without --fork execs sh in the new mount namespace; the
        # bind mount is private to it, and libvirtd (exec'd by sh) inherits it.
        command = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                   'mount --bind "$1" /dev/kvm && shift && exec "$@"', "sh",
                   str(KVM_MASK), *command]
    if reaped is None:
        _run_start(command, env, "libvirtd")
        return
    # libvirtd stays in the foreground under the reaper: setsid --fork puts
    # both in the background, in a session of their own; what they print
    # before libvirtd's own log is open goes to that log.
    with open(_log_path("libvirtd"), "a") as log_file:
        proc = subprocess.run(["setsid", "--fork", *command], env=env, stdout=log_file,
                              stderr=log_file, stdin=subprocess.DEVNULL,
                              timeout=START_TIMEOUT)
    if proc.returncode != 0:
        raise HostServiceError(f"starting libvirtd failed ({proc.returncode}): see "
                               f"{_log_path('libvirtd')}")


def under_reaper(daemon: list[str]) -> list[str] | None:
    """`daemon` (a command that stays in the foreground) run by tini as a
    child subreaper, or None where tini is not installed.

    libvirtd starts each QEMU as a daemon: when one exits, the one to reap
    it is the nearest subreaper above it, else the machine's init. A
    container's init may reap late (1.6 s on the project's machines), and
    libvirt's destroy waits until the QEMU is reaped (it polls kill(pid,
    0) every 200 ms): every server delete waited for init. tini -s is that
    subreaper for everything libvirtd starts and reaps each at once; it
    ends when libvirtd ends (the QEMUs still running then go to init)."""
    if shutil.which(REAPER) is None:
        return None
    return [REAPER, "-s", "--", *daemon]


def _libvirt_answers() -> bool:
    """True if libvirtd answers on qemu:///system."""
    try:
        proc = subprocess.run(["virsh", "-c", SYSTEM_URI, "version"],
                              capture_output=True, text=True, timeout=START_TIMEOUT)
    except subprocess.TimeoutExpired:
        return False
    return proc.returncode == 0


def _wait_ready(name: str) -> int:
    """Wait for the daemon's pid and socket; return its pid."""
    _pid_file, socket = DAEMONS[name]
    if not procs.wait_for(lambda: bool(daemon_pid(name)) and socket.exists(), START_TIMEOUT):
        raise HostServiceError(f"{name} did not come up within {START_TIMEOUT:.0f} s "
                               f"(see {_log_path(name)})")
    pid = daemon_pid(name)
    if pid is None:  # came up, then went away again at once
        raise HostServiceError(f"{name} stopped right after it started (see "
                               f"{_log_path(name)})")
    return pid


def ensure_running(state_dir: Path) -> dict:
    """Make sure virtlogd and libvirtd run; start only what is missing.

    Returns {"virtlogd": pid, "libvirtd": pid, "started": [names started by
    this call], "kvm": kvm_usable(), "kvm_masked": bool}.
    """
    state_dir = Path(state_dir)
    _check_prerequisites()
    with _locked():
        prepare_directories()
        conf_changed = ensure_qemu_conf()
        record = procs.load_record(_record_path(state_dir))
        started_now = []
        for name, start in (("virtlogd", _start_virtlogd), ("libvirtd", _start_libvirtd)):
            if daemon_pid(name) is None:
                log.info("starting %s", name)
                start()
                started_now.append(name)
            pid = _wait_ready(name)
            if name in started_now:
                record[name] = pid
            elif name == "libvirtd" and conf_changed:
                log.warning("qemu.conf changed while libvirtd (pid %s) was running: "
                            "restart it to apply '%s'", pid, NAMESPACES_LINE)
        procs.save_record(_record_path(state_dir), record)
        # Asked until it answers: the socket _wait_ready saw may be the one
        # a killed libvirtd left behind, before the new one has bound it.
        if not procs.wait_for(_libvirt_answers, START_TIMEOUT, interval=0.2):
            raise HostServiceError(f"libvirtd runs but does not answer on {SYSTEM_URI}")
        result = status(state_dir)
    masked = kvm_masked(result["libvirtd"]["pid"])
    if not kvm_usable() and KVM_DEVICE.exists() and not masked:
        log.warning("libvirtd runs without the /dev/kvm trap: every domain start "
                    "will be very slow; stop it and call ensure_running again")
    return {"virtlogd": result["virtlogd"]["pid"], "libvirtd": result["libvirtd"]["pid"],
            "started": started_now, "kvm": kvm_usable(), "kvm_masked": masked}


def status(state_dir: Path | None = None) -> dict:
    """{"virtlogd": {...}, "libvirtd": {...}}, each with up, pid and
    started_by_us (whether the record in state_dir names that pid)."""
    record = procs.load_record(_record_path(state_dir)) if state_dir else {}
    result = {}
    for name in DAEMONS:
        pid = daemon_pid(name)
        result[name] = {"up": pid is not None, "pid": pid,
                        "started_by_us": pid is not None and record.get(name) == pid}
    return result


def stop(state_dir: Path) -> dict:
    """Stop the daemons that ensure_running started (libvirtd first, then
    virtlogd).  Daemons started by someone else are left alone.  Running
    domains are not touched: their QEMU processes outlive libvirtd.
    Returns {name: pid} of what was stopped."""
    state_dir = Path(state_dir)
    stopped: dict[str, int] = {}
    with _locked():
        record = procs.load_record(_record_path(state_dir))
        if not record:
            return stopped  # we started nothing from this state dir
        for name in ("libvirtd", "virtlogd"):
            pid = record.pop(name, None)
            if pid and procs.is_running(pid, name):
                if not procs.terminate(pid, name):
                    raise HostServiceError(f"{name} (pid {pid}) would not stop")
                stopped[name] = pid
        procs.save_record(_record_path(state_dir), record)
    return stopped
