"""The policy compiled from a DesiredState: security-group matches, the
routing topology, NAT and the namespace's addresses (pure, no kernel)."""
from __future__ import annotations

import ipaddress

import pytest

from networkd.dataplane.contract import DataPlaneError
from networkd.dataplane.model import (
    DesiredState,
    FloatingIP,
    Network,
    Port,
    Router,
    RouterGateway,
    RouterInterface,
    SecurityGroup,
    SecurityGroupRule,
    Subnet,
)
from networkd.dataplane.policy import Match, compile_policy, flow_allowed, local_addresses

PUBLIC = Network("pub", "brqpub", True, subnets=(
    Subnet("pubsub", "172.24.4.0/24", "172.24.4.1", False),))
PRIVATE = Network("priv", "brqpriv", False, mtu=1450, subnets=(
    Subnet("privsub", "10.0.0.0/24", "10.0.0.1", True, dhcp_ip="10.0.0.2"),))
OTHER = Network("oth", "brqoth", False, subnets=(
    Subnet("othsub", "10.1.0.0/24", "10.1.0.1", True, dhcp_ip="10.1.0.2"),))
ROUTER = Router("r1", interfaces=(RouterInterface("priv", "privsub", "10.0.0.1", 24),
                                  RouterInterface("oth", "othsub", "10.1.0.1", 24)),
                gateway=RouterGateway("pub", "pubsub", "172.24.4.5", 24))


def rule(direction: str, **fields) -> SecurityGroupRule:
    return SecurityGroupRule(id=f"rule-{direction}-{sorted(fields.items())}",
                             direction=direction, **fields)


def port(name: str, ip: str, *groups: str, network: str = "priv", **fields) -> Port:
    subnet = "privsub" if network == "priv" else "othsub"
    return Port(id=f"port-{name}", network_id=network, mac_address="FA:16:3E:00:00:0" + name[-1],
                fixed_ips=((subnet, ip),), tap=f"tap{name}", security_group_ids=groups,
                **fields)


def state(*ports: Port, groups=(), routers=(ROUTER,), floating=()) -> DesiredState:
    return DesiredState(networks=(PUBLIC, PRIVATE, OTHER), ports=ports, routers=routers,
                        floating_ips=floating, security_groups=groups)


def test_rules_become_matches():
    group = SecurityGroup("web", rules=(
        rule("ingress", protocol="tcp", port_range_min=80, port_range_max=81),
        rule("ingress", protocol="TCP", port_range_min=1, port_range_max=65535),
        rule("ingress", protocol="icmp", port_range_min=8, port_range_max=0,
             remote_ip_prefix="192.168.0.0/16"),
        rule("ingress", protocol="112"),
        rule("ingress", ethertype="IPv6"),                        # not built
        rule("egress", remote_ip_prefix="0.0.0.0/0"),
        rule("egress", remote_ip_prefix="0.0.0.0/0", ethertype="IPv4"),   # a duplicate
    ))
    [compiled] = compile_policy(state(port("a", "10.0.0.5", "web"), groups=(group,))).ports
    assert compiled.mac == "fa:16:3e:00:00:0a"
    assert compiled.ingress == (        # in a fixed order: protocol, ports, ...
        Match(protocol=1, icmp_type=8, icmp_code=0,
              remotes=(ipaddress.IPv4Network("192.168.0.0/16"),)),
        Match(protocol=6),
        Match(protocol=6, port_min=80, port_max=81),
        Match(protocol=112),
    )
    assert compiled.egress == (Match(),)


def test_remote_groups_are_their_members_addresses():
    group = SecurityGroup("default", rules=(rule("ingress", remote_group_id="default"),
                                            rule("ingress", remote_group_id="empty")))
    policy = compile_policy(state(port("a", "10.0.0.5", "default"),
                                  port("b", "10.1.0.9", "default", network="oth"),
                                  port("c", "10.0.0.7"), groups=(group,)))
    a = policy.port_of("10.0.0.5")
    assert a is not None
    # The empty group's rule matches nothing, so it is not built at all.
    assert a.ingress == (Match(remotes=(ipaddress.IPv4Network("10.0.0.5/32"),
                                        ipaddress.IPv4Network("10.1.0.9/32"))),)


