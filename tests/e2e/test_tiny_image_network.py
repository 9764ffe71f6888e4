"""The tiny test image on a network, without networkd: its NIC is a tap
libvirt makes (as computed asks for it), which the test moves into a network
namespace of its own, onto a bridge where a real dnsmasq serves static
leases. What the guest prints (POCKETSTACK-NET lines) and its web server
are what the networking tests rely on."""
from __future__ import annotations

import contextlib
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

GATEWAY = "10.213.0.1"
PREFIX = 24
NONE_TIMEOUT = 90.0   # udhcpc gives up after 10 discovers 3 s apart (TCG is slow)


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
        if self.process is not None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=10)
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
