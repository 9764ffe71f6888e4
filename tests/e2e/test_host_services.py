"""Host services: libvirtd/virtlogd and tgtd started for real, idempotently,
and stopped only when we started them."""
from __future__ import annotations

import os
import random
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from shared.host import libvirt_host, procs, tgt_host

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def _root_only():
    if os.geteuid() != 0:
        pytest.skip("host services need root")


# --- libvirt ------------------------------------------------------------------

def test_kvm_usable_follows_cpu_flags():
    flags = re.search(r"\b(vmx|svm)\b", Path("/proc/cpuinfo").read_text())
    if not flags or not Path("/dev/kvm").exists():
        assert libvirt_host.kvm_usable() is False
    else:
        assert libvirt_host.kvm_usable() is True


def test_qemu_conf_edit_is_idempotent(tmp_path):
    conf = tmp_path / "qemu.conf"
    conf.write_text('#namespaces = [ "mount" ]\nnamespaces = [ "mount" ]\nuser = "x"\n')
    assert libvirt_host.ensure_qemu_conf(conf) is True
    assert libvirt_host.ensure_qemu_conf(conf) is False
    active = [line for line in conf.read_text().splitlines()
              if re.match(r"\s*namespaces\s*=", line)]
    assert active == ["namespaces = [ ]"]
    assert 'user = "x"' in conf.read_text()


def test_libvirt_ensure_running_twice_starts_nothing_twice(host_state_dir):
    first = libvirt_host.ensure_running(host_state_dir)
    second = libvirt_host.ensure_running(host_state_dir)
    assert second["started"] == []
    assert (second["libvirtd"], second["virtlogd"]) == (first["libvirtd"], first["virtlogd"])
    assert procs.is_running(second["libvirtd"], "libvirtd")
    assert procs.is_running(second["virtlogd"], "virtlogd")
    state = libvirt_host.status(host_state_dir)
    assert state["libvirtd"]["up"] and state["virtlogd"]["up"]
    if not libvirt_host.kvm_usable():
        # The /dev/kvm trap is what keeps domain creation fast here.
        assert second["kvm_masked"] is True
    assert "namespaces = [ ]" in Path("/etc/libvirt/qemu.conf").read_text()


def test_a_domain_can_be_created(libvirt_conn):
    import libvirt

    name = f"pstest-probe-{os.getpid()}"
    xml = f"""<domain type='qemu'>
      <name>{name}</name>
      <memory unit='MiB'>64</memory>
      <vcpu>1</vcpu>
      <os><type arch='x86_64' machine='pc'>hvm</type></os>
      <features><acpi/></features>
    </domain>"""
    domain = libvirt_conn.createXML(xml, 0)
    try:
        assert domain.isActive()
        assert domain.info()[0] == libvirt.VIR_DOMAIN_RUNNING
    finally:
        domain.destroy()


def test_the_daemons_log_outside_any_state_directory(libvirt_conn):
    """They outlive the stack that started them: a log path inside its state
    directory would vanish with it, and every QEMU start would then fail."""
    for name in ("libvirtd", "virtlogd"):
        environ = Path(f"/proc/{libvirt_host.daemon_pid(name)}/environ").read_bytes()
        outputs = [item for item in environ.split(b"\0")
                   if item.startswith(b"LIBVIRT_LOG_OUTPUTS=")]
        assert outputs == [f"LIBVIRT_LOG_OUTPUTS=3:file:/var/log/libvirt/{name}.log".encode()]


def test_stop_leaves_daemons_it_did_not_start(libvirt_conn, tmp_path):
    """A state dir that started nothing stops nothing."""
    pid = libvirt_host.status()["libvirtd"]["pid"]
    assert libvirt_host.stop(tmp_path / "someone-else") == {}
    assert procs.is_running(pid, "libvirtd")
    assert libvirt_conn.getVersion() > 0


