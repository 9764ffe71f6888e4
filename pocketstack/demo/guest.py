"""Commands run inside the demo's guest, as `pocketstack ssh` runs them:
its fixed IP reached from inside the stack's network namespace, its host
keys taken from its console and no others, the key pair's private key.
"""
from __future__ import annotations

import time
from pathlib import Path

import paramiko

from pocketstack.cloud import Cloud
from pocketstack.progress import Waiting
from pocketstack.ssh import hostkeys, target
from pocketstack.ssh.session import KeyRefused, connect
from pocketstack.ssh.wait import Progress as PhaseProgress
from pocketstack.ssh.wait import wait_until_reachable

COMMAND_TIMEOUT = 60.0


class _Phases(PhaseProgress):
    """`pocketstack ssh --wait`'s phases, shown on the demo's spinner."""

    def __init__(self, wait: Waiting, say):
        super().__init__(quiet=True)
        self.wait = wait
        self.say = say

    def reached(self, phase: str, seconds: float, detail: str = "") -> None:
        self.say(f"  -> {phase:<11} after {seconds:5.1f} s  {detail}".rstrip())

    def waiting(self, what: str, seconds: float) -> None:
        self.wait.note(what)


def reach(cloud: Cloud, server_id: str, namespace: str, key_file: Path, wait: Waiting,
          say, timeout: float) -> paramiko.SSHClient:
    """Wait until the guest answers SSH (DHCP lease, banner, host keys on
    the console), then log in with the key pair's key."""
    wait_until_reachable(cloud, server_id, namespace, 22, timeout, _Phases(wait, say))
    server = target.refresh(cloud, server_id)
    address = target.choose_address(server)
    keys = hostkeys.parse(target.console(cloud, server_id))
    user = target.login_user(cloud, server)
    deadline = time.monotonic() + timeout
    while True:
        try:
            return connect(address, 22, namespace, user, keys, [key_file])
        except KeyRefused:
            # The guest installs the key a moment after dropbear starts.
            if time.monotonic() > deadline:
                raise
            wait.note("the guest to install the key pair's key")
            time.sleep(1)


def run(client: paramiko.SSHClient, command: str) -> tuple[int, str]:
    """(exit status, stdout and stderr together) of a command in the guest."""
    _stdin, stdout, _stderr = client.exec_command(f"{command} 2>&1", timeout=COMMAND_TIMEOUT)
    output = stdout.read().decode(errors="replace")
    return stdout.channel.recv_exit_status(), output
