"""The stack's nftables ruleset: written whole from a Policy, loaded at once.

Two tables, both named `pocketstack`, inside the stack's namespace:

  bridge pocketstack   anti-spoofing, per tap (stateless: this kernel has no
                       connection tracking in the bridge family): a frame
                       from a guest must carry its port's MAC; ARP its MAC
                       and one of its IPs; IPv4 one of its IPs (or be a DHCP
                       request from 0.0.0.0); everything else is dropped.
                       Taps of ports that are administratively down pass
                       nothing either way.
  inet pocketstack     (bridged IPv4 reaches it through bridge-nf-call-
                       iptables, with connection tracking; iifname/oifname
                       are the bridges there)
                       forward: established flows; the routing topology
                       (each bridge to itself, a router's interfaces to each
                       other and to its gateway's network; from outside only
                       to a floating IP's destination); then the security
                       groups, keyed by IP, which anti-spoofing makes a
                       port's identity: egress_<port> chains `return` what
                       the port may send, ingress_<port> chains accept what
                       it may receive, both drop the rest.
                       input: DHCP, ICMP to the arriving bridge's own
                       addresses, metadata (169.254.169.254:80), replies.
                       nat: floating IPs (DNAT in, SNAT out) and router SNAT.

The text deletes and recreates both tables, and `nft -f` applies a file in
one transaction: the kernel never sees half a ruleset, and loading it again
(after a restart, or twice) never duplicates a rule.
"""
from __future__ import annotations

from networkd.dataplane import nsexec
from networkd.dataplane.policy import (
    DHCP_CLIENT_PORT,
    DHCP_SERVER_PORT,
    ICMP,
    Match,
    Policy,
    PortPolicy,
    sorted_ips,
)
from shared.metadata_proxy import METADATA_ADDRESS, METADATA_PORT

TABLE = "pocketstack"


def render(policy: Policy) -> str:
    """The whole ruleset of `policy` as `nft -f` input (deterministic: the
    same policy always gives the same text)."""
    lines = [f"table bridge {TABLE}", f"delete table bridge {TABLE}",
             f"table bridge {TABLE} {{", *_bridge_table(policy), "}",
             f"table inet {TABLE}", f"delete table inet {TABLE}",
             f"table inet {TABLE} {{", *_inet_table(policy), "}"]
    return "\n".join(lines) + "\n"


def apply(namespace: str, text: str) -> None:
    """Load a rendered ruleset into `namespace` (one transaction)."""
    nsexec.run(namespace, ["nft", "-f", "-"], stdin=text)


def loaded(namespace: str) -> bool:
    """Whether `namespace` has the stack's tables (it lost them if it was
    made anew)."""
    listing = nsexec.run(namespace, ["nft", "list", "tables"]).stdout.split("\n")
    return all(f"table {family} {TABLE}" in listing for family in ("bridge", "inet"))


def delete(namespace: str) -> None:
    """Remove the stack's tables from `namespace` (nothing if absent)."""
    nsexec.run(namespace, ["nft", "-f", "-"], stdin="".join(
        f"table {family} {TABLE}\ndelete table {family} {TABLE}\n"
        for family in ("bridge", "inet")))


# --- bridge family: anti-spoofing --------------------------------------------------------
def _bridge_table(policy: Policy) -> list[str]:
    guarded = [port for port in policy.ports if port.secured or not port.admin_up]
    verdicts = [f'"{p.tap}" : jump spoof_{p.chain_suffix}' if p.admin_up else f'"{p.tap}" : drop'
                for p in sorted(guarded, key=lambda p: p.tap)]
    down = sorted(f'"{p.tap}"' for p in policy.ports if not p.admin_up)
    lines = _chain("prerouting", "type filter hook prerouting priority filter; policy accept;",
                   [f"iifname vmap {{ {', '.join(verdicts)} }}"] if verdicts else [])
    lines += _chain("postrouting", "type filter hook postrouting priority filter; policy accept;",
                    [f"oifname {{ {', '.join(down)} }} drop"] if down else [])
    for port in guarded:
        if port.admin_up:
            lines += _chain(f"spoof_{port.chain_suffix}", None, _spoof_rules(port))
    return lines


