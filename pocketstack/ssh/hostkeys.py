"""The host keys a guest printed on its serial console.

cloud-init (tools/write-ssh-key-fingerprints), CirrOS and PocketStack's tiny
image print each public host key once, at first boot, between two marker
lines:

    -----BEGIN SSH HOST KEY KEYS-----
    ssh-ed25519 AAAAC3Nz... root@vm1
    -----END SSH HOST KEY KEYS-----

The console log comes from Nova's os-getConsoleOutput, which only the
hypervisor writes: a machine in the middle of the network cannot forge it.
So these keys are what an SSH client must find, and nothing else (the same
check `openstack console log show` lets a careful person do by eye).
"""
from __future__ import annotations

import base64
import binascii

import paramiko

BEGIN = "-----BEGIN SSH HOST KEY KEYS-----"
END = "-----END SSH HOST KEY KEYS-----"


def parse(console: str) -> list[tuple[str, str]]:
    """(key type, base64 key) of each key in the last complete block of
    `console` (the last boot's, if the guest rebooted); [] if none."""
    lines = [line.strip() for line in console.replace("\r", "").split("\n")]
    ends = [i for i, line in enumerate(lines) if line == END]
    for end in reversed(ends):
        begins = [i for i in range(end) if lines[i] == BEGIN]
        if begins:
            keys = []
            for line in lines[begins[-1] + 1:end]:
                fields = line.split()
                if len(fields) >= 2 and _is_base64(fields[1]):
                    keys.append((fields[0], fields[1]))
            return keys
    return []


def _is_base64(text: str) -> bool:
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def known_hosts(address: str, port: int, keys: list[tuple[str, str]]) -> paramiko.HostKeys:
    """The keys as paramiko's known hosts of `address` ("[address]:port"
    when the port is not 22, as OpenSSH writes it)."""
    name = address if port == 22 else f"[{address}]:{port}"
    table = paramiko.HostKeys()
    for key_type, data in keys:
        try:
            key = paramiko.PKey.from_type_string(key_type, base64.b64decode(data))
        except (paramiko.SSHException, ValueError):
            continue  # a type this paramiko does not know: it cannot be offered either
        table.add(name, key_type, key)
    return table


def fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH's SHA256:... form, to show a person."""
    return key.fingerprint
