"""The unmodified python-openstackclient reverting a volume to its latest
snapshot (Cinder 3.40): `openstack --os-volume-api-version 3.40 volume
revert SNAPSHOT` brings the snapshot's data back into the volume; an older
snapshot is refused with Cinder's message."""
from __future__ import annotations

import json
import time

import pytest

from tests.support.volumes import unique, wait_shown_status

pytestmark = pytest.mark.compat


def data_file(stack, volume_id: str):
    return stack.state_dir / "lib" / "volumes" / f"volume-{volume_id}"


def write(stack, volume_id: str, data: bytes) -> None:
    with open(data_file(stack, volume_id), "r+b") as handle:
        handle.write(data)


def read(stack, volume_id: str, length: int) -> bytes:
    with open(data_file(stack, volume_id), "rb") as handle:
        return handle.read(length)


def test_volume_revert_with_the_real_client(stack):
    volume, older, latest = unique("clirevert"), unique("clirevold"), unique("clirevnew")
    made = json.loads(stack.openstack("volume", "create", "--size", "1", volume,
                                      "-f", "json").stdout)
    wait_shown_status(stack, "volume", volume, "available")
    try:
        write(stack, made["id"], b"version one")
        stack.openstack("volume", "snapshot", "create", "--volume", volume, older)
        wait_shown_status(stack, "volume snapshot", older, "available")
        write(stack, made["id"], b"version two")
        stack.openstack("volume", "snapshot", "create", "--volume", volume, latest)
        wait_shown_status(stack, "volume snapshot", latest, "available")
        write(stack, made["id"], b"version 333")

        refused = stack.openstack("--os-volume-api-version", "3.40", "volume", "revert",
                                  older, check=False)
        assert refused.returncode != 0
        assert "is None or not the latest one of volume" in refused.stderr, refused.stderr
        assert read(stack, made["id"], 11) == b"version 333"

        stack.openstack("--os-volume-api-version", "3.40", "volume", "revert", latest)
        wait_shown_status(stack, "volume", volume, "available")
        wait_shown_status(stack, "volume snapshot", latest, "available")
        assert read(stack, made["id"], 11) == b"version two"
    finally:
        for snapshot in (latest, older):
            stack.openstack("volume", "snapshot", "delete", snapshot, check=False)
        for snapshot in (latest, older):
            _wait_snapshot_gone(stack, snapshot)
        stack.openstack("volume", "delete", volume, check=False)


def _wait_snapshot_gone(stack, name: str) -> None:
    deadline = time.monotonic() + 60
    while stack.openstack("volume", "snapshot", "show", name, check=False).returncode == 0:
        assert time.monotonic() < deadline, f"snapshot {name} was not deleted"
        time.sleep(1)
