"""Run a single-node Ceph for one stack: one monitor, one manager, one OSD.

The smallest real Ceph cluster, enough for RBD (images in imaged's rbd
store, volumes in volumed's rbd backend, instance disks in computed):

* everything lives in the stack's state directory: the daemons' data in
  lib/ceph (the OSD's BlueStore on one sparse file, lib/ceph/osd.0/block),
  the cluster's ceph.conf and the clients' keyrings in etc/ceph (0600, the
  layout /etc/ceph has on a Ceph host, so librados finds a client's keyring
  from its name), logs in log/ceph, pid files and admin sockets in run/ceph;
* cephx is on everywhere; every messenger binds 127.0.0.1 (cluster_addr
  too: with only public_addr the cluster and heartbeat messengers would bind
  0.0.0.0), on the ports the caller gives: the monitor's two (msgr2, msgr1)
  and a small range for the OSD and the manager;
* one copy of each object (size 1), 8 placement groups per pool, and the
  health warnings that a one-disk cluster always raises switched off;
* the daemons run in the foreground (-f) as children detached into their own
  session, so we know their pids (run/ceph/<name>.pid) and stop exactly them.

The first start makes the cluster (keys, monitor map, the OSD's file
system), then the pools images, volumes and vms, and the clients
client.glance (images) and client.cinder (volumes and vms, images read
only), as Ceph's guide for OpenStack does. Later starts only start the
daemons. A cluster is ready once its OSD is up and its manager available
(the monitor reports HEALTH_OK before a manager exists, and without one
`ceph df` sees no space).
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from shared.secrets import write_private_file

from . import procs

LOOPBACK = "127.0.0.1"
POOLS = ("images", "volumes", "vms")
PG_NUM = 8
#: The OpenStack clients and what they may do (Ceph's "Block Devices and
#: OpenStack": profile rbd per pool; cinder reads the images it clones).
CLIENTS = {
    "glance": ["mon", "profile rbd", "osd", "profile rbd pool=images",
               "mgr", "profile rbd pool=images"],
    "cinder": ["mon", "profile rbd",
               "osd", "profile rbd pool=volumes, profile rbd pool=vms, "
                      "profile rbd-read-only pool=images",
               "mgr", "profile rbd pool=volumes, profile rbd pool=vms"],
}
#: The daemons, in start order (stopped in the reverse order).
DAEMONS = (("ceph-mon", "mon", "a"), ("ceph-osd", "osd", "0"), ("ceph-mgr", "mgr", "x"))
PACKAGES_HINT = "run labs/host/install-packages.sh --ceph"
READY_TIMEOUT = 180.0
COMMAND_TIMEOUT = 120.0


class CephError(Exception):
    """The cluster could not be made or started; the message says why."""


@dataclass(frozen=True)
class CephPorts:
    mon: int          # msgr2
    mon_v1: int       # msgr1 (what QEMU and libvirt name as the monitor's port)
    bind_min: int     # the range the OSD and the manager bind in
    bind_max: int

    @property
    def mon_host(self) -> str:
        return f"[v2:{LOOPBACK}:{self.mon},v1:{LOOPBACK}:{self.mon_v1}]"


@dataclass(frozen=True)
class CephLayout:
    """Where one stack's Ceph keeps what (see the module docstring)."""
    state_root: Path

    @property
    def conf_dir(self) -> Path:
        return self.state_root / "etc" / "ceph"

    @property
    def conf(self) -> Path:
        return self.conf_dir / "ceph.conf"

    @property
    def data(self) -> Path:
        return self.state_root / "lib" / "ceph"

    @property
    def daemon_keyring(self) -> Path:
        return self.data / "keyring"

    @property
    def run(self) -> Path:
        return self.state_root / "run" / "ceph"

    @property
    def log(self) -> Path:
        return self.state_root / "log" / "ceph"

    def keyring(self, client: str) -> Path:
        return self.conf_dir / f"ceph.client.{client}.keyring"

    def pid_file(self, kind: str, daemon_id: str) -> Path:
        return self.run / f"{kind}.{daemon_id}.pid"

    @property
    def pools_made(self) -> Path:
        return self.data / "pools-made"


