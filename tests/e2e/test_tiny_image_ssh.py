"""The tiny image's SSH server on a real stack: a server booted through
computed's API with a key pair, on the demo project's `private` network,
prints its host keys on the console and lets root in with that key pair,
reached at its fixed IP from inside the stack's network namespace (the only
place that address is routed), with paramiko trusting no host key but the
console's.

One server for the whole module (a TCG boot costs seconds)."""
from __future__ import annotations

import time

import paramiko
import pytest
import requests

from shared.netns import socket_in
from tests.support import guest_ssh
from tests.support.compute import TINY_IMAGE, unique
from tests.support.network import fixed_ip, namespace, networking_fixture

pytestmark = pytest.mark.e2e

net = networking_fixture("demo")
KEY_LINE = r"^POCKETSTACK-KEY: (\S+)\s*$"


@pytest.fixture(scope="module")
def key():
    return guest_ssh.new_key()


@pytest.fixture(scope="module")
def guest(stack, demo, net, key):
    """A server with the module's key pair and a config drive, on `private`,
    booted and listening on port 22; with how long the first SSH command
    took from the create request."""
    private_key, public_line = key
    name = unique("tiny-ssh-key")
    response = demo.call("POST", "/os-keypairs", json={"keypair": {
        "name": name, "public_key": public_line}})
    assert response.status_code == 200, response.text
    net.allow_ssh(net.find("security_group", "default")["id"])
    private = net.find("network", "private")

    started = time.monotonic()
    made = demo.create(name=unique("tiny-ssh"), key_name=name, config_drive=True,
                       networks=[{"uuid": private["id"]}])
    server = demo.wait_status(made["id"], "ACTIVE")
    demo.wait_console(server["id"], KEY_LINE)
    address = fixed_ip(server)
    keys = guest_ssh.console_host_keys(demo.console(server["id"]))
    with guest_ssh.session(socket_in(namespace(stack)), address, private_key,
                           keys) as client:
        assert guest_ssh.run(client, "true") == ("", 0)
    first_command = time.monotonic() - started
    print(f"server create to the first SSH command: {first_command:.1f} s")
    yield {"server": server, "address": address, "host_keys": keys,
           "first_command": first_command}
    demo.call("DELETE", f"/os-keypairs/{name}")


def test_the_console_shows_host_keys_then_ssh_ready(demo, guest):
    console = demo.console(guest["server"]["id"])
    ready = console.index("POCKETSTACK-SSH: ready")
    assert console.index("-----END SSH HOST KEY KEYS-----") < ready
    assert [kind for kind, _ in guest["host_keys"]] == ["ssh-ed25519", "ecdsa-sha2-nistp256"]


def test_root_logs_in_with_the_key_pair_and_gets_output_and_exit_status(stack, demo,
                                                                        guest, key):
    server = guest["server"]
    hostname = demo.wait_console(server["id"], r"^POCKETSTACK-HOSTNAME: (\S+)\s*$").group(1)
    with guest_ssh.session(socket_in(namespace(stack)), guest["address"], key[0],
                           guest["host_keys"]) as client:
        output, status = guest_ssh.run(
            client, "id -u; hostname; cat /root/.ssh/authorized_keys; exit 42")
    assert status == 42
    assert output.splitlines() == ["0", hostname, key[1]]


def test_another_key_is_refused(stack, guest):
    other, _ = guest_ssh.new_key()
    with pytest.raises(paramiko.AuthenticationException), guest_ssh.session(
            socket_in(namespace(stack)), guest["address"], other,
            guest["host_keys"]):
        pass


def test_a_host_key_other_than_the_consoles_is_refused(stack, guest, key):
    forged = [("ssh-ed25519", guest_ssh.new_key()[1].split()[1])]
    with pytest.raises(paramiko.BadHostKeyException), guest_ssh.session(
            socket_in(namespace(stack)), guest["address"], key[0], forged):
        pass


def test_the_key_came_from_the_metadata_service(demo, guest):
    """With a lease on the stack's network, the key is read from
    169.254.169.254 (networkd's proxy, computed's metadata service), not
    from the config drive the server also has."""
    source = demo.wait_console(guest["server"]["id"], KEY_LINE).group(1)
    assert source == "metadata"


def test_the_image_names_its_login_user(stack, demo):
    """Glance's common property os_admin_user tells clients whom to log in as."""
    response = requests.get(f"{stack.url('imaged')}/v2/images/{demo.image_id()}",
                            headers={"X-Auth-Token": demo.token}, timeout=30)
    assert response.status_code == 200, response.text
    image = response.json()
    assert image["name"] == TINY_IMAGE
    assert image["os_admin_user"] == "root"
    assert "SSH (dropbear) as root" in image["description"]