def _spoof_rules(port: PortPolicy) -> list[str]:
    ips = sorted_ips(port.ips)
    rules = [f"ether saddr != {port.mac} drop",
             f"arp saddr ether != {port.mac} drop",
             f"arp saddr ip != {_set(['0.0.0.0', *ips])} drop",
             "ether type arp accept",
             f"ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport {DHCP_CLIENT_PORT} "
             f"udp dport {DHCP_SERVER_PORT} accept",
             # A guest never answers DHCP on its network.
             f"ether type ip udp sport {DHCP_SERVER_PORT} drop"]
    if ips:
        rules.append(f"ip saddr {_set(ips)} accept")
    rules.append("drop")
    return rules


# --- inet family: topology, security groups, input, NAT ----------------------------------
def _inet_table(policy: Policy) -> list[str]:
    pairs = sorted({(b, b) for b in policy.bridges} | set(policy.routed))
    forward = ["ct state established,related accept", "ct state invalid drop"]
    if pairs:
        forward.append(f"iifname . oifname {_pairs(pairs)} jump guard")
    if policy.dnat:
        forward.append(f"ct status dnat iifname . oifname {_pairs(policy.dnat)} jump guard")
    lines = _chain("forward", "type filter hook forward priority filter; policy drop;", forward)

    secured = [port for port in policy.ports if port.secured and port.ips]
    egress = [f"{ip} : jump egress_{p.chain_suffix}" for p in secured for ip in p.ips]
    ingress = [f"{ip} : jump ingress_{p.chain_suffix}" for p in secured for ip in p.ips]
    guard = [f"ip daddr 255.255.255.255 udp sport {DHCP_CLIENT_PORT} "
             f"udp dport {DHCP_SERVER_PORT} accept"]
    if egress:
        guard.append(f"ip saddr vmap {{ {', '.join(egress)} }}")
        guard.append(f"ip daddr vmap {{ {', '.join(ingress)} }}")
    guard.append("accept")
    lines += _chain("guard", None, guard)
    for port in secured:
        allowed = port.admin_up
        lines += _chain(f"egress_{port.chain_suffix}", None,
                        [f"{_match(m, 'daddr')} return".lstrip() for m in port.egress
                         if allowed] + ["drop"])
        lines += _chain(f"ingress_{port.chain_suffix}", None,
                        [f"{_match(m, 'saddr')} accept".lstrip() for m in port.ingress
                         if allowed] + ["drop"])

    lines += _chain("input", "type filter hook input priority filter; policy drop;", [
        'iifname "lo" accept',
        "ct state established,related accept",
        "ct state invalid drop",
        f"udp dport {DHCP_SERVER_PORT} accept",
        "meta l4proto icmp fib daddr . iif type local accept",
        f"ip daddr {METADATA_ADDRESS} tcp dport {METADATA_PORT} accept",
    ])
    lines += _chain("nat_prerouting", "type nat hook prerouting priority dstnat; policy accept;",
                    [f"ip daddr {f.floating_ip} dnat ip to {f.fixed_ip}"
                     for f in policy.floating])
    lines += _chain("nat_postrouting", "type nat hook postrouting priority srcnat; policy accept;",
                    [f'oifname "{f.bridge}" ip saddr {f.fixed_ip} snat ip to {f.floating_ip}'
                     for f in policy.floating]
                    + [f'oifname "{s.bridge}" ip saddr {s.cidr} snat ip to {s.gateway_ip}'
                       for s in policy.snat])
    return lines


def _match(match: Match, remote_field: str) -> str:
    """A Match as an nft expression (empty: matches everything)."""
    parts = []
    if match.remotes is not None:
        remotes = [str(net.network_address) if net.prefixlen == 32 else str(net)
                   for net in match.remotes]
        parts.append(f"ip {remote_field} {_set(remotes)}")
    if match.protocol is not None:
        parts.append(f"meta l4proto {match.protocol}")
    if match.port_min is not None:
        high = match.port_max if match.port_max is not None else match.port_min
        parts.append(f"th dport {match.port_min}" if high == match.port_min
                     else f"th dport {match.port_min}-{high}")
    if match.protocol == ICMP and match.icmp_type is not None:
        parts.append(f"icmp type {match.icmp_type}")
        if match.icmp_code is not None:
            parts.append(f"icmp code {match.icmp_code}")
    return " ".join(parts)


def _chain(name: str, header: str | None, rules: list[str]) -> list[str]:
    return [f"\tchain {name} {{", *([f"\t\t{header}"] if header else []),
            *(f"\t\t{rule}" for rule in rules), "\t}"]


def _set(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{{ {', '.join(items)} }}"


def _pairs(pairs: list[tuple[str, str]] | tuple[tuple[str, str], ...]) -> str:
    return "{ " + ", ".join(f'"{a}" . "{b}"' for a, b in pairs) + " }"
