"""SSH into the tiny image from a test, as a careful person would: with a key
pair of the test's own, and trusting no host key but those the guest printed
on its serial console (paramiko's RejectPolicy refuses any other).

    key, public_line = new_key()
    keys = console_host_keys(console_text)          # [(type, base64), ...]
    with session(sock, ip, key, keys) as client:
        output, status = run(client, "hostname")

`sock` is a TCP socket made where the guest's address is reachable (for a
fixed IP, inside the stack's namespace: shared.netns.socket_in).
"""
from __future__ import annotations

import base64
import io
import re
import socket
from contextlib import contextmanager

import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from shared.netns import socket_in
from tests.support.compute import unique, wait_for
from tests.support.network import fixed_ip, namespace

KEYS_BLOCK = re.compile(r"^-----BEGIN SSH HOST KEY KEYS-----\s*$(.*?)"
                        r"^-----END SSH HOST KEY KEYS-----\s*$", re.MULTILINE | re.DOTALL)
SSH_TIMEOUT = 30.0


def new_key() -> tuple[paramiko.PKey, str]:
    """A fresh ed25519 key: (paramiko's private key, OpenSSH public line).
    paramiko cannot generate ed25519 keys itself; cryptography can."""
    private = ed25519.Ed25519PrivateKey.generate()
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption()).decode()
    public = private.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                               serialization.PublicFormat.OpenSSH).decode()
    return paramiko.Ed25519Key.from_private_key(io.StringIO(pem)), f"{public} test@pocketstack"


def console_host_keys(console: str) -> list[tuple[str, str]]:
    """(type, base64) of each key in the console's last KEYS block."""
    blocks = KEYS_BLOCK.findall(console.replace("\r", ""))
    assert blocks, "no SSH HOST KEY KEYS block on the console"
    return [tuple(line.split()[:2]) for line in blocks[-1].splitlines() if line.strip()]


@contextmanager
def session(sock: socket.socket, address: str, key: paramiko.PKey,
                host_keys: list[tuple[str, str]], user: str = "root"):
    """An SSHClient logged in over `sock` (connected here to address:22)."""
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    for kind, blob in host_keys:
        client.get_host_keys().add(address, kind,
                                   paramiko.PKey.from_type_string(kind, base64.b64decode(blob)))
    sock.settimeout(SSH_TIMEOUT)
    sock.connect((address, 22))
    try:
        client.connect(address, username=user, pkey=key, sock=sock, look_for_keys=False,
                       allow_agent=False, timeout=SSH_TIMEOUT, banner_timeout=SSH_TIMEOUT,
                       auth_timeout=SSH_TIMEOUT)
        yield client
    finally:
        client.close()
        sock.close()


def run(client: paramiko.SSHClient, command: str) -> tuple[str, int]:
    """(stdout, exit status) of `command` run by the guest's shell."""
    _stdin, stdout, _stderr = client.exec_command(command, timeout=SSH_TIMEOUT)
    output = stdout.read().decode()
    return output, stdout.channel.recv_exit_status()


# --- a server of the test's own, reachable over SSH ------------------------------------
def reachable_guest(stack, demo, net, prefix: str):
    """A generator for a module fixture: a server booted with a key pair of
    its own on the demo project's network, its SSH port open in the default
    group, yielded once a command runs in it over SSH (dropbear listens
    early; root's key comes once the guest has its lease and metadata)."""
    private_key, public_line = new_key()
    name = unique(f"{prefix}-key")
    response = demo.call("POST", "/os-keypairs", json={"keypair": {
        "name": name, "public_key": public_line}})
    assert response.status_code == 200, response.text
    net.allow_ssh(net.find("security_group", "default")["id"])
    private = net.find("network", "private")
    made = demo.create(name=unique(f"{prefix}-guest"), key_name=name,
                       networks=[{"uuid": private["id"]}])
    server = demo.wait_status(made["id"], "ACTIVE")
    demo.wait_console(server["id"], r"^POCKETSTACK-SSH: ready")
    demo.wait_console(server["id"], r"^POCKETSTACK-KEY: (\S+)\s*$")
    reached = {"server": server, "address": fixed_ip(server), "key": private_key,
               "host_keys": console_host_keys(demo.console(server["id"]))}
    wait_for(lambda: _answers(stack, reached), timeout=120, what="SSH into the guest")
    yield reached
    demo.call("DELETE", f"/os-keypairs/{name}")


def run_in(stack, guest: dict, command: str) -> tuple[str, int]:
    """`command` in a guest of reachable_guest(): its output and exit status."""
    with session(socket_in(namespace(stack)), guest["address"], guest["key"],
                 guest["host_keys"]) as client:
        return run(client, command)


def _answers(stack, guest: dict) -> bool:
    try:
        return run_in(stack, guest, "true") == ("", 0)
    except OSError:
        return False
