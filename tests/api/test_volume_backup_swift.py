"""Volume backups in Swift (Cinder's swift backup driver) against a real
single-node Swift: a stack of its own with pocketstack.conf [swift] enabled
and volumed.conf [backup] backup_driver = swift, written before its first
start. Backups go through the real `openstack` client; what they left in
Swift is checked with Swift's own API as the account's owner, volumed's
service user (project `service`): Cinder's single-tenant default."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time

import pytest
import requests

from identity.bootstrap import Credentials
from pocketstack.services import SERVICES, initial_settings
from shared.config import ensure_config_file
from shared.units import MiB
from tests.api.test_volume_backups import wait_backup
from tests.stack import REPO, Stack
from tests.support.images import _free_extra_offset
from tests.support.swift import stack_conf, storage_url
from tests.support.volumes import VolumeApi, unique, volume_file, write

CONTAINER = "volumebackups"     # Cinder's backup_swift_container default
FILE_SIZE = 64 * MiB            # backup_file_size: a 1 GiB volume in 16 objects
VOLUMED = next(service for service in SERVICES if service.name == "volumed")


@pytest.fixture(scope="module")
def swift_stack(tmp_path_factory, stack):
    state = tmp_path_factory.mktemp("swift-backup-stack")
    etc = state / "etc"
    etc.mkdir()
    own = Stack(state, stack.port_offset + _free_extra_offset(stack.port_offset, 45))
    # volumed.conf as `up` would write it (password, shifted ports), plus the driver.
    passwords = Credentials.load_or_create(etc / "credentials").passwords
    settings = initial_settings(VOLUMED, own.port_offset, passwords)
    settings["backup"] = {"backup_driver": "swift", "backup_file_size": FILE_SIZE}
    ensure_config_file(VOLUMED.schema(), etc, settings)
    (etc / "pocketstack.conf").write_text(stack_conf(own))
    with own.running():
        yield own


def swift_objects(stack: Stack, prefix: str) -> dict[str, int]:
    """The backup container's objects whose names start with `prefix`, with
    their sizes, as Swift lists them to volumed's service user."""
    token = stack.token("volumed", "service")
    answer = requests.get(f"{storage_url(stack, token)}/{CONTAINER}",
                          params={"format": "json", "prefix": prefix},
                          headers={"X-Auth-Token": token}, timeout=30)
    if answer.status_code == 404:
        return {}
    assert answer.status_code == 200, answer.text
    return {entry["name"]: entry["bytes"] for entry in answer.json()}


def file_sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(8 * MiB):
            digest.update(block)
    return digest.hexdigest()


def test_backup_restore_delete_in_swift(swift_stack):
    """A 1 GiB volume with known bytes (20 MiB of random data: an object
    larger than what the writer keeps in memory) backed up into Swift as
    Cinder's chunked layout, restored into a new volume with the same
    bytes, and deleted with nothing left in the container."""
    demo = VolumeApi(swift_stack, "demo")
    volume = demo.create(size=1)
    write(swift_stack, volume["id"], 0, b"swift backup marker")
    write(swift_stack, volume["id"], 100 * MiB, os.urandom(20 * MiB))
    expected = file_sha256(volume_file(swift_stack, volume["id"]))

    backup_id = swift_stack.openstack("volume", "backup", "create", "--name", unique("swb"),
                                      volume["id"], "-f", "value", "-c", "id").stdout.strip()
    backup = wait_backup(demo, backup_id)
    assert backup["container"] == CONTAINER and backup["object_count"] == 16
    prefix = f"volume_{volume['id']}_"
    stored = swift_objects(swift_stack, prefix)
    names = sorted(stored)
    data = [name for name in names if not name.endswith(("_metadata", "_sha256file"))]
    assert [name[-6:] for name in data] == [f"-{n:05d}" for n in range(1, 17)]
    assert any(name.endswith(f"backup_{backup_id}_metadata") for name in names)
    assert any(name.endswith(f"backup_{backup_id}_sha256file") for name in names)
    assert stored[data[1]] > 16 * MiB   # the random chunk, compressed: no smaller
    assert not (swift_stack.state_dir / "lib" / "backup").exists()

    restored_id = swift_stack.openstack("volume", "backup", "restore", backup_id,
                                        unique("restored"), "-f", "value",
                                        "-c", "volume_id").stdout.strip()
    demo.wait(restored_id, "available", timeout=180)
    assert file_sha256(volume_file(swift_stack, restored_id)) == expected
    wait_backup(demo, backup_id)

    swift_stack.openstack("volume", "backup", "delete", backup_id)
    deadline = time.monotonic() + 60
    while demo.call("GET", f"/backups/{backup_id}").status_code != 404:
        assert time.monotonic() < deadline, "the backup was not deleted"
        time.sleep(0.3)
    assert swift_objects(swift_stack, prefix) == {}


def test_swift_driver_without_swift_stops_volumed(stack, tmp_path):
    """backup_driver = swift on a stack whose catalog has no object-store
    (the shared stack runs no Swift): volumed stops at start, saying so."""
    etc = tmp_path / "etc"
    etc.mkdir()
    settings = initial_settings(VOLUMED, stack.port_offset,
                                Credentials.load_or_create(stack.state_dir / "etc" /
                                                           "credentials").passwords)
    settings["backup"] = {"backup_driver": "swift"}
    ensure_config_file(VOLUMED.schema(), etc, settings)
    started = subprocess.run([sys.executable, "-m", "volumed.app", "--state-dir",
                              str(tmp_path)], capture_output=True, text=True, timeout=60,
                             cwd=REPO)
    assert started.returncode == 2, started.stdout + started.stderr
    assert "backup_driver is swift, but identity's catalog has no object-store" \
        in started.stderr
