"""pocketstack ssh's decisions that need no guest: reading host keys off a
console, choosing an address, and the errors given before any connection."""
from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from pocketstack.ssh import hostkeys, target
from pocketstack.ssh.session import SshError, connect


def public_line() -> tuple[str, str]:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    kind, data = key.public_bytes(serialization.Encoding.OpenSSH,
                                  serialization.PublicFormat.OpenSSH).decode().split()
    return kind, data


def console(*keys: tuple[str, str]) -> str:
    body = "".join(f"{kind} {data} root@vm\r\n" for kind, data in keys)
    return f"{hostkeys.BEGIN}\r\n{body}{hostkeys.END}\r\n"


def test_host_keys_are_read_from_the_last_complete_block():
    first, second = public_line(), public_line()
    text = ("boot 1\n" + console(first) + "reboot\n" + console(second)
            + hostkeys.BEGIN + "\nssh-ed25519 truncat")
    assert hostkeys.parse(text) == [second]


def test_lines_that_are_not_keys_are_ignored_and_no_block_gives_nothing():
    key = public_line()
    text = f"{hostkeys.BEGIN}\nno key here\nssh-ed25519 !!notbase64!!\n" \
           f"{key[0]} {key[1]}\n{hostkeys.END}\n"
    assert hostkeys.parse(text) == [key]
    assert hostkeys.parse("POCKETSTACK-BOOTED\n") == []


def test_known_hosts_use_openssh_names_for_other_ports():
    key = public_line()
    assert list(hostkeys.known_hosts("10.0.0.5", 22, [key]).keys()) == ["10.0.0.5"]
    assert list(hostkeys.known_hosts("10.0.0.5", 2222, [key]).keys()) == ["[10.0.0.5]:2222"]


def server(addresses: dict, status: str = "ACTIVE") -> dict:
    return {"id": "s1", "name": "vm1", "status": status, "addresses": addresses}


def test_a_floating_ip_comes_first_and_knows_its_fixed_ip():
    chosen = target.choose_address(server({"private": [
        {"addr": "10.0.0.5", "version": 4, "OS-EXT-IPS:type": "fixed"},
        {"addr": "172.24.4.20", "version": 4, "OS-EXT-IPS:type": "floating"}]}))
    assert (chosen.ip, chosen.kind, chosen.fixed_ip) == ("172.24.4.20", "floating", "10.0.0.5")
    assert not chosen.inside_namespace


def test_a_fixed_ip_is_reached_inside_the_namespace():
    chosen = target.choose_address(server({"private": [
        {"addr": "10.0.0.5", "version": 4, "OS-EXT-IPS:type": "fixed"}]}))
    assert chosen.kind == "fixed" and chosen.inside_namespace


def test_no_address_and_not_active_are_explained():
    with pytest.raises(target.TargetError, match="has no IPv4 address"):
        target.choose_address(server({}))
    with pytest.raises(target.TargetError, match=r"is BUILD, not ACTIVE \(try --wait\)"):
        target.require_active(server({}, status="BUILD"))
    with pytest.raises(target.TargetError, match="openstack server start"):
        target.require_active(server({}, status="SHUTOFF"))


def test_no_host_keys_on_the_console_means_no_connection(tmp_path):
    address = target.Address("10.0.0.5", "fixed", "private", "10.0.0.5")
    with pytest.raises(SshError, match="has not printed its SSH host keys"):
        connect(address, 22, "no-such-namespace", "root", [], [tmp_path / "key"])


def test_a_missing_key_file_is_named(tmp_path):
    address = target.Address("10.0.0.5", "fixed", "private", "10.0.0.5")
    with pytest.raises(SshError, match="no key file"):
        connect(address, 22, "no-such-namespace", "root", [public_line()],
                [tmp_path / "missing"])


def test_what_follows_the_double_dash_is_the_guests_command():
    from pocketstack.ssh.command import split_command
    assert split_command(["ssh", "vm", "-i", "k", "--", "ls", "-l", "--", "x"]) == \
        (["ssh", "vm", "-i", "k"], ["ls", "-l", "--", "x"])
    assert split_command(["ssh", "vm"]) == (["ssh", "vm"], [])
