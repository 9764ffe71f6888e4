"""DHCP: one dnsmasq (Debian's dnsmasq-base) per network with DHCP subnets.

Each serves static leases only: a `static` dhcp-range per subnet and a
hosts file listing the ports' MACs and fixed IPs (IPAM stays in networkd's
database), so a MAC it does not know gets nothing. It listens on the
network's bridge only, at the subnets' DHCP port addresses, with DNS off
(--port=0). Options per subnet: router (the gateway, or none), DNS
servers, classless static routes (121 and 249), MTU.

The classless static routes are the subnet's host routes, then
169.254.169.254/32 via the subnet's DHCP port address, where the stack's
namespace answers for the metadata service (Neutron's DHCP agent does so on
networks without a router, enable_isolated_metadata; here every subnet gets
it, routed or not), then the default route via the gateway when there is
one: a client that takes option 121 ignores the router option (RFC 3442),
so the default route must be among them. A host route to 0.0.0.0/0 stands
for the gateway (router option and default route) when the subnet has none,
as in Neutron; a host route of the subnet's own to the metadata address is
kept instead of networkd's.

One process per network, not per subnet: every dnsmasq on a bridge binds
0.0.0.0:67 on it, and a renewal sent by unicast reaches only one of them.

Files, under <root>/<network id>/: hosts, opts, pid, log. A change of the
hosts or options file is announced by SIGHUP (dnsmasq re-reads both); a
change of the command line (subnets, addresses) restarts the process, and
so does a host line that went away: dnsmasq keeps the leases it gave in
memory, and would refuse a removed port's address to the next port given
it ("not using configured address ... because it is leased to ...";
Neutron runs dhcp_release for this, which Debian ships apart). A
process is recognised by its pid file, its command line and its network
namespace, so a restarted networkd finds the ones it started before, and
one left in an older namespace of the same name is replaced.

dnsmasq runs as root (--user=root): it must re-read its files on SIGHUP,
and they live in the stack's state directory, which only root may enter.
"""
from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import re
import shutil
import signal
import time
from pathlib import Path

from networkd.dataplane import nsexec
from networkd.dataplane.contract import DataPlaneError
from networkd.dataplane.model import DesiredState, Network, Port, Subnet
from shared.metadata_proxy import METADATA_ADDRESS

LOG = logging.getLogger(__name__)
LEASE_SECONDS = 86400
SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
HOSTNAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
DEFAULT_ROUTE = "0.0.0.0/0"
METADATA_ROUTE = f"{METADATA_ADDRESS}/32"


def dhcp_subnets(network: Network) -> list[Subnet]:
    return [s for s in network.subnets if s.enable_dhcp and s.dhcp_ip]


def hosts_file(network: Network, ports: list[Port]) -> str:
    """dnsmasq's dhcp-hostsfile: `mac,host-10-0-0-5,10.0.0.5` for each
    fixed IP of a port of `network` in one of its DHCP subnets."""
    served = {subnet.id for subnet in dhcp_subnets(network)}
    lines = []
    for port in sorted(ports, key=lambda p: p.id):
        if port.network_id != network.id:
            continue
        for position, (subnet_id, ip) in enumerate(port.fixed_ips):
            if subnet_id not in served:
                continue
            address = str(ipaddress.IPv4Address(ip))
            default = "host-" + address.replace(".", "-")
            name = port.hostname if position == 0 and HOSTNAME.match(port.hostname) else default
            lines.append(f"{_mac(port)},{name},{address}")
    return "".join(line + "\n" for line in lines)


