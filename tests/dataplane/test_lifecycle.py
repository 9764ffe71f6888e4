"""Idempotence and restarts: applying a state twice, or from a new data
plane object while the old one's dnsmasq still runs (a networkd restart,
even after kill -9), leaves exactly one copy of each bridge, address, rule
and process; teardown leaves none. plug() touches only its ports' taps."""
from __future__ import annotations

import os
import pickle
import re
import signal
import sys
import threading
import time

import pytest
from pyroute2 import IPRoute, netns

from networkd.dataplane import namespace, taps
from networkd.dataplane.contract import DataPlaneError
from networkd.dataplane.tapwatch import TapWatch
from shared.netnames import EXTERNAL_VETH_NS_END
from tests.dataplane.world import run


@pytest.fixture
def running(world, topo):
    topo.external()
    topo.network("private", "10.70.0.0/24")
    topo.network("second", "10.71.0.0/24")
    topo.router("router1", "private", "second", gateway_host=5)
    topo.group("open", {"direction": "egress"}, {"direction": "ingress"})
    a = world.guest(topo.port("a", "private", 10, groups=("open",)))
    b = world.guest(topo.port("b", "second", 10, groups=("open",)))
    topo.floating_ip("a", "router1", 60)
    world.plane.apply(topo.state)
    world.plane.plug(topo.state)
    assert a.dhcp() and b.dhcp()
    assert a.ping(topo.ip("b"))
    return a, b


def snapshot(world) -> dict:
    """What the data plane built, without counters and handles."""
    links = run("ip", "-n", world.namespace, "-o", "link", "show").stdout
    return {
        "links": sorted(re.sub(r"^\d+: ", "", line).split(" state ")[0]
                        for line in links.splitlines()),
        "addresses": run("ip", "-n", world.namespace, "-4", "-o", "addr", "show").stdout,
        "ruleset": world.ruleset(),
        "dnsmasq": world.dnsmasq_pids(),
    }


def test_apply_twice_changes_nothing(world, topo, running):
    before = snapshot(world)
    assert len(before["dnsmasq"]) == 2
    world.plane.apply(topo.state)
    world.plane.plug(topo.state)
    assert snapshot(world) == before


def test_a_new_data_plane_takes_over_without_duplicates(world, topo, running):
    a, b = running
    before = snapshot(world)
    # networkd killed: its object is gone, its dnsmasq processes are not.
    world.plane = world.new_plane()
    world.plane.apply(topo.state)
    assert world.plane.plug(topo.state) == {topo.ports["a"].id, topo.ports["b"].id}
    assert snapshot(world) == before
    assert a.dhcp() == {"ip": topo.ip("a"), "mask": "24", "router": "10.70.0.1"}
    assert a.ping(topo.ip("b")) and b.ping(world.external_address(60))


APPLY_AND_HANG = """
import pickle, sys, time
from pathlib import Path
from networkd.dataplane.linux import LinuxDataPlane
state = pickle.loads(Path(sys.argv[3]).read_bytes())
plane = LinuxDataPlane(sys.argv[1], Path(sys.argv[2]))
plane.apply(state)
plane.plug(state)
print("applied", flush=True)
time.sleep(600)
"""


def test_kill_9_of_the_applying_process_then_a_fresh_apply(world, topo):
    topo.external()
    topo.network("private", "10.73.0.0/24")
    topo.router("router1", "private", gateway_host=5)
    topo.group("open", {"direction": "egress"}, {"direction": "ingress"})
    guest = world.guest(topo.port("a", "private", 10, groups=("open",)))
    topo.floating_ip("a", "router1", 61)
    saved = world.root / "state.pickle"
    saved.write_bytes(pickle.dumps(topo.state))
    log = world.root / "networkd-like.log"
    process = world.popen(sys.executable, "-c", APPLY_AND_HANG, world.namespace,
                          str(world.root / "networkd"), str(saved), output=log)
    deadline = time.monotonic() + 30
    while "applied" not in log.read_text():
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "the first process never applied"
        time.sleep(0.1)
    assert guest.dhcp() is not None
    before = snapshot(world)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)

    world.plane.apply(topo.state)
    assert world.plane.plug(topo.state) == {topo.ports["a"].id}
    assert snapshot(world) == before
    assert guest.dhcp() is not None
    assert guest.ping(world.gateway)


def test_a_dead_dnsmasq_is_started_again(world, topo, running):
    a, _ = running
    victim = world.dnsmasq_pids()[0]
    os.kill(victim, signal.SIGKILL)
    world.plane.apply(topo.state)
    pids = world.dnsmasq_pids()
    assert len(pids) == 2 and victim not in pids
    assert a.dhcp() is not None