def installed() -> bool:
    return all(shutil.which(program) for program in ("ceph-mon", "ceph-osd", "ceph-mgr",
                                                     "ceph", "rbd", "ceph-authtool"))


def ensure_running(state_root: Path, ports: CephPorts, osd_size: int) -> dict:
    """Make the cluster at first start, start the daemons that are not
    running, wait until it serves. Returns {"fsid", "started": [names],
    "pids": {name: pid}}. Raises CephError; daemons it started stay
    recorded in their pid files (stop() ends them)."""
    if not installed():
        raise CephError(f"the Ceph packages are missing ({PACKAGES_HINT})")
    layout = CephLayout(state_root)
    if not (layout.data / "mon.a").exists():
        _make_cluster(layout, ports, osd_size)
    started = []
    for program, kind, daemon_id in DAEMONS:
        if kind == "osd":
            _make_osd_once(layout)
        if not _running(layout, _pid(layout, kind, daemon_id), program):
            _spawn(layout, program, kind, daemon_id)
            started.append(program)
    _wait_ready(layout)
    if not layout.pools_made.exists():
        _make_pools_and_clients(layout)
    return {"fsid": fsid(layout), "started": started, "pids": pids(layout)}


def stop(state_root: Path) -> list[str]:
    """Stop this stack's daemons (manager, OSD, monitor); the names stopped."""
    layout = CephLayout(state_root)
    stopped = []
    for program, kind, daemon_id in reversed(DAEMONS):
        pid = _pid(layout, kind, daemon_id)
        if pid is not None and _running(layout, pid, program):
            _terminate(layout, pid, program)
            stopped.append(program)
        layout.pid_file(kind, daemon_id).unlink(missing_ok=True)
    return stopped


def pids(layout: CephLayout) -> dict[str, int | None]:
    """Each daemon's pid while it runs, else None."""
    result: dict[str, int | None] = {}
    for program, kind, daemon_id in DAEMONS:
        pid = _pid(layout, kind, daemon_id)
        result[program] = pid if _running(layout, pid, program) else None
    return result


def fsid(layout: CephLayout) -> str:
    for line in layout.conf.read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "fsid":
            return value.strip()
    raise CephError(f"{layout.conf} names no fsid")


def ceph(layout: CephLayout, *args: str, client: str = "admin",
         timeout: float = COMMAND_TIMEOUT) -> str:
    """Run the `ceph` command as a client of this cluster; its output."""
    return _run(["ceph", "--conf", str(layout.conf), "--name", f"client.{client}",
                 "--connect-timeout", "15", *args], timeout)


def rbd(layout: CephLayout, *args: str, client: str = "admin",
        timeout: float = COMMAND_TIMEOUT) -> str:
    """Run the `rbd` command as a client of this cluster; its output."""
    return _run(["rbd", "--conf", str(layout.conf), "--name", f"client.{client}", *args],
                timeout)


# -- the first start ------------------------------------------------------------------------

