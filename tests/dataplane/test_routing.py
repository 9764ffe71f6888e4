"""Routing, NAT and isolation: a floating IP reaches its guest from the
machine's end of the external network and stops when disassociated; guests
go out with their floating IP or their router's address; a guest reaches
the external network's gateway and nothing beyond; another router's
network and a network without router cannot be reached."""
from __future__ import annotations

import socket
import threading
import time

import pytest

from tests.dataplane.world import ping, run

ECHO = 7
BEYOND = "198.18.7.1"       # held by the machine's end of the veth, outside every subnet


@pytest.fixture
def routed(world, topo):
    """Two projects' networks, each behind its own router with a gateway on
    the external network, plus one network with no router; every guest
    allows everything in."""
    topo.external()
    topo.network("private", "10.64.0.0/24")
    topo.network("other", "10.65.0.0/24")
    topo.network("lonely", "10.66.0.0/24")
    topo.router("router1", "private", gateway_host=5)
    topo.router("router2", "other", gateway_host=6)
    topo.group("open", {"direction": "egress"}, {"direction": "ingress"})
    guests = {name: world.guest(topo.port(name, network, 10, groups=("open",)))
              for name, network in (("a", "private"), ("c", "other"), ("d", "lonely"))}
    guests["b"] = world.guest(topo.port("b", "private", 11, groups=("open",)))
    world.plane.apply(topo.state)
    world.plane.plug(topo.state)
    for guest in guests.values():
        assert guest.dhcp() is not None
    return guests


def assert_routed_into_stack(world, address: str) -> None:
    """Traffic from the test to `address` goes into the stack's veth, nowhere else."""
    route = run("ip", "-4", "route", "get", address).stdout
    assert f"dev {world.host_veth} " in route, route


def test_floating_ip_reaches_its_guest_until_disassociated(world, topo, routed):
    routed["a"].serve_echo(ECHO)
    floating = topo.floating_ip("a", "router1", 50)
    world.plane.apply(topo.state)
    address = floating.floating_ip_address
    assert_routed_into_stack(world, address)
    assert ping(address)
    assert tcp(address, ECHO)

    log = world.root / "fip-ping.log"
    world.popen("busybox", "ping", "-i", "0.2", address, output=log)
    time.sleep(1)
    assert log.read_text().count("bytes from") >= 3

    topo.remove_floating_ip(floating)
    world.plane.apply(topo.state)
    time.sleep(0.5)
    count = log.read_text().count("bytes from")
    time.sleep(1.5)
    assert log.read_text().count("bytes from") == count, "ping to the FIP went on"
    assert not ping(address)
    assert not tcp(address, ECHO)


def test_guests_go_out_with_their_floating_ip_or_their_routers_address(world, topo, routed):
    topo.floating_ip("a", "router1", 51)
    world.plane.apply(topo.state)
    with listener(world.gateway) as (port, peers):
        assert routed["a"].tcp(world.gateway, port)
        assert routed["b"].tcp(world.gateway, port)
    assert peers == [world.external_address(51), world.external_address(5)]


def test_guest_reaches_the_external_gateway_and_nothing_beyond(world, topo, routed):
    run("ip", "addr", "add", f"{BEYOND}/32", "dev", world.host_veth)
    assert world.in_stack("ip", "-4", "route", "show", "default").stdout == ""
    assert routed["a"].ping(world.gateway)
    assert routed["c"].ping(world.gateway)
    assert not routed["a"].ping(BEYOND)
    assert not routed["d"].ping(world.gateway)      # no router, no way out


def test_other_routers_networks_are_out_of_reach(world, topo, routed):
    a, b, c, d = (routed[name] for name in "abcd")
    assert a.ping(topo.ip("b"))                      # same network
    assert a.ping("10.64.0.1") and c.ping("10.65.0.1")
    assert not a.ping(topo.ip("c"))
    assert not c.ping(topo.ip("a"))
    assert not a.ping("10.65.0.1")                   # the other router's address
    # The network without a router: even with the DHCP address as a gateway.
    d.sh("ip", "route", "replace", "default", "via", "10.66.0.2")
    assert d.ping("10.66.0.2")
    assert not d.ping(topo.ip("a"))
    assert not a.ping(topo.ip("d"))


def test_two_internal_networks_of_one_router_reach_each_other(world, topo):
    topo.network("left", "10.67.0.0/24")
    topo.network("right", "10.68.0.0/24")
    topo.router("router", "left", "right")
    topo.group("open", {"direction": "egress"}, {"direction": "ingress"})
    left = world.guest(topo.port("left", "left", 10, groups=("open",)))
    right = world.guest(topo.port("right", "right", 10, groups=("open",)))
    world.plane.apply(topo.state)
    world.plane.plug(topo.state)
    assert left.dhcp() and right.dhcp()
    assert left.ping(topo.ip("right")) and right.ping(topo.ip("left"))


def tcp(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=2) as connection:
            connection.settimeout(2)
            connection.sendall(b"hi\n")
            return connection.recv(8) == b"hi\n"
    except OSError:
        return False


class listener:
    """A TCP listener on the machine's end of the veth recording each peer."""

    def __init__(self, address: str):
        self.server = socket.create_server((address, 0))
        self.server.settimeout(0.1)
        self.peers: list[str] = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self.server.getsockname()[1], self.peers

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join(timeout=5)
        self.server.close()

    def _serve(self):
        while not self.done.is_set():
            try:
                connection, peer = self.server.accept()
            except TimeoutError:
                continue
            with connection:
                self.peers.append(peer[0])
                connection.settimeout(2)
                connection.sendall(connection.recv(8))
