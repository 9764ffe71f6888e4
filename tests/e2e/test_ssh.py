"""Instance access, end to end: a real guest (the tiny image, with dropbear)
on the demo project's `private` network, reached with `pocketstack ssh`
(paramiko, host keys from the console) and with the real `openstack server
ssh` (the system's OpenSSH client) over a floating IP.

The guests of this module:
  vm      demo's key pair `sshkey`, user data that writes a marker file
  other   another demo server (no key): its metadata must never reach `vm`

Traffic from the test goes to the guests' fixed IPs from inside the stack's
namespace, and to a floating IP whose route is checked to lead into it.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pocketstack.ssh.hostkeys import parse as parse_host_keys
from tests.stack import CLIENTS_VENV, REPO
from tests.support.compute import Compute, b64, unique, wait_for
from tests.support.network import host_end, networking_fixture

USER_DATA = """#!/bin/sh
echo "made by user data" > /root/userdata-marker
"""
METADATA = "http://169.254.169.254"
net = networking_fixture("demo")


def pocketstack_ssh(stack, *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    env = {**os.environ, "OS_CLIENT_CONFIG_FILE": str(stack.state_dir / "etc" / "clouds.yaml")}
    env.pop("OS_CLOUD", None)
    return subprocess.run([sys.executable, "-m", "pocketstack.main", "--state-dir",
                           str(stack.state_dir), "ssh", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=REPO, env=env,
                          stdin=subprocess.DEVNULL)


def private_key_file(directory: Path, name: str, pem: str) -> Path:
    path = directory / name
    path.write_text(pem)
    path.chmod(0o600)
    return path


def allow(net, group_id: str, port: int) -> None:
    """An ingress rule for tcp `port` (a 409 says it exists already)."""
    response = net.call("POST", "/security-group-rules", json={"security_group_rule": {
        "security_group_id": group_id, "direction": "ingress", "ethertype": "IPv4",
        "protocol": "tcp", "port_range_min": port, "port_range_max": port,
        "remote_ip_prefix": "0.0.0.0/0"}})
    assert response.status_code in (201, 409), response.text


@pytest.fixture(scope="module")
def keys(demo: Compute, tmp_path_factory):
    """Two generated key pairs: `sshkey` (the servers') and `otherkey`."""
    directory = tmp_path_factory.mktemp("keys")
    made = {}
    for name in ("sshkey", "otherkey"):
        demo.call("DELETE", f"/os-keypairs/{name}")
        response = demo.call("POST", "/os-keypairs", json={"keypair": {"name": name}})
        assert response.status_code == 200, response.text
        keypair = response.json()["keypair"]
        made[name] = (private_key_file(directory, name, keypair["private_key"]),
                      keypair["public_key"])
    yield made
    for name in made:
        demo.call("DELETE", f"/os-keypairs/{name}")


@pytest.fixture(scope="module")
def servers(demo: Compute, net, keys):
    default = net.find("security_group", "default")
    allow(net, default["id"], 22)
    allow(net, default["id"], 2222)
    allow(net, default["id"], 2223)    # nothing listens: refused, not filtered
    vm = demo.create(name=unique("ssh"), key_name="sshkey", user_data=b64(USER_DATA))
    other = demo.create(name=unique("other"))
    for server in (vm, other):
        demo.wait_status(server["id"], "ACTIVE")
    demo.wait_console(vm["id"], r"^POCKETSTACK-SSH: ready")
    return {"vm": demo.show(vm["id"]), "other": demo.show(other["id"])}


def test_pocketstack_ssh_runs_a_command_and_passes_its_exit_status(stack, servers, keys):
    result = pocketstack_ssh(stack, servers["vm"]["name"], "-i", str(keys["sshkey"][0]),
                             "--", "cat /root/userdata-marker; echo to-stderr >&2; exit 3")
    assert result.returncode == 3, result.stderr
    assert result.stdout == "made by user data\n"
    assert result.stderr == "to-stderr\n"


def test_wait_shows_each_phase_until_ssh_answers(stack, demo: Compute, servers, keys):
    server = demo.create(name=unique("waited"), key_name="sshkey")
    result = pocketstack_ssh(stack, server["id"], "-i", str(keys["sshkey"][0]), "--wait",
                             "--", "hostname")
    assert result.returncode == 0, result.stderr
    phases = re.findall(r"^\s*[0-9.]+s\s+(BUILD|ACTIVE|DHCP lease|SSH banner|host keys)\b",
                        result.stderr, re.MULTILINE)
    assert phases == ["BUILD", "ACTIVE", "DHCP lease", "SSH banner", "host keys"], \
        result.stderr
    assert result.stdout.strip() == demo.show(server["id"])["name"]
    demo.delete(server["id"])


def test_another_key_is_refused(stack, servers, keys):
    result = pocketstack_ssh(stack, servers["vm"]["id"], "-i", str(keys["otherkey"][0]),
                             "--", "true")
    assert result.returncode == 255
    assert "refused the key for user 'root'" in result.stderr, result.stderr


def test_a_host_key_not_on_the_console_is_refused(stack, servers, keys):
    """A second SSH server in the guest, with a host key made now: the
    console never showed it, so the connection is refused before any login."""
    start = ("dropbearkey -t ed25519 -f /tmp/other_host_key >/dev/null 2>&1; "
             "dropbear -r /tmp/other_host_key -p 2222 -s; echo started")
    result = pocketstack_ssh(stack, servers["vm"]["id"], "-i", str(keys["sshkey"][0]),
                             "--", start)
    assert result.returncode == 0 and "started" in result.stdout, result.stderr
    refused = pocketstack_ssh(stack, servers["vm"]["id"], "-i", str(keys["sshkey"][0]),
                              "-p", "2222", "--", "echo should-not-run")
    assert refused.returncode == 255
    assert "host key mismatch" in refused.stderr, refused.stderr
    assert "should-not-run" not in refused.stdout


def test_the_guest_reads_its_own_metadata_in_both_formats(stack, servers, keys):
    vm, other = servers["vm"], servers["other"]
    fixed_ip = vm["addresses"]["private"][0]["addr"]
    script = (f"wget -qO- {METADATA}/openstack/latest/meta_data.json; echo; "
              f"wget -qO- {METADATA}/2009-04-04/meta-data/instance-id; echo; "
              f"wget -qO- {METADATA}/2009-04-04/meta-data/local-ipv4; echo; "
              f"wget -qO- {METADATA}/2009-04-04/meta-data/public-keys/0/openssh-key; echo; "
              f"wget -qO- --header 'X-Instance-ID: {other['id']}' "
              f"{METADATA}/openstack/latest/meta_data.json")
    result = pocketstack_ssh(stack, vm["id"], "-i", str(keys["sshkey"][0]), "--", script)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.split("\n")
    assert f'"uuid": "{vm["id"]}"' in lines[0]
    assert re.fullmatch(r"i-[0-9a-f]{8}", lines[1]), lines[1]
    assert lines[2] == fixed_ip
    assert lines[3].strip() == keys["sshkey"][1].strip()
    # Asking for the other server by header still answers about itself.
    assert f'"uuid": "{vm["id"]}"' in lines[4]
    assert other["id"] not in result.stdout


def test_openstack_server_ssh_over_a_floating_ip(stack, servers, keys, net, tmp_path):
    vm = servers["vm"]
    public = net.find("network", "public")
    floating = net.create("floatingip", floating_network_id=public["id"])
    ports = net.list("port", device_id=vm["id"])
    net.update("floatingip", floating["id"], port_id=ports[0]["id"])
    address = floating["floating_ip_address"]
    route = subprocess.run(["ip", "route", "get", address], capture_output=True,
                           text=True, check=True).stdout
    assert f"dev {host_end(stack)} " in route, f"{address} is not behind the stack: {route}"

    console = stack_console(stack, vm["id"])
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text("".join(f"{address} {kind} {data}\n"
                                   for kind, data in parse_host_keys(console)))
    openstack = str(CLIENTS_VENV / "bin" / "openstack")
    env = {**os.environ, "OS_CLIENT_CONFIG_FILE": str(stack.state_dir / "etc" / "clouds.yaml"),
           "OS_CLOUD": "pocketstack"}
    result = subprocess.run(
        [openstack, "server", "ssh", vm["name"], "--login", "root", "--",
         "-i", str(keys["sshkey"][0]), "-o", "BatchMode=yes",
         "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={known_hosts}",
         "-o", "ConnectTimeout=20", "-o", "RemoteCommand=hostname"],
        capture_output=True, text=True, timeout=120, env=env, stdin=subprocess.DEVNULL)
    assert result.stdout.strip() == vm["name"], result.stdout + result.stderr


def stack_console(stack, server_id: str) -> str:
    return Compute(stack, "demo").console(server_id)


def test_bad_cases_answer_clearly(stack, demo: Compute, servers, keys):
    """Each failure exits 255 with a sentence saying what is wrong (the host
    keys missing from the console is a unit test: a booting guest is too
    quick to catch between ACTIVE and its keys)."""
    key = str(keys["sshkey"][0])
    vm, other = servers["vm"], servers["other"]

    def refused(*args: str) -> str:
        result = pocketstack_ssh(stack, *args, "-i", key, "--", "true")
        assert result.returncode == 255, result.stdout + result.stderr
        return result.stderr

    assert "No server with a name or ID of 'no-such-server' exists." in \
        refused("no-such-server")
    assert "connection refused by" in refused(vm["id"], "-p", "2223")

    building = demo.create(name=unique("building"), key_name="sshkey")
    assert "is BUILD, not ACTIVE (try --wait)" in refused(building["id"])
    demo.delete(building["id"], wait=False)

    # The other server loses its only port: no address left to reach.
    port_id = demo.call("GET", f"/servers/{other['id']}/os-interface").json()[
        "interfaceAttachments"][0]["port_id"]
    assert demo.call("DELETE", f"/servers/{other['id']}/os-interface/{port_id}"
                     ).status_code == 202
    wait_for(lambda: not demo.show(other["id"])["addresses"], what="no address left")
    assert "has no IPv4 address" in refused(other["id"])
