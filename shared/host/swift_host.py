"""Run a single-node Swift for one stack: a proxy, an account, a container
and an object server, and the memcached the proxy caches tokens in.

The smallest real Swift, enough for imaged's swift store:

* everything lives in the stack's state directory: the servers' configs
  and the three rings in etc/swift (0600: the proxy's config holds the
  password of Swift's service user), the data in lib/swift (one "device",
  d1, a plain directory: no XFS, no mount check), logs in log/swift, pid
  files in run/swift;
* every server binds 127.0.0.1, on the ports the caller gives;
* one replica, one zone, one device, 2^8 partitions per ring, built once
  at first start with swift-ring-builder (what `swift-ring-builder ...
  create / add / rebalance` does on a real cluster);
* the proxy authenticates like a real cloud's: keystonemiddleware's
  authtoken validates each user's token with identity (as the service user
  `swift`), and Swift's keystoneauth maps the token's project and roles to
  the account AUTH_<project id> (roles admin and member own it);
* the servers run in the foreground with -v (logs to stdout: there is no
  syslog on a machine without an init system) as children detached into
  their own session, so we know their pids and stop exactly them.

Swift reads /etc/swift/swift.conf (its hash path prefix and suffix) from a
fixed path; the Debian package installs one, which is all a single node
needs.
"""
from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from shared.secrets import write_private_file

from . import procs

LOOPBACK = "127.0.0.1"
#: The storage servers, in start order; the proxy starts last.
RING_SERVERS = ("account", "container", "object")
PART_POWER = 8
PACKAGES_HINT = "run labs/host/install-packages.sh --swift"
READY_TIMEOUT = 60.0
#: The proxy's pipeline: keystone's authtoken then keystoneauth in place of
#: Swift's test-only tempauth; dlo serves images uploaded in segments.
PIPELINE = ("catch_errors gatekeeper healthcheck proxy-logging cache listing_formats "
            "authtoken keystoneauth copy dlo proxy-logging proxy-server")


class SwiftError(Exception):
    """Swift could not be set up or started; the message says why."""


@dataclass(frozen=True)
class SwiftPorts:
    proxy: int
    object: int
    container: int
    account: int
    memcached: int

    def of(self, server: str) -> int:
        return getattr(self, server)


@dataclass(frozen=True)
class SwiftAuth:
    """How the proxy's authtoken reaches identity: identity's URL and the
    service user it validates tokens as (in project `service`)."""
    identity_url: str
    username: str
    password: str


@dataclass(frozen=True)
class SwiftLayout:
    """Where one stack's Swift keeps what (see the module docstring)."""
    state_root: Path

    @property
    def conf_dir(self) -> Path:
        return self.state_root / "etc" / "swift"

    @property
    def data(self) -> Path:
        return self.state_root / "lib" / "swift"

    @property
    def run(self) -> Path:
        return self.state_root / "run" / "swift"

    @property
    def log(self) -> Path:
        return self.state_root / "log" / "swift"

    def conf(self, server: str) -> Path:
        return self.conf_dir / f"{server}-server.conf"

    def pid_file(self, daemon: str) -> Path:
        return self.run / f"{daemon}.pid"


def installed() -> bool:
    return all(shutil.which(program) for program in (
        "swift-proxy-server", "swift-object-server", "swift-container-server",
        "swift-account-server", "swift-ring-builder", "memcached"))


#: Each daemon: (name, the command it runs, its /proc comm name).
def _daemons(layout: SwiftLayout, ports: SwiftPorts) -> list[tuple[str, list[str], str]]:
    daemons = [("memcached", ["memcached", "-l", LOOPBACK, "-p", str(ports.memcached),
                              "-U", "0", "-m", "64", "-u", "nobody"], "memcached")]
    for server in (*RING_SERVERS, "proxy"):
        program = f"swift-{server}-server"
        daemons.append((server, [program, str(layout.conf(server)), "-v"], program[:15]))
    return daemons


