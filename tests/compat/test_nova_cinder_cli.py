"""The older per-service command lines, `nova` (python-novaclient) and
`cinder` (python-cinderclient), unmodified from PyPI: many scripts and
tutorials still use them. They negotiate their microversion with ours (the
highest both know), log in from OS_* variables (no clouds.yaml), and look
resources up by name in their own way: cinderclient's lookup lists with
`all_tenants=1` even for a member, which Cinder quietly ignores."""
from __future__ import annotations

import os
import re
import subprocess
import time

import pytest

from tests.stack import CLIENTS_VENV
from tests.support.compute import BOOT_TIMEOUT, unique

pytestmark = [pytest.mark.compat, pytest.mark.e2e]


def login_environment(stack, user: str = "demo") -> dict:
    """OS_* variables as an openrc file sets them (the password too: in the
    environment, never in argv)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    environment.update({
        "OS_AUTH_URL": f"{stack.url('identity')}/v3", "OS_IDENTITY_API_VERSION": "3",
        "OS_USERNAME": user, "OS_PASSWORD": stack.password(user), "OS_PROJECT_NAME": user,
        "OS_USER_DOMAIN_NAME": "Default", "OS_PROJECT_DOMAIN_NAME": "Default"})
    return environment


class Cli:
    """One of the command lines, for one user."""

    def __init__(self, stack, program: str, user: str = "demo"):
        self.program = str(CLIENTS_VENV / "bin" / program)
        self.environment = login_environment(stack, user)

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([self.program, *args], capture_output=True, text=True,
                                env=self.environment, timeout=300)
        if check and result.returncode != 0:
            raise AssertionError(f"{self.program} {' '.join(args)} failed "
                                 f"({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result

    def properties(self, *args: str) -> dict[str, str]:
        """A `| Property | Value |` table (show, create, boot) as a dict."""
        table = {}
        for line in self(*args).stdout.splitlines():
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if line.startswith("|") and len(cells) == 2 and cells[0] != "Property":
                table[cells[0]] = cells[1]
        return table

    def rows(self, *args: str) -> list[dict[str, str]]:
        """A listing table as one dict per row, keyed by the header."""
        lines = [line for line in self(*args).stdout.splitlines() if line.startswith("|")]
        if not lines:
            return []
        split = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in lines]
        header, *rows = split
        return [dict(zip(header, row, strict=True)) for row in rows]

    def wait(self, predicate, what: str, timeout: float = 120.0):
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.program}: {what} not reached in {timeout:.0f} s")
            time.sleep(1)


@pytest.fixture
def nova(stack):
    return Cli(stack, "nova")


@pytest.fixture
def cinder(stack):
    return Cli(stack, "cinder")


def volume_status(cinder: Cli, name: str) -> str:
    return cinder.properties("show", name)["status"]


def test_nova_and_cinder_command_lines_boot_attach_snapshot_and_clean_up(
        stack, nova, cinder, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519
    vm, vol, snap, image, key = (unique("nova-vm"), unique("cinder-vol"), unique("cinder-snap"),
                                 unique("nova-image"), unique("nova-key"))
    public_key = tmp_path / "key.pub"
    public_key.write_text(ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode() + "\n")
    try:
        assert "m1.nano" in {row["Name"] for row in nova.rows("flavor-list")}
        nova("keypair-add", "--pub-key", str(public_key), key)
        assert key in {row["Name"] for row in nova.rows("keypair-list")}

        # nova boot --poll waits for ACTIVE; the guest really boots.
        nova("boot", "--image", "pocketstack-tiny", "--flavor", "m1.nano", "--key-name", key,
             "--poll", vm)
        shown = nova.properties("show", vm)
        assert shown["status"] == "ACTIVE" and shown["key_name"] == key
        assert shown["image"].startswith("pocketstack-tiny (")
        assert shown["flavor"].startswith("m1.nano")
        assert vm in {row["Name"] for row in nova.rows("list")}
        nova.wait(lambda: "POCKETSTACK-BOOTED" in nova("console-log", vm).stdout,
                  "the boot marker on the console", BOOT_TIMEOUT)

        # cinder create, looked up by name (all_tenants=1 from a member).
        created = cinder.properties("create", "--name", vol, "1")
        volume_id = created["id"]
        cinder.wait(lambda: volume_status(cinder, vol) == "available", "volume available")
        assert vol in {row["Name"] for row in cinder.rows("list")}

        # Attach as vdc, seen by the guest; detach.
        attached = nova.properties("volume-attach", vm, volume_id)
        assert attached["device"] == "/dev/vdc" and attached["volumeId"] == volume_id
        cinder.wait(lambda: volume_status(cinder, vol) == "in-use", "volume in-use")
        assert [row["VOLUME ID"] for row in nova.rows("volume-attachments", vm)] == [volume_id]
        nova.wait(lambda: re.search(r"POCKETSTACK-DISKS: .*vdc=", nova("console-log", vm).stdout),
                  "vdc in the guest", BOOT_TIMEOUT)
        nova("volume-detach", vm, volume_id)
        cinder.wait(lambda: volume_status(cinder, vol) == "available", "volume detached")

        # Volume changes with the cinder command line.
        cinder("extend", vol, "2")
        cinder.wait(lambda: cinder.properties("show", vol)["size"] == "2", "size 2")
        cinder("snapshot-create", "--name", snap, vol)
        cinder.wait(lambda: any(row["Name"] == snap and row["Status"] == "available"
                                for row in cinder.rows("snapshot-list")), "snapshot available")
        cinder("snapshot-delete", snap)
        cinder.wait(lambda: snap not in {row["Name"] for row in cinder.rows("snapshot-list")},
                    "snapshot gone")

        # Power and an image of the server.
        nova("stop", vm)
        nova.wait(lambda: nova.properties("show", vm)["status"] == "SHUTOFF", "SHUTOFF")
        nova("start", vm)
        nova.wait(lambda: nova.properties("show", vm)["status"] == "ACTIVE", "ACTIVE again")
        nova("image-create", "--poll", vm, image)
        snapshot = stack.openstack("image", "show", image, "-f", "value", "-c", "status")
        assert snapshot.stdout.strip() == "active"
    finally:
        nova("delete", vm, check=False)
        cinder("snapshot-delete", snap, check=False)
        nova("keypair-delete", key, check=False)
    nova.wait(lambda: vm not in {row["Name"] for row in nova.rows("list")}, "server gone")
    cinder("delete", vol)
    cinder.wait(lambda: vol not in {row["Name"] for row in cinder.rows("list")}, "volume gone")
    stack.openstack("image", "delete", image)
