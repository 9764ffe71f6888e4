"""Guest networking, end to end: real guests under QEMU, real bridges,
dnsmasq and nftables in the stack's namespace, checked from inside the
guests (their console) and from the machine's end of the external network.

The guests of this module:
  web    demo project, `private`, security group `web` (HTTP from anywhere,
         ICMP added and removed by the tests)
  far    admin project, its own network and router, ICMP from anywhere
  prober demo project, `private`, default group; pings the gateway, `web`
         and `far` every second and prints each change of state
  spoofer demo project, `private`; pings the gateway with its own address,
         then with an address and a MAC that are not its port's

Traffic from the test itself goes only to floating IPs, whose route is
checked to lead into the stack's namespace before anything is sent.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time

import pytest

from shared.netnames import tap_name
from tests.support.compute import Compute, b64, unique, wait_for
from tests.support.network import (
    dhcp_hosts,
    fixed_ip,
    host_end,
    links,
    networking_fixture,
    ruleset,
)

PROBE = """#!/bin/sh
# Ping each target every second; print a line whenever one changes state.
while true; do
  for target in {targets}; do
    if ping -c 1 -W 1 "$target" >/dev/null 2>&1; then now=up; else now=down; fi
    eval last=\\$state_$(echo "$target" | tr . _)
    if [ "$now" != "$last" ]; then
      echo "POCKETSTACK-PROBE: $target $now"
      eval state_$(echo "$target" | tr . _)=$now
    fi
  done
  sleep 1
done
"""

SPOOF = """#!/bin/sh
# Each step pings the gateway with what the port allows, or not.
gw={gateway}
until ping -c 1 -W 1 $gw >/dev/null 2>&1; do sleep 1; done
echo "POCKETSTACK-SPOOF: own up"
ip addr flush dev eth0
ip addr add {other_ip}/24 dev eth0
if ping -c 3 -W 1 $gw >/dev/null 2>&1; then r=up; else r=down; fi
echo "POCKETSTACK-SPOOF: other-ip $r"
ip addr flush dev eth0
ip addr add {own_ip}/24 dev eth0
ping -c 2 -W 1 $gw >/dev/null 2>&1
ip link set eth0 down
ip link set eth0 address fa:16:3e:de:ad:01
ip link set eth0 up
if ping -c 3 -W 1 $gw >/dev/null 2>&1; then r=up; else r=down; fi
echo "POCKETSTACK-SPOOF: other-mac $r"
"""

NET_LINE = r"^POCKETSTACK-NET: eth0 (\S+) ([0-9.]+)/(\d+)"


def assert_routed_into_stack(stack, address: str) -> None:
    """Refuse to send anything that would not go into the stack's namespace."""
    route = subprocess.run(["ip", "route", "get", address], capture_output=True,
                           text=True, timeout=10).stdout
    assert f"dev {host_end(stack)} " in route, f"{address} is not behind the stack: {route}"


def http_get(stack, address: str, timeout: float = 3.0) -> str | None:
    """GET / on port 80 of a floating IP; None when nothing answers."""
    assert_routed_into_stack(stack, address)
    try:
        with socket.create_connection((address, 80), timeout=timeout) as connection:
            connection.sendall(b"GET / HTTP/1.0\r\n\r\n")
            connection.settimeout(timeout)
            chunks = []
            while chunk := connection.recv(4096):
                chunks.append(chunk)
            return b"".join(chunks).decode(errors="replace")
    except OSError:
        return None


def probe_state(compute: Compute, server_id: str, target: str) -> str | None:
    states = re.findall(rf"^POCKETSTACK-PROBE: {re.escape(target)} (up|down)",
                        compute.console(server_id), re.MULTILINE)
    return states[-1] if states else None


def wait_probe(compute: Compute, server_id: str, target: str, state: str,
               timeout: float = 60) -> None:
    wait_for(lambda: probe_state(compute, server_id, target) == state, timeout,
             interval=1.0, what=f"{target} {state} from inside the prober")


def stays(compute: Compute, server_id: str, target: str, state: str,
          seconds: float = 8) -> bool:
    """The prober reports `state` for `target` (waiting for its first
    report) and keeps reporting it for `seconds`."""
    wait_for(lambda: probe_state(compute, server_id, target) is not None, 30, interval=1.0,
             what=f"a first report on {target} from the prober")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if probe_state(compute, server_id, target) != state:
            return False
        time.sleep(1)
    return True