def ensure_running(state_root: Path, ports: SwiftPorts, auth: SwiftAuth) -> dict:
    """Write the configs (every start: ports and password follow the
    stack's files), build the rings at first start, start the daemons that
    are not running, wait until the proxy answers its health check.
    Returns {"started": [names], "pids": {name: pid}}. Raises SwiftError;
    daemons it started stay recorded in their pid files (stop() ends them)."""
    if not installed():
        raise SwiftError(f"the Swift packages are missing ({PACKAGES_HINT})")
    layout = SwiftLayout(state_root)
    for directory in (layout.conf_dir, layout.data / "d1", layout.run, layout.log):
        directory.mkdir(parents=True, exist_ok=True)
    layout.conf_dir.chmod(0o700)
    _write_configs(layout, ports, auth)
    _build_rings_once(layout, ports)
    started: dict[str, subprocess.Popen] = {}
    for name, command, comm in _daemons(layout, ports):
        if not procs.is_running(_pid(layout, name), comm):
            started[name] = _spawn(layout, name, command)
    _wait_ready(layout, ports, started)
    return {"started": list(started), "pids": pids(state_root, ports)}


def stop(state_root: Path, ports: SwiftPorts | None = None) -> list[str]:
    """Stop this stack's Swift (the proxy first, memcached last); the names
    of the daemons stopped."""
    layout = SwiftLayout(state_root)
    stopped = []
    for name, _, comm in reversed(_daemons(layout, ports or SwiftPorts(0, 0, 0, 0, 0))):
        pid = _pid(layout, name)
        if procs.is_running(pid, comm):
            assert pid is not None
            procs.terminate(pid, comm)
            stopped.append(name)
        layout.pid_file(name).unlink(missing_ok=True)
    return stopped


def pids(state_root: Path, ports: SwiftPorts | None = None) -> dict[str, int | None]:
    """Each daemon's pid while it runs, else None."""
    layout = SwiftLayout(state_root)
    result: dict[str, int | None] = {}
    for name, _, comm in _daemons(layout, ports or SwiftPorts(0, 0, 0, 0, 0)):
        pid = _pid(layout, name)
        result[name] = pid if procs.is_running(pid, comm) else None
    return result


# -- configuration --------------------------------------------------------------------------

def _write_configs(layout: SwiftLayout, ports: SwiftPorts, auth: SwiftAuth) -> None:
    for server in RING_SERVERS:
        write_private_file(layout.conf(server), _storage_conf(layout, server,
                                                              ports.of(server)))
    write_private_file(layout.conf("proxy"), _proxy_conf(layout, ports, auth))


def _common(layout: SwiftLayout, port: int, server: str) -> str:
    # user = root: no switch to a `swift` user the package may not have made
    # (and the data directory is the stack's, owned by root).
    return (f"[DEFAULT]\nbind_ip = {LOOPBACK}\nbind_port = {port}\n"
            f"swift_dir = {layout.conf_dir}\nuser = root\nworkers = 0\n"
            f"log_name = {server}-server\n")


def _storage_conf(layout: SwiftLayout, server: str, port: int) -> str:
    return (_common(layout, port, server) +
            f"devices = {layout.data}\nmount_check = false\n\n"
            f"[pipeline:main]\npipeline = {server}-server\n\n"
            f"[app:{server}-server]\nuse = egg:swift#{server}\n")


