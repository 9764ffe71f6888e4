"""The ruleset text generated from a DesiredState (pure): anti-spoofing per
tap, the topology check, security-group chains keyed by IP, input, NAT;
deterministic and replacing both tables in one file."""
from __future__ import annotations

import dataclasses
import random

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
from networkd.dataplane.nftables import render
from networkd.dataplane.policy import compile_policy

PUBLIC = Network("pub", "brqpub", True, subnets=(
    Subnet("pubsub", "172.24.4.0/24", "172.24.4.1", False),))
PRIVATE = Network("priv", "brqpriv", False, subnets=(
    Subnet("privsub", "10.0.0.0/24", "10.0.0.1", True, dhcp_ip="10.0.0.2"),))
ROUTER = Router("r1", interfaces=(RouterInterface("priv", "privsub", "10.0.0.1", 24),),
                gateway=RouterGateway("pub", "pubsub", "172.24.4.5", 24))
WEB = SecurityGroup("web", rules=(
    SecurityGroupRule("r1", "ingress", protocol="tcp", port_range_min=80, port_range_max=80),
    SecurityGroupRule("r2", "ingress", protocol="icmp", port_range_min=8,
                      remote_ip_prefix="172.24.4.0/24"),
    SecurityGroupRule("r3", "ingress", protocol="udp", port_range_min=5000,
                      port_range_max=5010, remote_group_id="web"),
    SecurityGroupRule("r4", "egress"),
))
VM = Port("p-1", "priv", "fa:16:3e:00:00:01", (("privsub", "10.0.0.5"),), "tapp-1",
          security_group_ids=("web",))
OPEN = Port("p-2", "priv", "fa:16:3e:00:00:02", (("privsub", "10.0.0.6"),), "tapp-2",
            port_security_enabled=False)
FIP = FloatingIP("f1", "172.24.4.20", "10.0.0.5", "p-1", "r1", "pub")
STATE = DesiredState(networks=(PUBLIC, PRIVATE), ports=(VM, OPEN), routers=(ROUTER,),
                     floating_ips=(FIP,), security_groups=(WEB,))


def chain(text: str, family: str, name: str) -> list[str]:
    """The rules of one chain of the rendered text."""
    table = text.split(f"table {family} pocketstack {{\n", 1)[1]
    body = table.split(f"\tchain {name} {{\n", 1)[1].split("\t}\n", 1)[0]
    return [line.strip() for line in body.splitlines()]


def test_both_tables_are_replaced_in_one_file():
    text = render(compile_policy(STATE))
    lines = text.splitlines()
    assert lines[:3] == ["table bridge pocketstack", "delete table bridge pocketstack",
                         "table bridge pocketstack {"]
    assert "table inet pocketstack" in lines and "delete table inet pocketstack" in lines
    assert lines.index("delete table inet pocketstack") < lines.index("table inet pocketstack {")


def test_anti_spoofing_per_tap():
    text = render(compile_policy(STATE))
    assert chain(text, "bridge", "prerouting")[1] == (
        'iifname vmap { "tapp-1" : jump spoof_p_1 }')          # not the open port's tap
    assert chain(text, "bridge", "spoof_p_1") == [
        "ether saddr != fa:16:3e:00:00:01 drop",
        "arp saddr ether != fa:16:3e:00:00:01 drop",
        "arp saddr ip != { 0.0.0.0, 10.0.0.5 } drop",
        "ether type arp accept",
        "ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 accept",
        "ether type ip udp sport 67 drop",
        "ip saddr 10.0.0.5 accept",
        "drop",
    ]


def test_a_port_administratively_down_passes_nothing():
    down = dataclasses.replace(STATE, ports=(dataclasses.replace(VM, admin_state_up=False),))
    text = render(compile_policy(down))
    assert chain(text, "bridge", "prerouting")[1] == 'iifname vmap { "tapp-1" : drop }'
    assert chain(text, "bridge", "postrouting")[1] == 'oifname { "tapp-1" } drop'
    assert chain(text, "inet", "egress_p_1") == ["drop"]
    assert chain(text, "inet", "ingress_p_1") == ["drop"]


def test_topology_then_security_groups():
    text = render(compile_policy(STATE))
    assert chain(text, "inet", "forward") == [
        "type filter hook forward priority filter; policy drop;",
        "ct state established,related accept",
        "ct state invalid drop",
        'iifname . oifname { "brqpriv" . "brqpriv", "brqpriv" . "brqpub", '
        '"brqpub" . "brqpub" } jump guard',
        'ct status dnat iifname . oifname { "brqpub" . "brqpriv" } jump guard',
    ]
    assert chain(text, "inet", "guard") == [
        "ip daddr 255.255.255.255 udp sport 68 udp dport 67 accept",
        "ip saddr vmap { 10.0.0.5 : jump egress_p_1 }",
        "ip daddr vmap { 10.0.0.5 : jump ingress_p_1 }",
        "accept",
    ]
    assert chain(text, "inet", "ingress_p_1") == [
        "ip saddr 172.24.4.0/24 meta l4proto 1 icmp type 8 accept",
        "meta l4proto 6 th dport 80 accept",
        "ip saddr 10.0.0.5 meta l4proto 17 th dport 5000-5010 accept",
        "drop",
    ]
    assert chain(text, "inet", "egress_p_1") == ["return", "drop"]


def test_input_and_nat():
    text = render(compile_policy(STATE))
    assert chain(text, "inet", "input") == [
        "type filter hook input priority filter; policy drop;",
        'iifname "lo" accept',
        "ct state established,related accept",
        "ct state invalid drop",
        "udp dport 67 accept",
        "meta l4proto icmp fib daddr . iif type local accept",
        "ip daddr 169.254.169.254 tcp dport 80 accept",
    ]
    assert chain(text, "inet", "nat_prerouting")[1:] == [
        "ip daddr 172.24.4.20 dnat ip to 10.0.0.5"]
    assert chain(text, "inet", "nat_postrouting")[1:] == [
        'oifname "brqpub" ip saddr 10.0.0.5 snat ip to 172.24.4.20',
        'oifname "brqpub" ip saddr 10.0.0.0/24 snat ip to 172.24.4.5',
    ]


def test_an_empty_state_has_no_empty_sets():
    text = render(compile_policy(DesiredState()))
    assert "{ }" not in text and "{  }" not in text
    assert chain(text, "inet", "forward")[-1] == "ct state invalid drop"
    assert chain(text, "inet", "guard") == [
        "ip daddr 255.255.255.255 udp sport 68 udp dport 67 accept", "accept"]


def test_the_same_state_in_any_order_gives_the_same_text():
    shuffled = DesiredState(
        networks=tuple(random.sample(STATE.networks, 2)),
        ports=tuple(reversed(STATE.ports)), routers=STATE.routers,
        floating_ips=STATE.floating_ips,
        security_groups=(dataclasses.replace(WEB, rules=tuple(reversed(WEB.rules))),))
    assert render(compile_policy(shuffled)) == render(compile_policy(STATE))