net = networking_fixture("demo")
admin_net = networking_fixture("admin")


@pytest.fixture(scope="module")
def guests(stack, demo, admin, net, admin_net):
    """Boot the module's four guests at once (TCG boots are slow; in
    parallel they cost the time of one)."""
    public = admin_net.find("network", "public")
    private = net.find("network", "private")
    subnet = net.show("subnet", private["subnets"][0])
    gateway = subnet["gateway_ip"]

    web_group = net.security_group(
        unique("web"), {"protocol": "tcp", "port_range_min": 80, "port_range_max": 80,
                        "remote_ip_prefix": "0.0.0.0/0"})
    web = demo.create(name=unique("web"), networks=[{"uuid": private["id"]}],
                      security_groups=[{"name": web_group["id"]}])

    far_group = admin_net.security_group(unique("far"), {"protocol": "icmp",
                                                         "remote_ip_prefix": "0.0.0.0/0"})
    far_network, _ = admin_net.routed_network(unique("far"), "10.77.0.0/24", public["id"])
    far = admin.create(name=unique("far"), networks=[{"uuid": far_network["id"]}],
                       security_groups=[{"name": far_group["id"]}])

    web = demo.wait_status(web["id"], "ACTIVE")
    far = admin.wait_status(far["id"], "ACTIVE")
    targets = f"{gateway} {fixed_ip(web)} {fixed_ip(far)}"
    prober = demo.create(name=unique("prober"), networks=[{"uuid": private["id"]}],
                         config_drive=True, user_data=b64(PROBE.format(targets=targets)))
    spoofer_port = net.create("port", network_id=private["id"])
    own_ip = spoofer_port["fixed_ips"][0]["ip_address"]
    other_ip = str(int(own_ip.rsplit(".", 1)[1]) % 200 + 50)
    spoofer = demo.create(name=unique("spoofer"), networks=[{"port": spoofer_port["id"]}],
                          config_drive=True, user_data=b64(SPOOF.format(
                              gateway=gateway, own_ip=own_ip,
                              other_ip=own_ip.rsplit(".", 1)[0] + "." + other_ip)))
    for server in (web, far, prober, spoofer):
        compute = admin if server is far else demo
        compute.wait_console(server["id"], NET_LINE)
    return {"web": web, "far": far, "prober": demo.show(prober["id"]),
            "spoofer": demo.show(spoofer["id"]), "web_group": web_group,
            "gateway": gateway, "public": public, "spoofer_port": spoofer_port}


def test_a_guest_gets_its_fixed_ip_by_dhcp(demo, guests):
    server = guests["prober"]
    match = demo.wait_console(server["id"], NET_LINE)
    mac, address, prefixlen = match.groups()
    [entry] = [a for a in server["addresses"]["private"] if a["OS-EXT-IPS:type"] == "fixed"]
    assert (address, mac) == (entry["addr"], entry["OS-EXT-IPS-MAC:mac_addr"])
    assert prefixlen == "24" and mac.startswith("fa:16:3e:")


def test_security_group_rules_take_effect_on_running_guests(demo, net, guests):
    prober, web = guests["prober"]["id"], fixed_ip(guests["web"])
    wait_probe(demo, prober, guests["gateway"], "up")
    # `web` allows only HTTP: the prober's pings get no answer.
    assert stays(demo, prober, web, "down"), demo.console(prober)[-2000:]
    rule = net.rule(guests["web_group"]["id"], protocol="icmp",
                    remote_ip_prefix="0.0.0.0/0")
    wait_probe(demo, prober, web, "up", timeout=30)
    net.delete("security_group_rule", rule["id"])
    wait_probe(demo, prober, web, "down", timeout=30)


def test_a_guest_of_another_project_and_network_cannot_be_reached(demo, guests):
    prober = guests["prober"]["id"]
    wait_probe(demo, prober, guests["gateway"], "up")
    # `far` answers pings from anywhere, but no path leads to it.
    assert stays(demo, prober, fixed_ip(guests["far"]), "down", seconds=10)