def _make_cluster(layout: CephLayout, ports: CephPorts, osd_size: int) -> None:
    """ceph.conf, the daemons' keys and client.admin's, the monitor's store."""
    cluster_id = str(uuid.uuid4())
    for directory in (layout.conf_dir, layout.data, layout.run, layout.log):
        directory.mkdir(parents=True, exist_ok=True)
    layout.conf_dir.chmod(0o700)
    layout.conf.write_text(_ceph_conf(layout, ports, cluster_id, osd_size))
    keys = layout.daemon_keyring
    admin = layout.keyring("admin")
    _run(["ceph-authtool", "--create-keyring", str(admin), "--gen-key", "-n", "client.admin",
          "--cap", "mon", "allow *", "--cap", "osd", "allow *", "--cap", "mgr", "allow *",
          "--cap", "mds", "allow *"])
    admin.chmod(0o600)
    _run(["ceph-authtool", "--create-keyring", str(keys), "--gen-key", "-n", "mon.",
          "--cap", "mon", "allow *"])
    keys.chmod(0o600)
    _run(["ceph-authtool", str(keys), "--gen-key", "-n", "mgr.x", "--cap", "mon",
          "allow profile mgr", "--cap", "osd", "allow *", "--cap", "mds", "allow *"])
    _run(["ceph-authtool", str(keys), "--gen-key", "-n", "osd.0", "--cap", "mon",
          "allow profile osd", "--cap", "mgr", "allow profile osd", "--cap", "osd", "allow *"])
    _run(["ceph-authtool", str(keys), "--import-keyring", str(admin)])
    monmap = layout.data / "monmap"
    _run(["monmaptool", "--create", "--fsid", cluster_id, "--addv", "a", ports.mon_host,
          str(monmap)])
    try:
        _run(["ceph-mon", "--conf", str(layout.conf), "--mkfs", "-i", "a",
              "--monmap", str(monmap), "--keyring", str(keys)])
    except CephError:
        shutil.rmtree(layout.data / "mon.a", ignore_errors=True)  # a next `up` starts over
        raise


def _make_osd_once(layout: CephLayout) -> None:
    """Register OSD 0 with the monitor and make its BlueStore (once)."""
    osd_data = layout.data / "osd.0"
    if (osd_data / "mkfs_done").exists():
        return
    osd_data.mkdir(parents=True, exist_ok=True)
    osd_uuid = str(uuid.uuid4())
    ceph(layout, "osd", "new", osd_uuid, "0")
    _run(["ceph-osd", "--conf", str(layout.conf), "-i", "0", "--mkfs",
          "--osd-uuid", osd_uuid])


def _make_pools_and_clients(layout: CephLayout) -> None:
    for pool in POOLS:
        ceph(layout, "osd", "pool", "create", pool, str(PG_NUM))
        rbd(layout, "pool", "init", pool)
    for client, caps in CLIENTS.items():
        keyring = ceph(layout, "auth", "get-or-create", f"client.{client}", *caps)
        write_private_file(layout.keyring(client), keyring)
    layout.pools_made.write_text("images volumes vms; client.glance client.cinder\n")


def _ceph_conf(layout: CephLayout, ports: CephPorts, cluster_id: str, osd_size: int) -> str:
    daemon_files = (f"keyring = {layout.daemon_keyring}\n"
                    f"pid_file = {layout.run}/$name.pid\n"
                    f"admin_socket = {layout.run}/$name.asok\n"
                    f"log_file = {layout.log}/$name.log\n")
    return f"""# The stack's own single-node Ceph, written by `pocketstack up` at first start.
[global]
fsid = {cluster_id}
mon_host = {ports.mon_host}
public_addr = {LOOPBACK}
cluster_addr = {LOOPBACK}
ms_bind_ipv6 = false
ms_bind_port_min = {ports.bind_min}
ms_bind_port_max = {ports.bind_max}
auth_cluster_required = cephx
auth_service_required = cephx
auth_client_required = cephx
auth_allow_insecure_global_id_reclaim = false
keyring = {layout.conf_dir}/$cluster.$name.keyring
run_dir = {layout.run}
mon_cluster_log_file = {layout.log}/cluster.log
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = {PG_NUM}
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_allow_pool_size_one = true
mon_allow_pool_delete = true
mon_warn_on_pool_no_redundancy = false
mon_data_avail_warn = 2
mon_data_avail_crit = 1

[mon]
mon_data = {layout.data}/mon.$id
{daemon_files}
[mgr]
mgr_data = {layout.data}/mgr.$id
{daemon_files}
[osd]
osd_data = {layout.data}/osd.$id
osd_objectstore = bluestore
bluestore_block_create = true
bluestore_block_size = {osd_size}
bluestore_fsck_on_mkfs = false
bluestore_cache_autotune = false
bluestore_cache_size = 134217728
osd_memory_target = 939524096
{daemon_files}"""


