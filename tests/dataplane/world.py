"""A stack's data plane with guests, made of namespaces only (no VMs).

`World` is a stack namespace made by namespace.ensure() (its own name, its
own external veth whose machine end holds a free 172.31.X.1/24), a
LinuxDataPlane on it, and "guest" namespaces (tests.support.guest_namespace):
each joined to the machine's namespace by a veth pair whose machine end is
named like the tap libvirt would create for the port
(shared.netnames.tap_name), so plug() moves it exactly as it moves a real
tap. The guest end, `eth0`, carries the MAC the test chooses. Everything
goes in close(), also after a failure.

The states the tests apply are built with `Topology`, which keeps the
current DesiredState and changes it one step at a time.
"""
from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import os
import secrets
import signal
import subprocess
import textwrap
import time
import uuid
from pathlib import Path

from networkd.dataplane import namespace
from networkd.dataplane.linux import LinuxDataPlane
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
from shared.netnames import EXTERNAL_VETH_NS_END, bridge_name, tap_name
from tests.support.guest_namespace import GuestNamespace, run

# A TCP echo service: one line in, the same line back, for each connection.
ECHO_SERVER = "busybox nc -ll -p {port} -e /bin/cat"

# A client that holds one TCP connection open and reports each round trip.
HOLD_CONNECTION = textwrap.dedent("""\
    import socket, sys, time
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2)
    s.settimeout(0.5)
    while True:
        try:
            s.sendall(b"x\\n")
            print("ok" if s.recv(16) else "closed", flush=True)
        except OSError as error:
            print("fail", error, flush=True)
        time.sleep(0.2)
    """)


def ping(address: str, namespace: str | None = None) -> bool:
    """Whether any of three pings (0.2 s apart) from `namespace` (None: the
    machine's) is answered within a second after the last."""
    prefix = ["ip", "netns", "exec", namespace] if namespace else []
    return run(*prefix, "busybox", "ping", "-c", "3", "-i", "0.2", "-W", "1", address,
               check=False, timeout=15).returncode == 0


def free_external_cidr() -> ipaddress.IPv4Network:
    """A /24 in 172.31.0.0/16 that no route of the machine touches."""
    routes = run("ip", "-4", "route", "show", "table", "all").stdout.split()
    taken = [ipaddress.IPv4Network(word, strict=False) for word in routes
             if word[0].isdigit() and "/" in word]
    candidates = list(ipaddress.IPv4Network("172.31.0.0/16").subnets(new_prefix=24))[100:]
    start = secrets.randbelow(len(candidates))
    for candidate in candidates[start:] + candidates[:start]:
        if not any(candidate.overlaps(net) for net in taken):
            return candidate
    raise AssertionError("no free /24 in 172.31.0.0/16 on this machine")


class Guest(GuestNamespace):
    """A namespace standing for a guest of `port`: eth0 is its NIC (sh,
    dhcp, http: tests.support.guest_namespace)."""

    def __init__(self, name: str, port: Port, world: World, mac: str | None = None):
        super().__init__(name, port.tap, mac or port.mac_address, world.root)
        self.port = port
        self.world = world

    def popen(self, *argv: str, output: Path) -> subprocess.Popen:
        return self.world.popen("ip", "netns", "exec", self.name, *argv, output=output)

    def set_mac(self, mac: str) -> None:
        self.sh("ip", "link", "set", "eth0", "down")
        self.sh("ip", "link", "set", "eth0", "address", mac)
        self.sh("ip", "link", "set", "eth0", "up")

    def configure(self, cidr: str, gateway: str | None = None, mac: str | None = None) -> None:
        """Set eth0's address (and MAC) by hand, as a guest may."""
        self.sh("ip", "addr", "flush", "dev", "eth0")
        if mac:
            self.set_mac(mac)
        self.sh("ip", "addr", "add", cidr, "dev", "eth0")
        if gateway:
            self.sh("ip", "route", "replace", "default", "via", gateway)

    def ping(self, address: str) -> bool:
        """Whether any of three pings (0.2 s apart) is answered within a second."""
        return ping(address, self.name)

    def tcp(self, address: str, port: int) -> bool:
        """Whether a TCP connection to address:port carries a line there and back."""
        code = ("import socket,sys\n"
                "s=socket.create_connection((sys.argv[1],int(sys.argv[2])),timeout=2)\n"
                "s.settimeout(2); s.sendall(b'hi\\n'); assert s.recv(8)==b'hi\\n'")
        return self.sh("python3", "-c", code, address, str(port), check=False).returncode == 0

    def serve_echo(self, port: int) -> None:
        self.popen("sh", "-c", ECHO_SERVER.format(port=port),
                   output=self.world.root / f"{self.name}-echo{port}.log")
        deadline = time.monotonic() + 5
        while f":{port} " not in self.sh("ss", "-ltn").stdout:
            assert time.monotonic() < deadline, "echo server did not start"
            time.sleep(0.05)


