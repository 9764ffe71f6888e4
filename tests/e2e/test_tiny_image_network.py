"""The tiny test image on a network, without networkd: its NIC is a tap
libvirt makes (as computed asks for it), which the test moves into a network
namespace of its own, onto a bridge where a real dnsmasq serves static
leases. What the guest prints (POCKETSTACK-NET lines), its web server and
its SSH server are what the networking and instance-access tests rely on.
A plain web server at 169.254.169.254 in that namespace stands in for the
metadata service, serving files at Nova's paths: what is tested here is the
image's side (which URLs it reads, what it does with them)."""
from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import paramiko
import pytest

from shared.netns import socket_in
from tests.support import guest_ssh

pytestmark = pytest.mark.e2e

GATEWAY = "10.213.0.1"
PREFIX = 24
NONE_TIMEOUT = 90.0   # udhcpc gives up after 10 discovers 3 s apart (TCG is slow)
METADATA_ADDRESS = "169.254.169.254"


def run(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=check)


class DhcpNet:
    """A namespace with a bridge and a dnsmasq that knows only the MACs
    given to `lease()`; taps of guests are moved into it with `plug()`."""

    def __init__(self, directory: Path):
        tag = uuid.uuid4().hex[:8]
        self.namespace = f"pstest-{tag}"
        self.directory = directory
        self.hosts = directory / "hosts"
        self.hosts.write_text("")
        self.pid_file = directory / "dnsmasq.pid"
        self.process: subprocess.Popen | None = None
        self.metadata: subprocess.Popen | None = None
        run("ip", "netns", "add", self.namespace)
        self.ns("ip", "link", "set", "lo", "up")
        self.ns("ip", "link", "add", "br0", "type", "bridge")
        self.ns("ip", "addr", "add", f"{GATEWAY}/{PREFIX}", "dev", "br0")
        self.ns("ip", "link", "set", "br0", "up")

    def ns(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        return run("ip", "netns", "exec", self.namespace, *argv, check=check)

    def start_dnsmasq(self) -> None:
        self.process = subprocess.Popen(
            ["ip", "netns", "exec", self.namespace, "dnsmasq", "--keep-in-foreground",
             "--conf-file=/dev/null", "--bind-interfaces", "--interface=br0",
             "--except-interface=lo", f"--listen-address={GATEWAY}", "--port=0",
             "--dhcp-range=10.213.0.0,static,255.255.255.0,86400s",
             f"--dhcp-hostsfile={self.hosts}", f"--dhcp-option=option:router,{GATEWAY}",
             "--dhcp-option=option:dns-server,10.213.0.1",
             "--leasefile-ro", "--no-hosts", "--no-resolv", "--user=root",
             f"--pid-file={self.pid_file}", "--dhcp-authoritative", "--log-dhcp",
             f"--log-facility={self.directory / 'dnsmasq.log'}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Its signal handlers are in place once it wrote its pid file: a
        # SIGHUP before that would end it.
        deadline = time.monotonic() + 30
        while not self.pid_file.exists() or not self.pid_file.read_text().strip():
            assert self.process.poll() is None, "dnsmasq did not start"
            assert time.monotonic() < deadline, "dnsmasq wrote no pid file"
            time.sleep(0.1)

    def serve_metadata(self, files: dict[str, str]) -> None:
        """Serve `files` ({URL path: body}) at http://169.254.169.254/ from
        the namespace; anything else is a 404. The guest's default route
        leads to the namespace, which owns the address on its `lo`."""
        root = self.directory / "metadata"
        for path, body in files.items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(body)
        self.ns("ip", "addr", "add", f"{METADATA_ADDRESS}/32", "dev", "lo")
        self.metadata = subprocess.Popen(
            ["ip", "netns", "exec", self.namespace, sys.executable, "-m", "http.server", "80",
             "--bind", METADATA_ADDRESS, "--directory", str(root)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            with socket_in(self.namespace) as probe:
                if probe.connect_ex((METADATA_ADDRESS, 80)) == 0:
                    return
            assert self.metadata.poll() is None, "the metadata web server did not start"
            assert time.monotonic() < deadline, "the metadata web server is not listening"
            time.sleep(0.1)

    def lease(self, mac: str, ip: str) -> None:
        """Give `mac` the address `ip` (dnsmasq rereads its hosts on SIGHUP)."""
        with open(self.hosts, "a") as hosts:
            hosts.write(f"{mac},{ip}\n")
        if self.process is not None:
            self.process.send_signal(1)  # SIGHUP to `ip netns exec`, which exec'd dnsmasq

    def plug(self, tap: str, timeout: float = 30.0) -> None:
        """Move the tap libvirt made into the namespace, onto the bridge."""
        deadline = time.monotonic() + timeout
        while run("ip", "link", "show", tap, check=False).returncode != 0:
            assert time.monotonic() < deadline, f"tap {tap} never appeared"
            time.sleep(0.2)
        run("ip", "link", "set", tap, "netns", self.namespace)
        self.ns("ip", "link", "set", tap, "master", "br0")
        self.ns("ip", "link", "set", tap, "up")

    def http_get(self, ip: str) -> str:
        """GET / from a guest, sent from inside the namespace."""
        fetch = ("import sys, urllib.request; sys.stdout.write(urllib.request.urlopen("
                 f"'http://{ip}/', timeout=20).read().decode())")
        return self.ns(sys.executable, "-c", fetch).stdout

    def close(self) -> None:
        for process in (self.process, self.metadata):
            if process is not None:
                process.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=10)
        run("ip", "netns", "delete", self.namespace, check=False)


@pytest.fixture
def dhcp_net(vm_dir):
    net = DhcpNet(vm_dir)
    yield net
    net.close()


def random_mac() -> str:
    tail = uuid.uuid4().bytes[:3]
    return "fa:16:3e:" + ":".join(f"{b:02x}" for b in tail)


def nic(mac: str, tap: str) -> str:
    """The interface computed gives a port: libvirt makes the tap itself."""
    return (f"<interface type='ethernet'><mac address='{mac}'/><target dev='{tap}'/>"
            f"<model type='virtio'/></interface>")


def tap_name() -> str:
    return "tp" + uuid.uuid4().hex[:10]


def net_line(vm, text: str, start: int = 0, timeout: float = 120.0) -> re.Match:
    return vm.wait_for(r"^POCKETSTACK-NET: " + re.escape(text) + r"\s*$", start=start,
                       timeout=timeout)


def test_dhcp_web_server_and_hotplug(boot_tiny_vm, dhcp_net):
    import libvirt

    mac0, tap0 = random_mac(), tap_name()
    dhcp_net.lease(mac0, "10.213.0.10")
    dhcp_net.start_dnsmasq()
    started = time.monotonic()
    vm = boot_tiny_vm(extra_disks=[nic(mac0, tap0)])
    dhcp_net.plug(tap0)
    first = net_line(vm, f"eth0 {mac0} 10.213.0.10/{PREFIX}")
    print(f"eth0 leased {time.monotonic() - started:.1f} s after the domain started")
    vm.wait_for(r"^POCKETSTACK-BOOTED\s*$")

    # The guest's web server answers from its leased address, through the bridge.
    assert dhcp_net.http_get("10.213.0.10").startswith("pocketstack-tiny")

    # Hot-plug a second NIC: it becomes eth1, gets its own lease...
    mac1, tap1 = random_mac(), tap_name()
    dhcp_net.lease(mac1, "10.213.0.11")
    xml = nic(mac1, tap1)
    vm.domain.attachDeviceFlags(xml, libvirt.VIR_DOMAIN_AFFECT_LIVE)
    dhcp_net.plug(tap1)
    added = net_line(vm, f"eth1 {mac1} 10.213.0.11/{PREFIX}", start=first.end())
    assert dhcp_net.http_get("10.213.0.11").startswith("pocketstack-tiny")

    # ...and unplugging it says so.
    vm.domain.detachDeviceFlags(xml, libvirt.VIR_DOMAIN_AFFECT_LIVE)
    net_line(vm, "eth1 gone", start=added.end())
    assert "eth0 gone" not in vm.log()


def test_no_lease_says_none_and_keeps_trying(boot_tiny_vm, dhcp_net):
    """A NIC nobody answers prints "none" after ~30 s and still gets its
    address once a DHCP server knows its MAC."""
    dhcp_net.start_dnsmasq()
    mac, tap = random_mac(), tap_name()
    vm = boot_tiny_vm(extra_disks=[nic(mac, tap)])
    dhcp_net.plug(tap)
    vm.wait_for(r"^POCKETSTACK-BOOTED\s*$")
    none = net_line(vm, f"eth0 {mac} none", timeout=NONE_TIMEOUT)
    dhcp_net.lease(mac, "10.213.0.20")
    net_line(vm, f"eth0 {mac} 10.213.0.20/{PREFIX}", start=none.end(), timeout=NONE_TIMEOUT)


USER_DATA = """#!/bin/sh
echo "user data from the metadata service" > /root/user-data-ran
"""


def test_ssh_with_key_hostname_and_user_data_from_the_metadata_service(boot_tiny_vm,
                                                                       dhcp_net):
    """Without a config drive, the guest reads its key, hostname and user
    data at Nova's metadata URLs, and lets root in with that key only,
    showing host keys that the console printed."""
    key, public_line = guest_ssh.new_key()
    dhcp_net.serve_metadata({
        "2009-04-04/meta-data/public-keys/0/openssh-key": public_line + "\n",
        "openstack/latest/meta_data.json": json.dumps({"uuid": str(uuid.uuid4()),
                                                       "hostname": "tiny-from-metadata"}),
        "openstack/latest/user_data": USER_DATA,
    })
    mac, tap, address = random_mac(), tap_name(), "10.213.0.30"
    dhcp_net.lease(mac, address)
    dhcp_net.start_dnsmasq()
    started = time.monotonic()
    vm = boot_tiny_vm(extra_disks=[nic(mac, tap)])
    dhcp_net.plug(tap)
    ready = vm.wait_for(r"^POCKETSTACK-SSH: ready\s*$")
    assert vm.log().rfind("-----END SSH HOST KEY KEYS-----") < ready.start()
    vm.wait_for(r"^POCKETSTACK-KEY: metadata\s*$")
    print(f"key installed {time.monotonic() - started:.1f} s after the domain started")
    host_keys = guest_ssh.console_host_keys(vm.log())
    assert "ssh-ed25519" in [kind for kind, _ in host_keys]

    with guest_ssh.session(socket_in(dhcp_net.namespace), address, key, host_keys) as client:
        output, status = guest_ssh.run(client, "id -u; echo $HOME; echo $SHELL; exit 3")
    print(f"first SSH command done {time.monotonic() - started:.1f} s after the domain started")
    assert (output, status) == ("0\n/root\n/bin/sh\n", 3)

    # No config drive: the metadata service gives the hostname and user data.
    vm.wait_for(r"^POCKETSTACK-CONFIGDRIVE: none\s*$")
    vm.wait_for(r"^POCKETSTACK-HOSTNAME: tiny-from-metadata\s*$")
    vm.wait_for(r"^POCKETSTACK-USERDATA: exit=0\s*$")
    with guest_ssh.session(socket_in(dhcp_net.namespace), address, key, host_keys) as client:
        assert guest_ssh.run(client, "hostname; cat /root/user-data-ran") == (
            "tiny-from-metadata\nuser data from the metadata service\n", 0)

    # Another key is refused; so is a host whose key is not the console's.
    other_key, _ = guest_ssh.new_key()
    with pytest.raises(paramiko.AuthenticationException), guest_ssh.session(
            socket_in(dhcp_net.namespace), address, other_key, host_keys):
        pass
    forged = [("ssh-ed25519", guest_ssh.new_key()[1].split()[1])]
    with pytest.raises(paramiko.BadHostKeyException), guest_ssh.session(
            socket_in(dhcp_net.namespace), address, key, forged):
        pass
