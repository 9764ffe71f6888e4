"""DHCP: a guest gets its port's fixed IP from its network's dnsmasq; a MAC
the network does not know gets nothing; a port added later is served by the
same process (reloaded), a removed port's lease goes."""
from __future__ import annotations

import pytest


@pytest.fixture
def private(world, topo):
    topo.external()
    topo.network("private", "10.61.0.0/24")
    topo.router("router1", "private", gateway_host=5)
    topo.group("default", {"direction": "egress"})
    return topo


def test_guest_gets_its_fixed_ip_and_gateway(world, private):
    port = private.port("vm", "private", 5, groups=("default",))
    guest = world.guest(port)
    world.plane.apply(private.state)
    assert world.plane.plug(private.state) == {port.id}

    assert guest.dhcp() == {"ip": "10.61.0.5", "mask": "24", "router": "10.61.0.1"}
    assert guest.ping("10.61.0.1")
    hosts = (world.root / "networkd" / "dhcp" / port.network_id / "hosts").read_text()
    assert hosts == f"{port.mac_address},host-10-61-0-5,10.61.0.5\n"


def test_unknown_mac_gets_nothing(world, private):
    # Without port security, no anti-spoofing stands between the guest and
    # dnsmasq: the answer (none) is dnsmasq's own.
    port = private.port("open", "private", 6, port_security_enabled=False)
    stranger = world.guest(port, mac="fa:16:3e:0d:0d:0d")
    world.plane.apply(private.state)
    world.plane.plug(private.state)

    assert stranger.dhcp(tries=2) is None
    stranger.set_mac(port.mac_address)
    assert stranger.dhcp() == {"ip": "10.61.0.6", "mask": "24", "router": "10.61.0.1"}


def test_a_port_added_later_is_served_and_a_removed_one_is_not(world, private):
    first = private.port("first", "private", 5, groups=("default",))
    world.guest(first)
    world.plane.apply(private.state)
    world.plane.plug(private.state)
    [pid] = world.dnsmasq_pids()

    second = private.port("second", "private", 7, groups=("default",))
    late = world.guest(second)
    world.plane.apply(private.state)
    world.plane.plug(private.state)
    assert late.dhcp() == {"ip": "10.61.0.7", "mask": "24", "router": "10.61.0.1"}
    assert world.dnsmasq_pids() == [pid]          # reloaded, not restarted

    private.remove_port("second")
    world.plane.apply(private.state)
    hosts = (world.root / "networkd" / "dhcp" / second.network_id / "hosts").read_text()
    assert second.mac_address not in hosts and first.mac_address in hosts
    assert late.dhcp(tries=2) is None


def test_options_follow_the_subnet(world, topo):
    topo.network("isolated", "10.62.0.0/24", gateway=False)
    topo.network("routes", "10.62.1.0/24", dns_nameservers=("10.62.1.53",),
                 host_routes=(("10.99.0.0/16", "10.62.1.254"),))
    bare = world.guest(topo.port("bare", "isolated", 9, port_security_enabled=False))
    routed = world.guest(topo.port("routed", "routes", 9, port_security_enabled=False))
    world.plane.apply(topo.state)
    world.plane.plug(topo.state)
    # No gateway: no router option (dnsmasq would otherwise offer itself).
    assert bare.dhcp() == {"ip": "10.62.0.9", "mask": "24", "router": ""}
    lease = routed.dhcp(extra=("dns", "staticroutes"))
    assert lease == {"ip": "10.62.1.9", "mask": "24", "router": "10.62.1.1",
                     "dns": "10.62.1.53",
                     "staticroutes": "10.99.0.0/16 10.62.1.254 169.254.169.254/32 10.62.1.2 "
                                     "0.0.0.0/0 10.62.1.1"}


def test_a_removed_ports_address_goes_to_the_next_port(world, private):
    first = private.port("first", "private", 8, groups=("default",))
    old = world.guest(first)
    world.plane.apply(private.state)
    world.plane.plug(private.state)
    assert old.dhcp() is not None                 # dnsmasq now holds a lease for it

    private.remove_port("first")
    successor = private.port("successor", "private", 8, groups=("default",))
    new = world.guest(successor)
    world.plane.apply(private.state)
    world.plane.plug(private.state)
    assert new.dhcp() == {"ip": "10.61.0.8", "mask": "24", "router": "10.61.0.1"}
