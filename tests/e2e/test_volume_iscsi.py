"""A volume over real iSCSI: tgtd, CHAP, ACLs, and restarts.

The initiators are libiscsi's iscsi-inq and QEMU's own (qemu-io), the one
computed's VMs use. The CHAP password is handed to qemu-io as a secret
object read from a 0600 file, never on a command line."""
from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from shared.units import MiB
from tests.support.volumes import VolumeApi, connector

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def demo(stack) -> VolumeApi:
    return VolumeApi(stack, "demo")


@pytest.fixture(scope="module")
def admin(stack) -> VolumeApi:
    return VolumeApi(stack, "admin")


# --- initiators ---------------------------------------------------------------------------
def inq(info: dict, initiator: str, password: str | None = None) -> subprocess.CompletedProcess:
    """iscsi-inq logs in with CHAP and asks the LUN who it is. (libiscsi
    takes the secret only in the URL; these are throw-away test secrets.)"""
    secret = info["auth_password"] if password is None else password
    url = (f"iscsi://{info['auth_username']}%{secret}@{info['target_portal']}/"
           f"{info['target_iqn']}/{info['target_lun']}")
    return subprocess.run(["iscsi-inq", "-i", initiator, url], capture_output=True,
                          text=True, timeout=60)


def qemu_io(info: dict, initiator: str, secret_dir: Path, *commands: str,
            password: str | None = None) -> subprocess.CompletedProcess:
    secret = secret_dir / "chap-secret"
    secret.touch(mode=0o600)
    secret.write_text(info["auth_password"] if password is None else password)
    options = ",".join([
        "driver=iscsi", "transport=tcp", f"portal={info['target_portal']}",
        f"target={info['target_iqn']}", f"lun={info['target_lun']}",
        f"user={info['auth_username']}", "password-secret=chap", f"initiator-name={initiator}"])
    argv = ["qemu-io", "--object", f"secret,id=chap,file={secret}", "--image-opts", options]
    for command in commands:
        argv += ["-c", command]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)


def attach(demo: VolumeApi, volume_id: str, name: str) -> tuple[dict, dict, str]:
    conn = connector(name)
    attachment = demo.attach(volume_id, conn)
    demo.complete(attachment["id"])
    return attachment, attachment["connection_info"], conn["initiator"]


# --- the stack's processes ---------------------------------------------------------------------
def tgtd_record(stack) -> dict:
    return json.loads((stack.state_dir / "run" / "tgtd.json").read_text())


def kill_volumed(stack) -> None:
    """SIGKILL volumed's main process (no clean shutdown), wait until its
    workers have noticed and its port is free."""
    pid = int((stack.state_dir / "run" / "volumed.pid").read_text())
    os.kill(pid, signal.SIGKILL)
    import socket
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", stack.port("volumed"))) != 0:
                return
        time.sleep(0.2)
    raise AssertionError("volumed's port stayed busy")


def wait_until(predicate, timeout: float = 30, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)


# --- tests ---------------------------------------------------------------------------------
def test_connection_info_is_iscsi_with_chap(stack, demo):
    volume = demo.create()
    attachment, info, _ = attach(demo, volume["id"], "shape")
    assert info["driver_volume_type"] == "iscsi"
    assert info["target_portal"] == f"127.0.0.1:{stack.port('tgtd')}"
    assert info["target_iqn"] == f"iqn.2010-10.org.openstack:volume-{volume['id']}"
    assert info["target_lun"] == 1 and info["volume_id"] == volume["id"]
    assert info["auth_method"] == "CHAP"
    assert len(info["auth_username"]) >= 16 and len(info["auth_password"]) >= 20
    # A second attachment gets secrets of its own.
    demo.detach(attachment["id"])
    second, info2, _ = attach(demo, volume["id"], "shape2")
    assert info2["auth_password"] != info["auth_password"]
    assert info2["auth_username"] != info["auth_username"]
    demo.detach(second["id"])
    demo.delete(volume["id"])


def test_right_secret_reads_and_writes_wrong_secret_and_other_initiator_refused(
        stack, demo, tmp_path):
    volume = demo.create()
    attachment, info, initiator = attach(demo, volume["id"], "chap")

    assert inq(info, initiator).returncode == 0
    wrong = inq(info, initiator, password="not-the-password")
    assert wrong.returncode != 0 and "Authentication failure" in wrong.stderr
    other = inq(info, "iqn.2004-10.org.pocketstack:someone-else")
    assert other.returncode != 0

    written = qemu_io(info, initiator, tmp_path, "write -P 0xc3 2M 1M", "read -P 0xc3 2M 1M")
    assert written.returncode == 0, written.stderr
    assert "read 1048576/1048576" in written.stdout
    refused = qemu_io(info, initiator, tmp_path, "read 0 4k", password="wrong-password")
    assert refused.returncode != 0 and "Authentication failure" in refused.stderr
    # The bytes are in the volume's file.
    path = stack.state_dir / "lib" / "volumes" / f"volume-{volume['id']}"
    with open(path, "rb") as handle:
        handle.seek(2 * MiB)
        assert handle.read(MiB) == b"\xc3" * MiB

    demo.detach(attachment["id"])
    after = inq(info, initiator)
    assert after.returncode != 0, "the target must be gone after detach"
    assert qemu_io(info, initiator, tmp_path, "read 0 4k").returncode != 0
    demo.delete(volume["id"])