# A daemon as libvirtd is one: it stays in the foreground and starts a
# process of its own as a daemon (a double fork, as libvirt starts QEMU),
# which prints its pid and ends when a line comes on its stdin.
DAEMON_STARTING_A_DAEMON = """
import os, sys, time
if os.fork() == 0:
    if os.fork() == 0:
        print(os.getpid(), flush=True)
        sys.stdin.readline()
        os._exit(0)
    os._exit(0)
os.wait()
time.sleep(120)
"""


def test_what_libvirtd_leaves_has_the_reaper_for_parent(tmp_path):
    """libvirtd runs under tini -s: a process it starts as a daemon (QEMU)
    becomes tini's child, not init's, and is reaped once it ends (libvirt's
    destroy waits until it is; a container's init reaps late)."""
    daemon = tmp_path / "daemon.py"
    daemon.write_text(DAEMON_STARTING_A_DAEMON)
    command = libvirt_host.under_reaper([sys.executable, str(daemon)])
    assert command is not None, "tini is not installed (labs/host/install-packages.sh)"
    reaper = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert reaper.stdout is not None and reaper.stdin is not None
        left = int(reaper.stdout.readline())
        assert _parent_of(left) == reaper.pid
        reaper.stdin.write("\n")
        reaper.stdin.flush()
        assert procs.wait_for(lambda: not Path(f"/proc/{left}").exists(), 10.0), \
            f"process {left} was not reaped: {Path(f'/proc/{left}/stat').read_text()}"
    finally:
        reaper.terminate()  # tini passes it on to the daemon, and ends with it
        reaper.wait(timeout=30)
        reaper.stdin.close()
        reaper.stdout.close()


def _parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


# --- tgtd ---------------------------------------------------------------------

def free_loopback_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_control_port() -> int:
    """A tgtd control port no running tgtd uses (its socket file is absent).
    tgtd accepts 0..32767."""
    while True:
        port = random.randint(2000, tgt_host.MAX_CONTROL_PORT)
        if not Path(f"/var/run/tgtd/socket.{port}").exists():
            return port


def listeners_on(port: int) -> list[str]:
    """Local addresses of TCP listeners on `port`, as `ss -ltn` shows them."""
    out = subprocess.run(["ss", "-ltnH"], check=True, capture_output=True, text=True).stdout
    return [line.split()[3] for line in out.splitlines()
            if line.split()[3].rsplit(":", 1)[1] == str(port)]


@pytest.fixture
def tgt_state(tmp_path):
    state = tmp_path / "state"
    yield state
    tgt_host.stop(state)  # whatever the test did


def test_tgtd_on_loopback_with_own_control_port(tgt_state):
    port, control = free_loopback_port(), free_control_port()

    first = tgt_host.ensure_running(tgt_state, port=port, control_port=control)
    second = tgt_host.ensure_running(tgt_state, port=port, control_port=control)
    assert first["started"] is True and second["started"] is False
    assert second["pid"] == first["pid"]

    show = subprocess.run(["tgtadm", "-C", str(control), "--mode", "system", "--op", "show"],
                          capture_output=True, text=True)
    assert show.returncode == 0 and "State: ready" in show.stdout
    assert listeners_on(port) == [f"127.0.0.1:{port}"]
    assert tgt_host.status(tgt_state)["up"]

    # A target exists: tgtd would ignore SIGTERM now, stop() must still work.
    new = tgt_host.tgtadm(control, "--lld", "iscsi", "--mode", "target", "--op", "new",
                          "--tid", "1", "-T", "iqn.2010-01.org.pocketstack.test:stop")
    assert new.returncode == 0
    assert tgt_host.stop(tgt_state) is True
    assert not procs.is_running(first["pid"], "tgtd")
    assert listeners_on(port) == []
    assert not tgt_host.answers(control)
    assert tgt_host.status(tgt_state)["up"] is False


def test_tgtd_refuses_a_taken_port(tgt_state):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        control = free_control_port()
        with pytest.raises(tgt_host.TgtError):
            tgt_host.ensure_running(tgt_state, port=port, control_port=control)
    assert not tgt_host.answers(control)
    assert not tgt_host.status(tgt_state)["up"]