def test_a_tables_flush_is_repaired_by_the_next_apply(world, topo, running):
    a, b = running
    before = snapshot(world)
    world.in_stack("nft", "flush", "ruleset")
    world.plane.apply(topo.state)
    assert snapshot(world) == before


def test_removing_a_port_removes_its_rules_and_lease(world, topo, running):
    port, address = topo.ports["b"], topo.ip("b")
    hosts = world.root / "networkd" / "dhcp" / port.network_id / "hosts"
    assert port.mac_address in hosts.read_text() and address in world.ruleset()
    topo.remove_port("b")
    world.plane.apply(topo.state)
    ruleset = world.ruleset()
    assert address not in ruleset
    assert port.tap not in ruleset and port.id.replace("-", "_") not in ruleset
    assert port.mac_address not in hosts.read_text()


def test_networks_removed_take_their_bridge_addresses_and_dnsmasq(world, topo, running):
    second = topo.networks["second"]
    topo.remove_port("b")
    topo.remove_network("second")
    world.plane.apply(topo.state)
    links = run("ip", "-n", world.namespace, "-o", "link", "show").stdout
    assert second.bridge not in links
    assert "10.71.0." not in run("ip", "-n", world.namespace, "addr").stdout
    assert len(world.dnsmasq_pids()) == 1
    assert not (world.root / "networkd" / "dhcp" / second.id).exists()


def test_teardown_leaves_nothing(world, topo, running):
    world.plane.teardown()
    assert world.dnsmasq_pids() == []
    assert world.ruleset().strip() == ""
    assert "brq" not in run("ip", "-n", world.namespace, "-o", "link", "show").stdout
    assert not list((world.root / "networkd" / "dhcp").iterdir())


def test_a_namespace_made_anew_is_entered_anew(world, topo):
    """The data plane keeps its netlink socket in the namespace between
    calls; a namespace removed and made again (pocketstack down and up
    around a networkd that survived) is a new one, and the next apply
    builds in it, not in the old one, even one that trusts the kernel to
    hold what the last apply made (not thorough): that was another
    namespace."""
    topo.network("private", "10.74.0.0/24")
    world.plane.apply(topo.state)
    bridge = topo.networks["private"].bridge
    namespace.remove(world.namespace, world.host_veth)
    with pytest.raises(DataPlaneError, match="missing"):
        world.plane.apply(topo.state)
    namespace.ensure(world.namespace, world.host_veth, EXTERNAL_VETH_NS_END,
                     f"{world.gateway}/{world.external.prefixlen}")
    assert bridge not in run("ip", "-n", world.namespace, "-o", "link", "show").stdout
    world.plane.apply(topo.state, thorough=False)
    assert bridge in run("ip", "-n", world.namespace, "-o", "link", "show").stdout
    assert "table inet" in run("ip", "netns", "exec", world.namespace, "nft",
                               "list", "tables").stdout


def test_an_apply_that_is_not_thorough_writes_only_what_changed(world, topo):
    """Not thorough, the kernel is trusted to hold what the last apply made
    (the agent's pass after an API change): a bridge removed behind the
    data plane's back stays removed while the networks are the same, and
    a thorough apply (the agent's resync) brings it back. A new port is
    served all the same: its DHCP host line is written."""
    topo.network("private", "10.75.0.0/24")
    world.plane.apply(topo.state)
    bridge = topo.networks["private"].bridge
    run("ip", "-n", world.namespace, "link", "del", bridge)
    guest = topo.port("late", "private", 20)
    world.plane.apply(topo.state, thorough=False)
    assert bridge not in run("ip", "-n", world.namespace, "-o", "link", "show").stdout
    hosts = world.plane.dhcp.root / topo.networks["private"].id / "hosts"
    assert guest.mac_address in hosts.read_text()
    world.plane.apply(topo.state)
    assert bridge in run("ip", "-n", world.namespace, "-o", "link", "show").stdout


def test_plug_moves_only_its_ports_taps(world, topo):
    topo.network("private", "10.72.0.0/24")
    mine = topo.port("mine", "private", 10)
    world.guest(mine)
    state = topo.state
    stranger = topo.port("stranger", "private", 11)       # not in `state`
    world.guest(stranger)
    world.plane.apply(state)
    assert world.plane.plug(state) == {mine.id}
    assert world.plane.plug(state) == {mine.id}            # again: nothing changes
    assert run("ip", "-o", "link", "show", stranger.tap).returncode == 0   # still here
    inside = run("ip", "-n", world.namespace, "-o", "link", "show", mine.tap).stdout
    assert f"master {topo.networks['private'].bridge} " in inside
    assert re.search(r"<[^>]*\bUP\b", inside), inside