def _proxy_conf(layout: SwiftLayout, ports: SwiftPorts, auth: SwiftAuth) -> str:
    memcache = f"{LOOPBACK}:{ports.memcached}"
    filters = "".join(f"\n[filter:{name}]\nuse = egg:swift#{egg}\n" for name, egg in (
        ("catch_errors", "catch_errors"), ("gatekeeper", "gatekeeper"),
        ("healthcheck", "healthcheck"), ("listing_formats", "listing_formats"),
        ("copy", "copy"), ("dlo", "dlo")))
    return (_common(layout, ports.proxy, "proxy") +
            f"\n[pipeline:main]\npipeline = {PIPELINE}\n\n"
            "[app:proxy-server]\nuse = egg:swift#proxy\n"
            "# an account is made at its first write (AUTH_<project id>)\n"
            "account_autocreate = true\n\n"
            f"[filter:cache]\nuse = egg:swift#memcache\nmemcache_servers = {memcache}\n\n"
            "[filter:proxy-logging]\nuse = egg:swift#proxy_logging\n\n"
            "# Tokens are validated by identity, as the service user below.\n"
            "[filter:authtoken]\n"
            "paste.filter_factory = keystonemiddleware.auth_token:filter_factory\n"
            f"www_authenticate_uri = {auth.identity_url}\nauth_url = {auth.identity_url}\n"
            f"auth_type = password\nusername = {auth.username}\npassword = {auth.password}\n"
            "user_domain_id = default\nproject_name = service\nproject_domain_id = default\n"
            "delay_auth_decision = true\nservice_token_roles_required = true\n"
            f"memcached_servers = {memcache}\n\n"
            "# The token's project owns the account AUTH_<project id> for these roles.\n"
            "[filter:keystoneauth]\nuse = egg:swift#keystoneauth\n"
            "operator_roles = admin, member\n" + filters)


def _build_rings_once(layout: SwiftLayout, ports: SwiftPorts) -> None:
    for server in RING_SERVERS:
        if (layout.conf_dir / f"{server}.ring.gz").exists():
            continue
        builder = str(layout.conf_dir / f"{server}.builder")
        _run(["swift-ring-builder", builder, "create", str(PART_POWER), "1", "0"],
             accept=(0,))
        _run(["swift-ring-builder", builder, "add",
              f"r1z1-{LOOPBACK}:{ports.of(server)}/d1", "100"], accept=(0,))
        # 1: rebalanced with warnings (a single device is "unbalanced" by design).
        _run(["swift-ring-builder", builder, "rebalance"], accept=(0, 1))


# -- running --------------------------------------------------------------------------------

def _spawn(layout: SwiftLayout, name: str, command: list[str]) -> subprocess.Popen:
    with open(layout.log / f"{name}.log", "ab") as output:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=output,
                                   stderr=output, start_new_session=True, cwd="/")
    layout.pid_file(name).write_text(f"{process.pid}\n")
    return process


def _wait_ready(layout: SwiftLayout, ports: SwiftPorts,
                started: dict[str, subprocess.Popen]) -> None:
    """Until the proxy answers its health check; SwiftError as soon as a
    daemon is gone. A daemon started just now is asked through its process
    (waitpid), never by its command name: Popen returns once the new
    program's files are closed on exec, which the kernel does before it
    renames the process, so for a moment the child still bears our name
    ("python") and would look like a daemon that exited."""
    import requests
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        for name, pid in pids(layout.state_root, ports).items():
            process = started.get(name)
            if process is not None and process.poll() is not None:
                raise SwiftError(f"{name} exited with {process.returncode}; "
                                 f"see {layout.log / (name + '.log')}")
            if process is None and pid is None:
                raise SwiftError(f"{name} exited; see {layout.log / (name + '.log')}")
        try:
            answer = requests.get(f"http://{LOOPBACK}:{ports.proxy}/healthcheck", timeout=2)
            if answer.status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SwiftError(f"the proxy did not answer within {READY_TIMEOUT:.0f} s; "
                     f"see {layout.log}")


def _pid(layout: SwiftLayout, name: str) -> int | None:
    return procs.read_pid_file(layout.pid_file(name))


def _run(command: list[str], accept: tuple[int, ...]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if done.returncode not in accept:
        last = (done.stderr.strip() or done.stdout.strip()).splitlines()[-3:]
        raise SwiftError(f"{' '.join(command[:3])} ... failed ({done.returncode}): "
                         f"{' / '.join(last)}")
