"""Anti-spoofing: a guest that takes another IP or MAC than its port's gets
nothing through, and is back when it returns to its own."""
from __future__ import annotations

import pytest


@pytest.fixture
def guest(world, topo):
    topo.external()
    topo.network("private", "10.69.0.0/24")
    topo.router("router1", "private", gateway_host=5)
    topo.group("open", {"direction": "egress"}, {"direction": "ingress"})
    vm = world.guest(topo.port("vm", "private", 10, groups=("open",)))
    neighbour = world.guest(topo.port("neighbour", "private", 11, groups=("open",)))
    world.plane.apply(topo.state)
    world.plane.plug(topo.state)
    assert vm.dhcp() and neighbour.dhcp()
    assert vm.ping("10.69.0.1") and vm.ping(topo.ip("neighbour"))
    return vm


def test_another_ip_gets_nothing_through(world, topo, guest):
    guest.configure("10.69.0.99/24", gateway="10.69.0.1")
    assert not guest.ping("10.69.0.1")
    assert not guest.ping(topo.ip("neighbour"))
    assert not guest.ping(world.gateway)
    # Not even by claiming the neighbour's address.
    guest.configure(f"{topo.ip('neighbour')}/24", gateway="10.69.0.1")
    assert not guest.ping("10.69.0.1")

    guest.configure(f"{topo.ip('vm')}/24", gateway="10.69.0.1")
    assert guest.ping("10.69.0.1")


def test_another_mac_gets_nothing_through(world, topo, guest):
    guest.configure(f"{topo.ip('vm')}/24", gateway="10.69.0.1", mac="fa:16:3e:de:ad:01")
    assert not guest.ping("10.69.0.1")
    assert not guest.ping(topo.ip("neighbour"))
    assert guest.dhcp(tries=2) is None

    guest.configure(f"{topo.ip('vm')}/24", gateway="10.69.0.1", mac=topo.ports["vm"].mac_address)
    assert guest.ping("10.69.0.1")


def test_a_port_without_port_security_may_use_any_address(world, topo, guest):
    topo.change_port("vm", port_security_enabled=False, security_group_ids=())
    world.plane.apply(topo.state)
    guest.configure("10.69.0.99/24", gateway="10.69.0.1")
    assert guest.ping("10.69.0.1")


def test_a_port_administratively_down_passes_nothing(world, topo, guest):
    topo.change_port("vm", admin_state_up=False)
    world.plane.apply(topo.state)
    assert not guest.ping("10.69.0.1")
    topo.change_port("vm", admin_state_up=True)
    world.plane.apply(topo.state)
    assert guest.ping("10.69.0.1")