# -- running --------------------------------------------------------------------------------

def _spawn(layout: CephLayout, program: str, kind: str, daemon_id: str) -> int:
    (layout.data / f"{kind}.{daemon_id}").mkdir(parents=True, exist_ok=True)
    layout.run.mkdir(parents=True, exist_ok=True)
    layout.log.mkdir(parents=True, exist_ok=True)
    with open(layout.log / f"{program}.out", "ab") as output:
        process = subprocess.Popen([program, "-f", "--conf", str(layout.conf), "-i", daemon_id],
                                   stdin=subprocess.DEVNULL, stdout=output, stderr=output,
                                   start_new_session=True, cwd="/")
    # Ceph writes the same pid file itself; ours exists from the first moment.
    layout.pid_file(kind, daemon_id).write_text(f"{process.pid}\n")
    return process.pid


def _wait_ready(layout: CephLayout) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    problem = "no answer yet"
    while time.monotonic() < deadline:
        for program, name in (("ceph-mon", "mon"), ("ceph-osd", "osd"), ("ceph-mgr", "mgr")):
            if pids(layout)[program] is None:
                raise CephError(f"{program} exited; see {layout.log}/{name}.*.log")
        try:
            osds = json.loads(ceph(layout, "osd", "stat", "-f", "json", timeout=30))
            manager = json.loads(ceph(layout, "mgr", "stat", "-f", "json", timeout=30))
        except (CephError, ValueError) as exc:
            problem = str(exc)
        else:
            if osds.get("num_up_osds", 0) >= 1 and manager.get("available"):
                return
            problem = f"{osds.get('num_up_osds', 0)} OSD up, manager available: " \
                      f"{manager.get('available')}"
        time.sleep(1)
    raise CephError(f"not ready after {READY_TIMEOUT:.0f} s ({problem}); see {layout.log}")


#: How many times (0.1 s apart) a process without a command line is looked
#: at again before it counts as gone.
EXEC_SETTLE_TRIES = 30


def _running(layout: CephLayout, pid: int | None, program: str) -> bool:
    """Is `pid` alive (not a zombie) and this cluster's `program`? Known by
    its command line (the program and this cluster's ceph.conf), not by its
    command name: ceph-mgr restarts itself with execv("/proc/self/exe"),
    after which its command name is "exe"."""
    if not pid:
        return False
    for _ in range(EXEC_SETTLE_TRIES):
        try:
            arguments = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return False
        if arguments != [b""]:
            break
        # In the middle of its execv the process shows no command line yet.
        time.sleep(0.1)
    return state != "Z" and Path(arguments[0].decode()).name == program \
        and str(layout.conf).encode() in arguments


def _terminate(layout: CephLayout, pid: int, program: str, timeout: float = 30) -> None:
    """SIGTERM, then SIGKILL if it is still there after `timeout` seconds."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        if procs.wait_for(lambda: not _running(layout, pid, program), timeout):
            procs.reap(pid)
            return


def _pid(layout: CephLayout, kind: str, daemon_id: str) -> int | None:
    return procs.read_pid_file(layout.pid_file(kind, daemon_id))


def _run(command: list[str], timeout: float = COMMAND_TIMEOUT) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise CephError(f"{command[0]} {command[1] if len(command) > 1 else ''} did not "
                        f"finish in {timeout:.0f} s") from None
    if done.returncode != 0:
        last = (done.stderr.strip() or done.stdout.strip()).splitlines()[-3:]
        raise CephError(f"{' '.join(command[:2])} ... failed ({done.returncode}): "
                        f"{' '.join(last)}")
    return done.stdout