def test_falls_back_to_the_initiator_address(demo):
    volume = demo.create()
    conn = {"ip": "127.0.0.1", "host": "noiqn"}  # no initiator IQN
    attachment = demo.attach(volume["id"], conn)
    info = attachment["connection_info"]
    assert inq(info, "iqn.2004-10.org.pocketstack:any-name").returncode == 0
    demo.detach(attachment["id"])
    demo.delete(volume["id"])


def test_tgtd_listens_on_the_configured_address_only(stack, demo):
    record = tgtd_record(stack)
    listening = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True).stdout
    mine = [line.split()[3] for line in listening.splitlines()
            if f"pid={record['pid']}," in line]
    assert mine == [f"127.0.0.1:{stack.port('tgtd')}"]


def test_secrets_never_appear_in_a_process_list_or_a_log(stack, demo):
    """Watch every process's command line while attachments are made."""
    seen: list[str] = []
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            for entry in os.listdir("/proc"):
                if entry.isdigit():
                    with contextlib.suppress(OSError):
                        seen.append(Path(f"/proc/{entry}/cmdline").read_bytes().decode(
                            errors="replace"))

    watcher = threading.Thread(target=watch)
    watcher.start()
    secrets = []
    try:
        for i in range(3):
            volume = demo.create()
            attachment, info, _ = attach(demo, volume["id"], f"secret{i}")
            secrets.append(info["auth_password"])
            demo.detach(attachment["id"])
            demo.delete(volume["id"])
    finally:
        stop.set()
        watcher.join()
    assert seen
    for secret in secrets:
        assert not any(secret in cmdline for cmdline in seen)
        for log in (stack.state_dir / "log").glob("*.log"):
            assert secret not in log.read_text(errors="replace"), log.name


def test_data_survives_detach_volumed_restart_and_tgtd_restart(stack, demo, tmp_path):
    volume = demo.create()
    attachment, info, initiator = attach(demo, volume["id"], "survive")
    assert qemu_io(info, initiator, tmp_path, "write -P 0x11 0 1M").returncode == 0

    # 1. detach, attach again (new secrets): the data is still there.
    demo.detach(attachment["id"])
    attachment, info, initiator = attach(demo, volume["id"], "survive2")
    assert qemu_io(info, initiator, tmp_path, "read -P 0x11 0 1M").returncode == 0
    assert qemu_io(info, initiator, tmp_path, "write -P 0x22 1M 1M").returncode == 0

    # 2. volumed dies while the volume is attached; `pocketstack up` brings it
    # back and the export is the same: same IQN, same CHAP secrets.
    kill_volumed(stack)
    assert stack.up().returncode == 0
    assert demo.show(volume["id"])["status"] == "in-use"
    shown = demo.call("GET", f"/attachments/{attachment['id']}", expect=200).json()
    assert shown["attachment"]["connection_info"]["auth_password"] == info["auth_password"]
    assert qemu_io(info, initiator, tmp_path, "read -P 0x11 0 1M",
                   "read -P 0x22 1M 1M").returncode == 0

    # 3. tgtd dies (forgetting every target); it comes back (volumed's export
    # watcher or `pocketstack up` starts it) and the export is restored with
    # the same IQN and secrets.
    os.kill(tgtd_record(stack)["pid"], signal.SIGKILL)
    assert stack.up().returncode == 0
    wait_until(lambda: inq(info, initiator).returncode == 0, 30, "the export to come back")
    result = qemu_io(info, initiator, tmp_path, "read -P 0x11 0 1M", "read -P 0x22 1M 1M")
    assert result.returncode == 0, result.stderr
    assert inq(info, initiator, password="wrong-again").returncode != 0

    demo.detach(attachment["id"])
    assert inq(info, initiator).returncode != 0
    demo.delete(volume["id"])


def test_restart_reconciles_transient_statuses_and_leftovers(stack, demo, admin):
    volumes_dir = stack.state_dir / "lib" / "volumes"
    stuck_creating = demo.create()
    stuck_extending = demo.create()
    half_deleted = demo.create()
    for volume, status in ((stuck_creating, "creating"), (stuck_extending, "extending"),
                           (half_deleted, "deleting")):
        admin.action(volume["id"], "os-reset_status", {"status": status}, expect=202)
    (volumes_dir / f"volume-{half_deleted['id']}").unlink()  # the delete got that far
    leftover = volumes_dir / ".tmp-deadbeef-volume-unfinished"
    leftover.write_bytes(b"half a copy")

    kill_volumed(stack)
    assert stack.up().returncode == 0
    assert demo.show(stuck_creating["id"])["status"] == "available"
    extended = demo.show(stuck_extending["id"])
    assert extended["status"] == "available" and extended["size"] == 1
    assert demo.call("GET", f"/volumes/{half_deleted['id']}").status_code == 404
    assert not leftover.exists()
    # Nothing that existed was lost.
    assert (volumes_dir / f"volume-{stuck_creating['id']}").exists()
    assert (volumes_dir / f"volume-{stuck_extending['id']}").exists()
    demo.delete(stuck_creating["id"])
    demo.delete(stuck_extending["id"])
