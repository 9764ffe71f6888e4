"""Which tracked connections the policy ends (pure): parsing `conntrack -L`
and judging each entry."""
from __future__ import annotations

from networkd.dataplane.conntrack import Flow, parse, stale
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
from networkd.dataplane.policy import compile_policy

LISTING = """\
tcp      6 431999 ESTABLISHED src=10.0.0.5 dst=10.0.0.6 sport=40000 dport=80 src=10.0.0.6 \
dst=10.0.0.5 sport=80 dport=40000 [ASSURED] mark=0 use=1
icmp     1 29 src=172.24.4.1 dst=172.24.4.20 type=8 code=0 id=7 src=10.0.0.5 dst=172.24.4.1 \
type=0 code=0 id=7 mark=0 use=1
unknown  47 599 src=10.0.0.5 dst=10.0.0.6 src=10.0.0.6 dst=10.0.0.5 mark=0 use=1
conntrack v1.4.7 (conntrack-tools): 3 flow entries have been shown.
"""

PUBLIC = Network("pub", "brqpub", True, subnets=(
    Subnet("pubsub", "172.24.4.0/24", "172.24.4.1", False),))
PRIVATE = Network("priv", "brqpriv", False, subnets=(
    Subnet("privsub", "10.0.0.0/24", "10.0.0.1", True, dhcp_ip="10.0.0.2"),))
ROUTER = Router("r1", interfaces=(RouterInterface("priv", "privsub", "10.0.0.1", 24),),
                gateway=RouterGateway("pub", "pubsub", "172.24.4.5", 24))
OPEN = SecurityGroup("open", rules=(SecurityGroupRule("e", "egress"),
                                    SecurityGroupRule("i", "ingress")))
WEB = SecurityGroup("web", rules=(SecurityGroupRule("e", "egress"), SecurityGroupRule(
    "w", "ingress", protocol="tcp", port_range_min=80, port_range_max=80)))


def port(name: str, ip: str, group: str) -> Port:
    return Port(f"p-{name}", "priv", f"fa:16:3e:00:00:0{name}", (("privsub", ip),),
                f"tap{name}", security_group_ids=(group,))


def policy(*ports: Port, floating=(), groups=(OPEN, WEB)):
    return compile_policy(DesiredState((PUBLIC, PRIVATE), ports, (ROUTER,), floating, groups))


def flow(protocol: int, source: str, destination: str, reply_source: str | None = None,
         reply_destination: str | None = None, dport: int | None = None,
         icmp: tuple[int, int, int] | None = None) -> Flow:
    return Flow({1: "icmp", 6: "tcp", 17: "udp"}[protocol], protocol, source, destination,
                reply_source or destination, reply_destination or source,
                sport=40000 if dport else None, dport=dport, icmp=icmp)


def test_parse_reads_both_tuples():
    tcp, icmp, gre = parse(LISTING)
    assert tcp == Flow("tcp", 6, "10.0.0.5", "10.0.0.6", "10.0.0.6", "10.0.0.5",
                       sport=40000, dport=80)
    assert icmp == Flow("icmp", 1, "172.24.4.1", "172.24.4.20", "10.0.0.5", "172.24.4.1",
                        icmp=(8, 0, 7))
    assert gre.protocol == 47 and gre.dport is None
    assert gre.delete_command() == ["conntrack", "-D", "-p", "47", "-s", "10.0.0.5",
                                    "-d", "10.0.0.6"]
    assert icmp.delete_command() == [
        "conntrack", "-D", "-p", "icmp", "-s", "172.24.4.1", "-d", "172.24.4.20",
        "--icmp-type", "8", "--icmp-code", "0", "--icmp-id", "7"]
    assert tcp.delete_command()[-4:] == ["--sport", "40000", "--dport", "80"]


def test_flows_the_security_groups_still_allow_are_kept():
    now = policy(port("1", "10.0.0.5", "open"), port("2", "10.0.0.6", "web"))
    web = flow(6, "10.0.0.5", "10.0.0.6", dport=80)
    ssh = flow(6, "10.0.0.5", "10.0.0.6", dport=22)
    back = flow(6, "10.0.0.6", "10.0.0.5", dport=22)
    assert stale(now, [web, ssh, back]) == [ssh]


def test_flows_of_a_removed_floating_ip_end():
    a = port("1", "10.0.0.5", "open")
    floating = FloatingIP("f", "172.24.4.20", "10.0.0.5", "p-1", "r1", "pub")
    inbound = flow(1, "172.24.4.1", "172.24.4.20", "10.0.0.5", icmp=(8, 0, 7))
    outbound = flow(1, "10.0.0.5", "172.24.4.1", reply_destination="172.24.4.20",
                    icmp=(8, 0, 9))
    routed = flow(1, "10.0.0.5", "172.24.4.1", reply_destination="172.24.4.5",
                  icmp=(8, 0, 11))
    assert stale(policy(a, floating=(floating,)), [inbound, outbound, routed]) == []
    assert stale(policy(a), [inbound, outbound, routed]) == [inbound, outbound]


def test_flows_of_a_removed_port_end_and_the_namespaces_own_are_kept():
    now = policy(port("1", "10.0.0.5", "web"))
    gone = flow(1, "10.0.0.5", "10.0.0.9", icmp=(8, 0, 1))
    dhcp = flow(17, "10.0.0.5", "10.0.0.2", dport=67)
    gateway = flow(1, "10.0.0.5", "10.0.0.1", icmp=(8, 0, 2))
    broadcast = flow(17, "0.0.0.0", "255.255.255.255", dport=67)
    assert stale(now, [gone, dhcp, gateway, broadcast]) == [gone]
