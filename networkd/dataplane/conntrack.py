"""Ending the tracked connections the current policy no longer allows.

The firewall accepts `ct state established` before any security-group
rule, so removing a rule or a floating IP stops new flows only: a ping or
an SSH session already running would go on. After each new ruleset, the
namespace's connection-tracking table is read and every entry the new
policy would refuse is deleted; the next packet of such a flow is then
judged as new, by the new rules.

The check depends only on the policy and the table, not on what was there
before, so it also cleans up after a networkd restart. An entry is stale
when:
  - it was translated by a floating IP (DNAT in, SNAT out) or a router's
    SNAT that no longer exists;
  - one end is an address of an internal subnet that no port and no
    namespace address holds any more (a deleted port);
  - the security groups refuse it (the source port's egress or the
    destination port's ingress).
Connections to the namespace's own addresses (DHCP, ICMP to a gateway,
metadata) are not security-group matters and are kept.
"""
from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass

from networkd.dataplane import nsexec
from networkd.dataplane.policy import ICMP, PORTED, Policy, flow_allowed

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class Flow:
    """One conntrack entry: its original tuple, and the reply tuple's
    addresses (which show NAT: reply_source is where the flow really went,
    reply_destination the address its source was translated to)."""
    protocol_name: str
    protocol: int
    source: str
    destination: str
    reply_source: str
    reply_destination: str
    sport: int | None = None
    dport: int | None = None
    icmp: tuple[int, int, int] | None = None     # type, code, id

    def delete_command(self) -> list[str]:
        """The conntrack command deleting exactly this entry."""
        name = self.protocol_name if self.protocol_name != "unknown" else str(self.protocol)
        command = ["conntrack", "-D", "-p", name, "-s", self.source, "-d", self.destination]
        if self.sport is not None and self.dport is not None:
            command += ["--sport", str(self.sport), "--dport", str(self.dport)]
        if self.icmp is not None:
            command += ["--icmp-type", str(self.icmp[0]), "--icmp-code", str(self.icmp[1]),
                        "--icmp-id", str(self.icmp[2])]
        return command


def parse(listing: str) -> list[Flow]:
    """The IPv4 entries of `conntrack -L` output (lines like
    `tcp 6 119 ESTABLISHED src=.. dst=.. sport=.. dport=.. src=.. ...`)."""
    flows = []
    for line in listing.splitlines():
        tokens = line.split()
        if len(tokens) < 3 or not tokens[1].isdigit():
            continue
        original: dict[str, str] = {}
        reply: dict[str, str] = {}
        current = original
        for token in tokens[2:]:
            key, sep, value = token.partition("=")
            if not sep:
                continue
            if key == "src" and "src" in original:
                current = reply          # the second src= starts the reply tuple
            current.setdefault(key, value)
        try:
            flows.append(_flow(tokens[0], int(tokens[1]), original, reply))
        except (KeyError, ValueError):
            continue
    return flows


def _flow(name: str, protocol: int, original: dict[str, str], reply: dict[str, str]) -> Flow:
    addresses = [original["src"], original["dst"], reply["src"], reply["dst"]]
    for address in addresses:
        ipaddress.IPv4Address(address)
    ports = (int(original["sport"]), int(original["dport"])) if "dport" in original else None
    icmp = None
    if protocol == ICMP and "type" in original:
        icmp = (int(original["type"]), int(original["code"]), int(original.get("id", "0")))
    return Flow(name, protocol, source=addresses[0], destination=addresses[1],
                reply_source=addresses[2], reply_destination=addresses[3],
                sport=ports[0] if ports else None, dport=ports[1] if ports else None,
                icmp=icmp)


def stale(policy: Policy, flows: list[Flow]) -> list[Flow]:
    """The flows `policy` no longer allows (see the module's docstring)."""
    dnat = {(f.floating_ip, f.fixed_ip) for f in policy.floating}
    snat_fips = {(f.fixed_ip, f.floating_ip) for f in policy.floating}
    snat_routers = [(ipaddress.IPv4Network(s.cidr), s.gateway_ip) for s in policy.snat]
    local = set(policy.local_ips)
    owned = local | {ip for port in policy.ports for ip in port.ips}
    internal = [ipaddress.IPv4Network(cidr) for cidr in policy.internal_cidrs]

    def orphan(address: str) -> bool:
        ip = ipaddress.IPv4Address(address)
        return address not in owned and any(
            ip in net and ip not in (net.network_address, net.broadcast_address)
            for net in internal)

    def snat_ok(source: str, translated: str) -> bool:
        return (source, translated) in snat_fips or any(
            ipaddress.IPv4Address(source) in net and translated == gateway
            for net, gateway in snat_routers)

    def why(flow: Flow) -> str | None:
        """The reason `flow` must end, or None."""
        target = flow.reply_source
        if flow.destination != target and (flow.destination, target) not in dnat:
            return "floating IP gone"
        if flow.reply_destination != flow.source and \
                not snat_ok(flow.source, flow.reply_destination):
            return "source NAT gone"
        if orphan(flow.source) or orphan(target):
            return "port gone"
        if target in local:
            return None                     # to the namespace itself: no security group
        if not flow_allowed(policy, flow.protocol, flow.source, target,
                            flow.dport if flow.protocol in PORTED else None,
                            flow.icmp[:2] if flow.icmp else None):
            return "security groups"
        return None

    return [flow for flow in flows if why(flow) is not None]


def sweep(namespace: str, policy: Policy) -> int:
    """Delete the namespace's tracked connections that `policy` refuses;
    returns how many."""
    listing = nsexec.run(namespace, ["conntrack", "-L"], check=False)
    flows = stale(policy, parse(listing.stdout))
    for flow in flows:
        # Exit status 1 when the entry ended meanwhile: nothing to do.
        nsexec.run(namespace, flow.delete_command(), check=False)
        LOG.info("conntrack: ended %s %s -> %s (%s)", flow.protocol_name, flow.source,
                 flow.destination, flow.reply_source)
    return len(flows)