def test_a_floating_ip_reaches_its_guest_until_disassociated(stack, demo, net, guests):
    web = guests["web"]
    [port] = net.list("port", device_id=web["id"])
    floating = net.create("floatingip", floating_network_id=guests["public"]["id"],
                          port_id=port["id"])
    address = floating["floating_ip_address"]
    page = wait_for(lambda: http_get(stack, address), 60, interval=1.0,
                    what=f"HTTP answer from {address}")
    assert web["name"] in page
    shown = demo.show(web["id"])["addresses"]["private"]
    assert [a["addr"] for a in shown if a["OS-EXT-IPS:type"] == "floating"] == [address]

    net.update("floatingip", floating["id"], port_id=None)
    wait_for(lambda: http_get(stack, address, timeout=2) is None, 30, interval=1.0,
             what=f"{address} unreachable after disassociation")
    assert not [a for a in demo.show(web["id"])["addresses"]["private"]
                if a["OS-EXT-IPS:type"] == "floating"]


def test_a_guest_sending_from_another_address_or_mac_gets_nothing_through(demo, guests):
    spoofer = guests["spoofer"]["id"]
    demo.wait_console(spoofer, r"^POCKETSTACK-SPOOF: other-mac", timeout=120)
    console = demo.console(spoofer)
    assert "POCKETSTACK-SPOOF: own up" in console
    assert "POCKETSTACK-SPOOF: other-ip down" in console
    assert "POCKETSTACK-SPOOF: other-mac down" in console


def test_kill_9_of_networkd_and_up_restore_connectivity(stack, demo, net, guests):
    web = guests["web"]
    [port] = net.list("port", device_id=web["id"])
    floating = net.create("floatingip", floating_network_id=guests["public"]["id"],
                          port_id=port["id"])
    address = floating["floating_ip_address"]
    wait_for(lambda: http_get(stack, address), 60, interval=1.0, what="HTTP via the FIP")
    rules_before = ruleset(stack)
    dnsmasq_before = dnsmasq_count(stack)

    # kill -9 of networkd: its gunicorn master and worker (the agent's
    # thread) at once, as a crash of the machine's service would.
    pid = int((stack.state_dir / "run" / "networkd.pid").read_text())
    group = os.getpgid(pid)
    os.killpg(group, signal.SIGKILL)
    wait_for(lambda: not process_group_alive(group), 10, what="networkd gone")
    result = stack.up()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "networkd" in result.stdout

    wait_for(lambda: http_get(stack, address), 60, interval=1.0, what="HTTP after restart")
    # Rebuilt from the database: same rules, one dnsmasq per DHCP subnet.
    assert normalised(ruleset(stack)) == normalised(rules_before)
    assert dnsmasq_count(stack) == dnsmasq_before
    # A lease renewal still works: the prober keeps seeing the gateway.
    wait_probe(demo, guests["prober"]["id"], guests["gateway"], "up")


def test_deleting_a_server_leaves_no_tap_lease_port_or_rule(stack, demo, net, guests):
    spoofer = guests["spoofer"]
    demo.wait_console(spoofer["id"], r"^POCKETSTACK-SPOOF: other-mac", timeout=120)
    private = net.find("network", "private")
    server = demo.create(name=unique("gone"), networks=[{"uuid": private["id"]}])
    demo.wait_status(server["id"], "ACTIVE")
    [port] = net.list("port", device_id=server["id"])
    tap, mac = tap_name(port["id"]), port["mac_address"]
    address = port["fixed_ips"][0]["ip_address"]
    wait_for(lambda: tap in links(stack), 30, what="tap plugged")
    assert mac in dhcp_hosts(stack) and address in ruleset(stack)

    demo.delete(server["id"])
    assert net.list("port", device_id=server["id"]) == []
    wait_for(lambda: tap not in links(stack), 30, what="tap gone")
    wait_for(lambda: mac not in dhcp_hosts(stack), 30, what="lease gone")
    wait_for(lambda: address not in ruleset(stack) and tap not in ruleset(stack), 30,
             what="rules gone")


def process_group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def dnsmasq_count(stack) -> int:
    out = subprocess.run(["pgrep", "-f", f"dnsmasq.*{stack.state_dir}"], capture_output=True,
                         text=True).stdout
    return len(out.split())


def normalised(rules: str) -> list[str]:
    """The ruleset without counters and handles, sorted (order of sets may vary)."""
    return sorted(re.sub(r"(counter packets \d+ bytes \d+|# handle \d+)", "", line).strip()
                  for line in rules.splitlines())