class World:
    def __init__(self, root: Path):
        self.root = root
        self.tag = secrets.token_hex(4)
        self.namespace = f"psdp-{self.tag}"
        self.host_veth = f"psdp{self.tag}"
        self.external = free_external_cidr()
        self.gateway = str(self.external.network_address + 1)
        self.guests: list[Guest] = []
        self.processes: list[subprocess.Popen] = []
        namespace.ensure(self.namespace, self.host_veth, EXTERNAL_VETH_NS_END,
                         f"{self.gateway}/{self.external.prefixlen}")
        self.plane = self.new_plane()

    def new_plane(self) -> LinuxDataPlane:
        return LinuxDataPlane(self.namespace, self.root / "networkd")

    def external_address(self, host: int) -> str:
        return str(self.external.network_address + host)

    # --- guests --------------------------------------------------------------------------
    def guest(self, port: Port, mac: str | None = None) -> Guest:
        """A guest namespace whose NIC is a tap-named veth end in the
        machine's namespace, not yet plugged."""
        guest = Guest(f"psdp-{self.tag}-g{len(self.guests)}", port, self, mac)
        self.guests.append(guest)
        return guest

    def popen(self, *argv: str, output: Path) -> subprocess.Popen:
        """A background command writing to `output`, killed in close()."""
        with output.open("w") as sink:
            process = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        self.processes.append(process)
        return process

    def in_stack(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        return run("ip", "netns", "exec", self.namespace, *argv, check=check)

    def ruleset(self) -> str:
        return self.in_stack("nft", "list", "ruleset").stdout

    def dnsmasq_pids(self) -> list[int]:
        """The dnsmasq processes running in the stack's namespace."""
        pids = run("ip", "netns", "pids", self.namespace).stdout.split()
        return sorted(int(pid) for pid in pids
                      if Path(f"/proc/{pid}/comm").read_text().strip() == "dnsmasq")

    def close(self) -> None:
        """Remove everything, each step even when an earlier one failed."""
        steps = [lambda p=p: _end(p) for p in self.processes]
        steps.append(self.plane.teardown)
        steps += [guest.close for guest in self.guests]
        steps.append(lambda: namespace.remove(self.namespace, self.host_veth))
        failures = []
        for step in steps:
            try:
                step()
            except Exception as error:  # reported once the rest is done
                failures.append(error)
        if failures:
            raise AssertionError(f"cleanup failed: {failures}")


def _end(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def new_id() -> str:
    return str(uuid.uuid4())


class Topology:
    """A DesiredState under construction: networks with one subnet each,
    routers, ports, security groups and floating IPs, by the tests' names."""

    def __init__(self, world: World):
        self.world = world
        self.state = DesiredState()
        self.subnets: dict[str, Subnet] = {}
        self.networks: dict[str, Network] = {}
        self.ports: dict[str, Port] = {}
        self.groups: dict[str, SecurityGroup] = {}
        self.routers: dict[str, Router] = {}

    def network(self, name: str, cidr: str, external: bool = False, dhcp: bool = True,
                gateway: bool = True, **subnet_fields) -> Network:
        """A network with one subnet: gateway .1 (unless `gateway` is
        false), DHCP port .2 (if `dhcp`)."""
        net = ipaddress.IPv4Network(cidr)
        subnet = Subnet(id=new_id(), cidr=cidr,
                        gateway_ip=str(net.network_address + 1) if gateway else None,
                        enable_dhcp=dhcp, dhcp_ip=str(net.network_address + 2) if dhcp else None,
                        **subnet_fields)
        network_id = new_id()
        network = Network(id=network_id, bridge=bridge_name(network_id), external=external,
                          subnets=(subnet,))
        self.subnets[name] = subnet
        self.networks[name] = network
        self._set(networks=(*self.state.networks, network))
        return network

    def remove_network(self, name: str) -> None:
        """The network goes, and with it every router's interface on it."""
        network = self.networks.pop(name)
        self.subnets.pop(name)
        self.routers = {key: dataclasses.replace(router, interfaces=tuple(
            i for i in router.interfaces if i.network_id != network.id))
            for key, router in self.routers.items()}
        self._set(networks=tuple(n for n in self.state.networks if n.id != network.id),
                  routers=tuple(self.routers.values()))

    def external(self) -> Network:
        return self.network("public", str(self.world.external), external=True, dhcp=False)

    def router(self, name: str, *internal: str, gateway_host: int | None = None) -> Router:
        interfaces = tuple(
            RouterInterface(self.networks[n].id, self.subnets[n].id,
                            self.subnets[n].gateway_ip or "",
                            ipaddress.IPv4Network(self.subnets[n].cidr).prefixlen)
            for n in internal)
        gateway = None
        if gateway_host is not None:
            gateway = RouterGateway(self.networks["public"].id, self.subnets["public"].id,
                                    self.world.external_address(gateway_host),
                                    self.world.external.prefixlen)
        router = Router(id=new_id(), interfaces=interfaces, gateway=gateway)
        self.routers[name] = router
        self._set(routers=(*self.state.routers, router))
        return router

    def group(self, name: str, *rules: dict) -> SecurityGroup:
        """A security group; a rule's `remote_group` names a group (this one too)."""
        group_id = new_id()
        self.groups[name] = SecurityGroup(id=group_id)
        group = SecurityGroup(id=group_id, rules=tuple(self._rule(rule) for rule in rules))
        self._replace_group(group)
        return group

    def _rule(self, fields: dict) -> SecurityGroupRule:
        fields = dict(fields)
        if "remote_group" in fields:
            fields["remote_group_id"] = self.groups[fields.pop("remote_group")].id
        return SecurityGroupRule(id=new_id(), **fields)

    def add_rule(self, group: str, **rule) -> SecurityGroupRule:
        new = self._rule(rule)
        self._replace_group(dataclasses.replace(
            self.groups[group], rules=(*self.groups[group].rules, new)))
        return new

    def remove_rule(self, group: str, rule_id: str) -> None:
        self._replace_group(dataclasses.replace(self.groups[group], rules=tuple(
            r for r in self.groups[group].rules if r.id != rule_id)))

    def port(self, name: str, network: str, host: int, groups: tuple[str, ...] = (),
             **fields) -> Port:
        port_id = new_id()
        subnet = self.subnets[network]
        ip = str(ipaddress.IPv4Network(subnet.cidr).network_address + host)
        port = Port(id=port_id, network_id=self.networks[network].id,
                    mac_address="fa:16:3e:" + ":".join(f"{b:02x}" for b in os.urandom(3)),
                    fixed_ips=((subnet.id, ip),), tap=tap_name(port_id),
                    security_group_ids=tuple(self.groups[g].id for g in groups),
                    hostname="host-" + ip.replace(".", "-"), **fields)
        self.ports[name] = port
        self._set(ports=(*self.state.ports, port))
        return port

    def change_port(self, name: str, **fields) -> Port:
        old = self.ports[name]
        port = dataclasses.replace(old, **fields)
        self.ports[name] = port
        self._set(ports=tuple(port if p.id == old.id else p for p in self.state.ports))
        return port

    def remove_port(self, name: str) -> None:
        port = self.ports.pop(name)
        self._set(ports=tuple(p for p in self.state.ports if p.id != port.id))

    def floating_ip(self, port: str, router: str, host: int) -> FloatingIP:
        floating = FloatingIP(id=new_id(), floating_ip_address=self.world.external_address(host),
                              fixed_ip_address=self.ports[port].fixed_ips[0][1],
                              port_id=self.ports[port].id, router_id=self.routers[router].id,
                              floating_network_id=self.networks["public"].id)
        self._set(floating_ips=(*self.state.floating_ips, floating))
        return floating

    def remove_floating_ip(self, floating: FloatingIP) -> None:
        self._set(floating_ips=tuple(f for f in self.state.floating_ips if f.id != floating.id))

    def ip(self, port: str) -> str:
        return self.ports[port].fixed_ips[0][1]

    def _replace_group(self, group: SecurityGroup) -> None:
        self.groups = {name: (group if g.id == group.id else g)
                       for name, g in self.groups.items()}
        others = tuple(g for g in self.state.security_groups if g.id != group.id)
        self._set(security_groups=(*others, group))

    def _set(self, **changes) -> None:
        self.state = dataclasses.replace(self.state, **changes)
