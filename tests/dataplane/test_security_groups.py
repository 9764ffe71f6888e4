"""Security groups between running guests: what the groups allow passes,
the rest does not, and a rule added or removed acts on flows already
running (a ping loop, an open TCP connection)."""
from __future__ import annotations

import time

import pytest

ECHO = 7


@pytest.fixture
def pair(world, topo):
    """`client` (group default: all egress, ingress from its members) and
    `server` (group web: TCP echo from anywhere; all egress), on one network."""
    topo.external()
    topo.network("private", "10.63.0.0/24")
    topo.router("router1", "private", gateway_host=5)
    topo.group("default", {"direction": "egress"},
               {"direction": "ingress", "remote_group": "default"})
    topo.group("web", {"direction": "egress"},
               {"direction": "ingress", "protocol": "tcp", "port_range_min": ECHO,
                "port_range_max": ECHO})
    client = world.guest(topo.port("client", "private", 5, groups=("default",)))
    server = world.guest(topo.port("server", "private", 6, groups=("web",)))
    world.plane.apply(topo.state)
    assert len(world.plane.plug(topo.state)) == 2
    for guest in (client, server):
        assert guest.dhcp() is not None
    server.serve_echo(ECHO)
    return client, server


def replies(path) -> int:
    return path.read_text().count("bytes from")


def wait_until(condition, timeout: float = 5.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out: {what}"
        time.sleep(0.1)


def test_only_what_the_groups_allow_passes(world, topo, pair):
    client, server = pair
    assert client.tcp(topo.ip("server"), ECHO)           # web: TCP 7 from anywhere
    assert not client.ping(topo.ip("server"))              # no ICMP in web
    assert not server.ping(topo.ip("client"))              # server is no member of default
    assert not server.tcp(topo.ip("client"), ECHO)

    topo.change_port("server", security_group_ids=(topo.groups["web"].id,
                                                   topo.groups["default"].id))
    world.plane.apply(topo.state)
    assert server.ping(topo.ip("client"))                  # now a member: remote group


def test_a_rule_added_or_removed_acts_on_running_flows(world, topo, pair):
    client, server = pair
    log = world.root / "ping.log"
    client.popen("busybox", "ping", "-i", "0.2", topo.ip("server"), output=log)
    time.sleep(1)
    assert replies(log) == 0

    icmp = topo.add_rule("web", direction="ingress", protocol="icmp")
    world.plane.apply(topo.state)
    wait_until(lambda: replies(log) >= 3, what="ping through after the rule was added")

    topo.remove_rule("web", icmp.id)
    world.plane.apply(topo.state)
    time.sleep(0.5)
    stopped_at = replies(log)
    time.sleep(1.5)
    assert replies(log) == stopped_at, "the running ping went on after the rule went"


def test_removing_a_rule_ends_an_open_connection(world, topo, pair):
    client, server = pair
    from tests.dataplane.world import HOLD_CONNECTION
    log = world.root / "hold.log"
    client.popen("python3", "-c", HOLD_CONNECTION, topo.ip("server"), str(ECHO), output=log)
    wait_until(lambda: log.read_text().count("ok") >= 3, what="the connection carries data")

    [tcp] = [r for r in topo.groups["web"].rules if r.protocol == "tcp"]
    topo.remove_rule("web", tcp.id)
    world.plane.apply(topo.state)
    time.sleep(0.5)
    oks = log.read_text().count("ok")
    time.sleep(1.5)
    assert log.read_text().count("ok") == oks, "the connection went on after its rule went"
    assert not client.tcp(topo.ip("server"), ECHO)
