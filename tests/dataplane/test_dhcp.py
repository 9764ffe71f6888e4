"""DHCP: a guest gets its port's fixed IP from the network's dnsmasq; a MAC
the network does not know gets nothing."""
from __future__ import annotations


def test_guest_gets_its_fixed_ip_and_gateway(world, topo):
    topo.external()
    topo.network("private", "10.61.0.0/24")
    topo.router("router1", "private", gateway_host=5)
    topo.group("default", {"direction": "egress"})
    port = topo.port("vm", "private", 5, groups=("default",))
    guest = world.guest(port)
    world.plane.apply(topo.state)
    assert world.plane.plug(topo.state) == {port.id}

    lease = guest.dhcp()
    assert lease == {"ip": "10.61.0.5", "mask": "24", "router": "10.61.0.1"}
    assert guest.ping("10.61.0.1")