def opts_file(network: Network) -> str:
    """dnsmasq's dhcp-optsfile: each DHCP subnet's options, by tag."""
    lines = []
    for subnet in dhcp_subnets(network):
        tag = f"tag:{_tag(subnet)}"
        gateway = default_gateway(subnet)
        # An empty router option stops dnsmasq offering its own address.
        lines.append(f"{tag},option:router" + (f",{gateway}" if gateway else ""))
        if subnet.dns_nameservers:
            servers = ",".join(str(ipaddress.IPv4Address(s)) for s in subnet.dns_nameservers)
            lines.append(f"{tag},option:dns-server,{servers}")
        routes = ",".join(f"{destination},{nexthop}"
                          for destination, nexthop in classless_routes(subnet))
        lines.append(f"{tag},option:classless-static-route,{routes}")
        lines.append(f"{tag},249,{routes}")
        if network.mtu != 1500:
            lines.append(f"{tag},option:mtu,{network.mtu}")
    return "".join(line + "\n" for line in lines)


def classless_routes(subnet: Subnet) -> list[tuple[str, str]]:
    """The (destination, next hop) pairs of a DHCP subnet's options 121 and
    249: its host routes, the metadata address via its DHCP port, the
    default route via its gateway (see the module's docstring)."""
    routes = [(network, hop) for network, hop in _host_routes(subnet) if network != DEFAULT_ROUTE]
    if subnet.dhcp_ip and not any(network == METADATA_ROUTE for network, _ in routes):
        routes.append((METADATA_ROUTE, str(ipaddress.IPv4Address(subnet.dhcp_ip))))
    gateway = default_gateway(subnet)
    if gateway:
        routes.append((DEFAULT_ROUTE, gateway))
    return routes


def default_gateway(subnet: Subnet) -> str | None:
    """The subnet's gateway, else the next hop of its host route to
    0.0.0.0/0, else None."""
    if subnet.gateway_ip:
        return str(ipaddress.IPv4Address(subnet.gateway_ip))
    return next((hop for network, hop in _host_routes(subnet) if network == DEFAULT_ROUTE), None)


def _host_routes(subnet: Subnet) -> list[tuple[str, str]]:
    return [(str(ipaddress.IPv4Network(destination)), str(ipaddress.IPv4Address(nexthop)))
            for destination, nexthop in subnet.host_routes]


def command(network: Network, directory: Path) -> list[str]:
    """The dnsmasq command line serving `network` from `directory`."""
    subnets = dhcp_subnets(network)
    argv = ["dnsmasq", "--conf-file=/dev/null", "--user=root", "--bind-interfaces",
            f"--interface={network.bridge}", "--except-interface=lo"]
    argv += [f"--listen-address={ipaddress.IPv4Address(s.dhcp_ip)}" for s in subnets]
    argv += ["--port=0"]
    for subnet in subnets:
        net = ipaddress.IPv4Network(subnet.cidr, strict=False)
        argv.append(f"--dhcp-range=set:{_tag(subnet)},{net.network_address},static,"
                    f"{net.netmask},{LEASE_SECONDS}s")
    argv += [f"--dhcp-hostsfile={directory / 'hosts'}", f"--dhcp-optsfile={directory / 'opts'}",
             "--leasefile-ro", "--no-hosts", "--no-resolv", f"--pid-file={directory / 'pid'}",
             "--dhcp-authoritative", f"--log-facility={directory / 'log'}"]
    return argv