def test_flow_allowed_reads_both_ends():
    web = SecurityGroup("web", rules=(rule("ingress", protocol="tcp", port_range_min=80,
                                           port_range_max=80),))
    out = SecurityGroup("out", rules=(rule("egress"),))
    policy = compile_policy(state(port("a", "10.0.0.5", "out"), port("b", "10.0.0.6", "web"),
                                  port("c", "10.0.0.7", port_security_enabled=False),
                                  port("d", "10.0.0.8", "out", admin_state_up=False),
                                  groups=(web, out)))
    assert flow_allowed(policy, 6, "10.0.0.5", "10.0.0.6", 80, None)
    assert not flow_allowed(policy, 6, "10.0.0.5", "10.0.0.6", 22, None)
    assert not flow_allowed(policy, 6, "10.0.0.6", "10.0.0.5", 80, None)   # b: no egress
    assert flow_allowed(policy, 1, "10.0.0.5", "10.0.0.7", None, (8, 0))    # c: no security
    assert flow_allowed(policy, 1, "10.0.0.7", "172.24.4.1", None, (8, 0))
    assert not flow_allowed(policy, 1, "10.0.0.8", "10.0.0.7", None, (8, 0))  # d: down
    assert flow_allowed(policy, 17, "10.0.0.6", "10.0.0.2", 67, None)      # DHCP, always


def test_topology_pairs_of_a_router():
    policy = compile_policy(state())
    assert policy.bridges == ("brqoth", "brqpriv", "brqpub")
    assert policy.routed == (("brqoth", "brqpriv"), ("brqoth", "brqpub"),
                             ("brqpriv", "brqoth"), ("brqpriv", "brqpub"))
    assert policy.dnat == (("brqoth", "brqpriv"), ("brqpriv", "brqoth"),
                           ("brqpub", "brqoth"), ("brqpub", "brqpriv"))
    assert [(s.cidr, s.gateway_ip, s.bridge) for s in policy.snat] == [
        ("10.0.0.0/24", "172.24.4.5", "brqpub"), ("10.1.0.0/24", "172.24.4.5", "brqpub")]


def test_a_router_without_gateway_or_snat_or_up():
    inside_only = Router("r2", interfaces=ROUTER.interfaces)
    no_snat = Router("r3", interfaces=ROUTER.interfaces[:1], gateway=RouterGateway(
        "pub", "pubsub", "172.24.4.6", 24, enable_snat=False))
    down = Router("r4", interfaces=ROUTER.interfaces, gateway=ROUTER.gateway,
                  admin_state_up=False)
    assert compile_policy(state(routers=(inside_only,))).routed == (
        ("brqoth", "brqpriv"), ("brqpriv", "brqoth"))
    assert compile_policy(state(routers=(inside_only,))).dnat == ()
    assert compile_policy(state(routers=(no_snat,))).snat == ()
    assert compile_policy(state(routers=(no_snat,))).routed == (("brqpriv", "brqpub"),)
    assert compile_policy(state(routers=(down,))).routed == ()


def test_addresses_of_the_namespace():
    floating = FloatingIP("f1", "172.24.4.20", "10.0.0.5", "port-a", "r1", "pub")
    addresses = local_addresses(state(port("a", "10.0.0.5"), floating=(floating,)))
    assert addresses == {
        "brqpub": {("172.24.4.5", 24), ("172.24.4.20", 32)},
        "brqpriv": {("10.0.0.1", 24), ("10.0.0.2", 24)},
        "brqoth": {("10.1.0.1", 24), ("10.1.0.2", 24)},
    }
    policy = compile_policy(state(port("a", "10.0.0.5"), floating=(floating,)))
    assert [(f.floating_ip, f.fixed_ip, f.bridge) for f in policy.floating] == [
        ("172.24.4.20", "10.0.0.5", "brqpub")]
    assert policy.internal_cidrs == ("10.0.0.0/24", "10.1.0.0/24")


@pytest.mark.parametrize("bad", [
    {"mac_address": "fa:16:3e:00:00"},
    {"mac_address": "fa:16:3e:00:00:01\nx"},
    {"fixed_ips": (("privsub", "10.0.0.500"),)},
    {"tap": 'tap"; flush ruleset'},
])
def test_malformed_values_are_refused(bad):
    import dataclasses
    broken = dataclasses.replace(port("a", "10.0.0.5"), **bad)
    with pytest.raises(DataPlaneError):
        compile_policy(state(broken))


def test_unknown_protocol_is_refused():
    group = SecurityGroup("g", rules=(rule("ingress", protocol="carrier-pigeon"),))
    with pytest.raises(DataPlaneError, match="carrier-pigeon"):
        compile_policy(state(port("a", "10.0.0.5", "g"), groups=(group,)))
