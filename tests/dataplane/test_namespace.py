"""The stack's namespace as `pocketstack up` and `down` make and remove it."""
from __future__ import annotations

import secrets
import subprocess
import time
from pathlib import Path

import pytest

from networkd.dataplane import namespace
from tests.dataplane.world import free_external_cidr, run


@pytest.fixture
def names():
    tag = secrets.token_hex(4)
    made = (f"psdp-{tag}", f"psdp{tag}", "ex-host")
    try:
        yield made
    finally:
        namespace.remove(made[0], made[1])


def link(name: str, netns: str | None = None) -> str:
    prefix = ["-n", netns] if netns else []
    return run("ip", *prefix, "-o", "link", "show", name, check=False).stdout


def sysctl(netns: str, key: str) -> str:
    return run("ip", "netns", "exec", netns, "sysctl", "-n", key).stdout.strip()


def test_ensure_makes_the_namespace_and_its_veth_once(names):
    ns, host, inside = names
    cidr = free_external_cidr()
    gateway = f"{cidr.network_address + 1}/{cidr.prefixlen}"
    namespace.ensure(ns, host, inside, gateway)
    first = link(host)
    assert first and link(inside, ns)
    assert sysctl(ns, "net.ipv4.ip_forward") == "1"
    assert sysctl(ns, "net.bridge.bridge-nf-call-iptables") == "1"
    assert sysctl(ns, "net.ipv4.conf.all.promote_secondaries") == "1"
    assert "<LOOPBACK,UP," in link("lo", ns)
    assert Path(f"/proc/sys/net/ipv4/conf/{host}/forwarding").read_text().strip() == "0"
    addresses = run("ip", "-4", "-o", "addr", "show", "dev", host).stdout
    assert addresses.count(" inet ") == 1 and f" {gateway} " in addresses
    assert run("ip", "-n", ns, "route", "show", "default").stdout == ""

    namespace.ensure(ns, host, inside, gateway)
    assert link(host) == first                      # the same pair, not a new one
    assert run("ip", "-4", "-o", "addr", "show", "dev", host).stdout == addresses


def test_ensure_repairs_and_moves_the_gateway(names):
    ns, host, inside = names
    cidr = free_external_cidr()
    namespace.ensure(ns, host, inside, f"{cidr.network_address + 1}/24")
    run("ip", "-n", ns, "link", "del", inside)       # takes the machine's end along
    assert not link(host)
    moved = f"{cidr.network_address + 254}/24"
    namespace.ensure(ns, host, inside, moved)
    assert link(inside, ns)
    addresses = run("ip", "-4", "-o", "addr", "show", "dev", host).stdout
    assert addresses.count(" inet ") == 1 and f" {moved} " in addresses


def test_remove_ends_processes_and_leaves_nothing(names):
    ns, host, inside = names
    namespace.ensure(ns, host, inside, f"{free_external_cidr().network_address + 1}/24")
    sleeper = subprocess.Popen(["ip", "netns", "exec", ns, "sleep", "600"])
    try:
        _wait_until_inside(ns, sleeper.pid)
        namespace.remove(ns, host)
        assert sleeper.wait(timeout=10) != 0
    finally:
        sleeper.kill()
    assert ns not in run("ip", "netns", "list").stdout
    assert not link(host)
    namespace.remove(ns, host)                      # again: nothing to do


def _wait_until_inside(ns: str, pid: int) -> None:
    """`ip netns exec` enters the namespace some time after Popen returns (on a
    loaded machine, after remove() has listed the namespace's processes): the
    process to end must be in it before remove() looks."""
    deadline = time.monotonic() + 10
    while str(pid) not in run("ip", "netns", "pids", ns).stdout.split():
        assert time.monotonic() < deadline, f"{pid} never entered {ns}"
        time.sleep(0.05)