def test_plug_leaves_a_tap_libvirt_has_not_brought_up(world, topo):
    """libvirt creates a tap, sets its MAC, then brings it up, each by name
    in the machine's namespace: a tap moved away before that would fail
    the domain's start. (The guest's veth end has the noqueue qdisc from
    the start, as a tap gets it from libvirt last.)"""
    topo.network("private", "10.73.0.0/24")
    guest = world.guest(topo.port("early", "private", 10))
    run("ip", "link", "set", guest.tap, "down")
    world.plane.apply(topo.state)
    assert world.plane.plug(topo.state) == set()
    assert run("ip", "-o", "link", "show", guest.tap).returncode == 0   # still the machine's
    run("ip", "link", "set", guest.tap, "up")
    assert world.plane.plug(topo.state) == {guest.port.id}


@pytest.fixture
def machine_tap(topo):
    """A real tap in the machine's namespace, named after a port, as libvirt
    makes it (down, with no qdisc yet); deleted wherever it ends up."""
    topo.network("private", "10.74.0.0/24")
    port = topo.port("tapped", "private", 10)
    run("ip", "tuntap", "add", "dev", port.tap, "mode", "tap")
    yield port
    run("ip", "link", "del", port.tap, check=False)


def qdisc(tap: str, namespace: str | None = None) -> str:
    where = ("-n", namespace) if namespace else ()
    shown = run("ip", *where, "-o", "link", "show", tap, check=False).stdout
    found = re.search(r" qdisc (\S+) ", shown)
    return found.group(1) if found else ""


def test_plug_waits_until_libvirt_gives_the_tap_its_qdisc(world, topo, machine_tap):
    """Up is not done: libvirt still looks the tap up by name to register
    the machine with systemd, then sets the noqueue qdisc (`tc`), and only
    then is the tap its to give away. Moved before that, the domain's start
    fails with 'Unable to get index for interface'."""
    world.plane.apply(topo.state)
    run("ip", "link", "set", machine_tap.tap, "up")
    assert qdisc(machine_tap.tap) == "pfifo_fast"
    assert world.plane.plug(topo.state) == set()
    assert run("ip", "-o", "link", "show", machine_tap.tap).returncode == 0  # still the machine's
    run("tc", "qdisc", "add", "dev", machine_tap.tap, "root", "handle", "0:", "noqueue")
    assert world.plane.plug(topo.state) == {machine_tap.id}
    inside = run("ip", "-n", world.namespace, "-o", "link", "show", machine_tap.tap).stdout
    assert f"master {topo.networks['private'].bridge} " in inside


def test_a_tap_that_never_gets_the_qdisc_is_taken_after_a_while(world, topo, machine_tap):
    """Should libvirt's `tc` fail (it only logs it), the tap is taken once
    it has been up for the handoff's patience, not never."""
    now = [100.0]
    handoff = taps.LibvirtHandoff(patience=3.0, clock=lambda: now[0])
    run("ip", "link", "set", machine_tap.tap, "up")
    with IPRoute() as machine:
        def link():
            [found] = machine.link("get", ifname=machine_tap.tap)
            return found
        assert not handoff.done(link())
        now[0] += 2.9
        assert not handoff.done(link())
        now[0] += 0.2
        assert handoff.done(link())
        run("ip", "link", "set", machine_tap.tap, "down")
        assert not handoff.done(link())   # down: never, however long


def test_the_tap_watch_hears_a_new_tap_and_nothing_else(world):
    """The agent's wake-up (tapwatch.py), listening in the test's own
    namespace (it listens where it is started; the data plane starts it in
    the machine's): no other test's guest can wake it there."""
    appeared = threading.Event()
    watch = TapWatch(appeared.set)
    netns.pushns(world.namespace)
    try:
        watch.start()
    finally:
        netns.popns()
    try:
        run("ip", "-n", world.namespace, "link", "add", "psdw-other", "type", "veth",
            "peer", "name", "psdw-peer")
        assert not appeared.wait(1.0), "a link not named like a tap woke the agent"
        run("ip", "-n", world.namespace, "tuntap", "add", "dev", "tap-watched", "mode", "tap")
        assert appeared.wait(2.0), "no notice of the new tap"
    finally:
        watch.stop()
