"""The stack's network namespace and its link to the machine.

`pocketstack up` calls ensure(), `pocketstack down` calls remove() (after
the guests are off); networkd only fills the namespace (linux.py).

    ensure(namespace, host_veth, ns_veth, gateway_cidr)
        e.g. ensure("pocketstack-1a2b3c4d", "ps1a2b3c4dex", "ex-host", "172.24.4.1/24")
    remove(namespace, host_veth=None)

Inside: lo up, forwarding on, bridged IPv4 through the inet hooks
(bridge-nf-call-iptables: the security groups need connection tracking,
which this kernel has only there), IPv6 off (guests get IPv4 only and
anti-spoofing drops their IPv6), secondary addresses promoted (a bridge
holds a DHCP and a router address of one subnet: removing the first must
not take the second along), no ICMP redirects. No default route: the
namespace reaches its own networks and the external subnet, nothing else.

The veth pair joins the machine to the stack's external network (like
DevStack's br-ex): the machine's end carries the external gateway address,
the namespace's end is enslaved to the external network's bridge by the
data plane. The machine's end forwards nothing it receives (a guest on the
external network must not use the machine as a router) and answers ARP only
for its own address.
"""
from __future__ import annotations

import contextlib
import ipaddress
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from pyroute2 import IPRoute, netns
from pyroute2.netlink.exceptions import NetlinkError

from networkd.dataplane import nsexec
from networkd.dataplane.contract import DataPlaneError

NAMESPACE_SYSCTLS = (
    "net.ipv4.ip_forward=1",
    "net.bridge.bridge-nf-call-iptables=1",
    "net.bridge.bridge-nf-call-ip6tables=0",
    "net.bridge.bridge-nf-call-arptables=0",
    "net.ipv4.conf.all.promote_secondaries=1",
    "net.ipv4.conf.default.promote_secondaries=1",
    "net.ipv4.conf.all.send_redirects=0",
    "net.ipv4.conf.default.send_redirects=0",
    "net.ipv6.conf.all.disable_ipv6=1",
    "net.ipv6.conf.default.disable_ipv6=1",
)


def exists(namespace: str) -> bool:
    return namespace in netns.listnetns()


def ensure(namespace: str, host_veth: str, ns_veth: str, gateway_cidr: str) -> None:
    """Create (or complete) the stack's namespace and its veth pair.

    namespace     the namespace's name (shared.netnames.stack_namespace)
    host_veth     the machine's end (shared.netnames.external_veth_host_end)
    ns_veth       the namespace's end (shared.netnames.EXTERNAL_VETH_NS_END)
    gateway_cidr  the external gateway's address with its prefix, put on the
                  machine's end, e.g. "172.24.4.1/24"
    Idempotent: whatever already exists and is right is kept. Raises
    DataPlaneError."""
    with _as_dataplane_error(f"namespace {namespace}"):
        _ensure(namespace, host_veth, ns_veth, gateway_cidr)


def _ensure(namespace: str, host_veth: str, ns_veth: str, gateway_cidr: str) -> None:
    interface = _interface(gateway_cidr)
    if not exists(namespace):
        netns.create(namespace)
    _load_bridge_netfilter()
    nsexec.run(namespace, ["sysctl", "-q", "-w", *NAMESPACE_SYSCTLS])
    with IPRoute(netns=namespace, flags=0) as inside, IPRoute() as machine:
        inside.link("set", index=_index(inside, "lo"), state="up")
        _ensure_pair(machine, inside, namespace, host_veth, ns_veth)
        host = _index(machine, host_veth)
        for address in machine.get_addr(index=host, family=2):
            if (address.get("address"), address["prefixlen"]) != (
                    str(interface.ip), interface.network.prefixlen):
                machine.addr("del", index=host, address=address.get("address"),
                             prefixlen=address["prefixlen"])
        if not machine.get_addr(index=host, family=2):
            machine.addr("add", index=host, address=str(interface.ip),
                         prefixlen=interface.network.prefixlen)
        _machine_sysctl(host_veth, "forwarding", "0")
        _machine_sysctl(host_veth, "arp_ignore", "1")
        machine.link("set", index=host, state="up")
        inside.link("set", index=_index(inside, ns_veth), state="up")


def _load_bridge_netfilter() -> None:
    """The bridge-nf-call-* switches exist only once the br_netfilter module
    is loaded: a fresh Debian machine (a lab VM) has not loaded it yet."""
    if Path("/proc/sys/net/bridge").is_dir():
        return
    done = subprocess.run(["modprobe", "br_netfilter"], capture_output=True, text=True)
    if done.returncode != 0:
        raise DataPlaneError("the br_netfilter kernel module could not be loaded (security "
                             f"groups need it): {done.stderr.strip()}")


def remove(namespace: str, host_veth: str | None = None) -> None:
    """Remove the namespace: end what still runs in it (its dnsmasq
    processes), delete the veth pair and the namespace. Devices inside go
    with it. Nothing happens for what is already gone. Raises
    DataPlaneError."""
    with _as_dataplane_error(f"namespace {namespace}"):
        _remove(namespace, host_veth)


def _remove(namespace: str, host_veth: str | None) -> None:
    if exists(namespace):
        _end_processes(namespace)
    if host_veth is not None:
        with IPRoute() as machine:
            for index in machine.link_lookup(ifname=host_veth):
                machine.link("del", index=index)
    if exists(namespace):
        netns.remove(namespace)


def _ensure_pair(machine: IPRoute, inside: IPRoute, namespace: str, host_veth: str,
                 ns_veth: str) -> None:
    """The veth pair, created unless both ends exist and are each other's peer."""
    host = machine.link_lookup(ifname=host_veth)
    peer = inside.link_lookup(ifname=ns_veth)
    if host and peer and inside.get_links(peer[0])[0].get("link") == host[0]:
        return
    for index in host:
        machine.link("del", index=index)
    for index in inside.link_lookup(ifname=ns_veth):
        inside.link("del", index=index)
    try:
        machine.link("add", ifname=host_veth, kind="veth",
                     peer={"ifname": ns_veth, "net_ns_fd": namespace})
    except Exception as error:  # pyroute2 raises NetlinkError, OSError...
        raise DataPlaneError(f"cannot create the veth pair {host_veth}/{ns_veth} "
                             f"into {namespace}: {error}") from error


def _end_processes(namespace: str) -> None:
    pids = [int(pid) for pid in
            nsexec.run(None, ["ip", "netns", "pids", namespace], check=False).stdout.split()]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
            time.sleep(0.05)
        pids = [pid for pid in pids if _alive(pid)]
        if not pids:
            return


def _alive(pid: int) -> bool:
    """Whether `pid` still runs (a zombie waiting for its parent does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


@contextlib.contextmanager
def _as_dataplane_error(what: str) -> Iterator[None]:
    try:
        yield
    except DataPlaneError:
        raise
    except (NetlinkError, OSError) as error:
        raise DataPlaneError(f"{what}: {error}") from error


def _machine_sysctl(interface: str, key: str, value: str) -> None:
    Path(f"/proc/sys/net/ipv4/conf/{interface}/{key}").write_text(value)


def _index(ipr: IPRoute, ifname: str) -> int:
    found = ipr.link_lookup(ifname=ifname)
    if not found:
        raise DataPlaneError(f"no interface {ifname}")
    return found[0]


def _interface(cidr: str) -> ipaddress.IPv4Interface:
    try:
        return ipaddress.IPv4Interface(cidr)
    except ValueError as error:
        raise DataPlaneError(f"not an IPv4 address with a prefix: {cidr!r}") from error