class DhcpServers:
    """The dnsmasq processes of one namespace, with their files under `root`."""

    def __init__(self, namespace: str, root: Path):
        self.namespace = namespace
        self.root = Path(root)

    def sync(self, state: DesiredState) -> None:
        """Start, reload, restart or stop processes until each network with
        a DHCP subnet has exactly one, serving `state`'s ports."""
        wanted = {n.id: n for n in state.networks if dhcp_subnets(n)}
        if self.root.is_dir():
            for directory in sorted(self.root.iterdir()):
                if directory.name not in wanted:
                    self._retire(directory)
        failures = []
        for network in wanted.values():
            try:
                self._serve(network, list(state.ports))
            except (DataPlaneError, OSError) as error:   # the other networks still get served
                failures.append(f"network {network.id}: {error}")
        if failures:
            raise DataPlaneError("dhcp: " + "; ".join(failures))

    def stop_all(self) -> None:
        if self.root.is_dir():
            for directory in sorted(self.root.iterdir()):
                self._retire(directory)

    def pid(self, network_id: str) -> int | None:
        """The running dnsmasq of a network (None: none runs)."""
        return self._running(self.root / _safe(network_id))

    # --- one network ----------------------------------------------------------------------
    def _serve(self, network: Network, ports: list[Port]) -> None:
        directory = self.root / _safe(network.id)
        directory.mkdir(parents=True, exist_ok=True)
        hosts = hosts_file(network, ports)
        released = _removed_lines(directory / "hosts", hosts)
        changed = _write(directory / "hosts", hosts)
        changed |= _write(directory / "opts", opts_file(network))
        argv = command(network, directory)
        pid = self._running(directory)
        if pid is not None and (_cmdline(pid) != argv or released):
            LOG.info("dnsmasq of network %s: %s, restarting", network.id,
                     "leases released" if released else "configuration changed")
            _stop(pid)
            pid = None
        if pid is None:
            self._start(network, directory, argv)
        elif changed:
            LOG.info("dnsmasq of network %s: reloading its hosts and options", network.id)
            os.kill(pid, signal.SIGHUP)

    def _start(self, network: Network, directory: Path, argv: list[str]) -> None:
        (directory / "pid").unlink(missing_ok=True)
        LOG.info("starting dnsmasq for network %s on %s", network.id, network.bridge)
        nsexec.run(self.namespace, argv)
        if _cmdline(self._running(directory) or 0) != argv:
            raise DataPlaneError(f"dnsmasq for network {network.id} did not stay up "
                                 f"(see {directory / 'log'})")

    def _retire(self, directory: Path) -> None:
        pid = self._running(directory)
        if pid is not None:
            LOG.info("stopping dnsmasq of network %s", directory.name)
            _stop(pid)
        shutil.rmtree(directory, ignore_errors=True)

    def _running(self, directory: Path) -> int | None:
        """The pid in `directory`'s pid file if that process is a dnsmasq
        using this pid file, in our namespace."""
        try:
            pid = int((directory / "pid").read_text().strip())
        except (OSError, ValueError):
            return None
        cmdline = _cmdline(pid)
        if not cmdline or cmdline[0] != "dnsmasq" or \
                f"--pid-file={directory / 'pid'}" not in cmdline:
            return None
        if not _in_namespace(pid, self.namespace):
            LOG.info("dnsmasq %s runs in an older namespace %s: replacing it", pid,
                     self.namespace)
            _stop(pid)
            return None
        return pid


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return raw.decode(errors="replace").split("\0")[:-1]


def _in_namespace(pid: int, namespace: str) -> bool:
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino == os.stat(f"/run/netns/{namespace}").st_ino
    except OSError:
        return False


def _stop(pid: int) -> None:
    for sig, wait in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 3.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not _cmdline(pid):
                return
            time.sleep(0.02)


def _removed_lines(path: Path, text: str) -> bool:
    """Whether `path` holds a line that `text` no longer has."""
    try:
        old = set(path.read_text().splitlines())
    except OSError:
        return False
    return bool(old - set(text.splitlines()))


def _write(path: Path, text: str) -> bool:
    """Replace `path` with `text` (atomically) unless it holds it already;
    returns whether it changed."""
    with contextlib.suppress(OSError):
        if path.read_text() == text:
            return False
    temporary = path.with_name(path.name + ".new")
    temporary.write_text(text)
    temporary.replace(path)
    return True


def _tag(subnet: Subnet) -> str:
    return f"subnet-{_safe(subnet.id)}"


def _safe(identifier: str) -> str:
    """An id, checked to be fit for a file name and a dnsmasq tag."""
    if not SAFE_ID.match(identifier):
        raise DataPlaneError(f"not a usable id: {identifier!r}")
    return identifier


def _mac(port: Port) -> str:
    mac = port.mac_address.lower()
    if not re.match(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$", mac):
        raise DataPlaneError(f"port {port.id}: not a MAC address: {port.mac_address!r}")
    return mac
