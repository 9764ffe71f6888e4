"""Servers on networkd's networks, through the unmodified openstack client
and computed's API: real guests under QEMU, real ports, bridges and dnsmasq
in the stack's namespace. What the guest says on its console
(POCKETSTACK-NET lines of the tiny image) is checked against what computed
and networkd say (addresses, port list --server); which ports a server
made, took and gave back is read from networkd."""
from __future__ import annotations

import json
import re
import time

import pytest

from tests.support.compute import BOOT_TIMEOUT, Images, unique, wait_for
from tests.support.images import store_dir
from tests.support.network import Networking

pytestmark = [pytest.mark.compat, pytest.mark.e2e]

NET_LINE = r"^POCKETSTACK-NET: {nic} (\S+) ([0-9.]+)/(\d+)\s*$"


def as_json(result) -> dict | list:
    return json.loads(result.stdout)


def console(stack, server: str) -> str:
    return stack.openstack("console", "log", "show", server).stdout


def wait_console(stack, server: str, pattern: str, timeout: float = BOOT_TIMEOUT,
                 after: int = 0) -> re.Match:
    """The first match of `pattern` after offset `after` of the console."""
    regex = re.compile(pattern, re.MULTILINE)
    deadline = time.monotonic() + timeout
    while True:
        output = console(stack, server)
        match = regex.search(output, after)
        if match:
            return match
        if time.monotonic() > deadline:
            raise AssertionError(f"{pattern!r} not on {server}'s console:\n{output[-2000:]}")
        time.sleep(2)


def fixed(addresses: dict, network: str) -> list[dict]:
    return [a for a in addresses.get(network, []) if a["OS-EXT-IPS:type"] == "fixed"]


def heard(stack, line: str, timeout: float = 30) -> None:
    """`line` in computed's log (networkd sends its events from a thread of
    its own: they may come a moment after the port went ACTIVE)."""
    log = stack.state_dir / "log" / "computed.log"
    wait_for(lambda: line in log.read_text(errors="replace"), timeout,
             what=f"computed's log to say {line!r}")


@pytest.fixture(scope="module")
def net(stack):
    client = Networking(stack, "demo")
    yield client
    client.cleanup()


@pytest.fixture
def servers(stack):
    """Names of servers to delete after the test (whatever it did)."""
    made: list[str] = []
    yield made
    for name in made:
        stack.openstack("server", "delete", "--wait", name, check=False)


def create(stack, servers: list[str], name: str, *options: str, check: bool = True):
    servers.append(name)
    return stack.openstack("server", "create", "--image", "pocketstack-tiny", "--flavor",
                           "m1.nano", *options, name, "-f", "json", check=check)


def test_a_server_on_private_gets_its_address_by_dhcp(stack, demo, servers):
    name = unique("dhcp")
    create(stack, servers, name, "--network", "private", "--wait")
    shown = demo.show(as_json(stack.openstack("server", "show", name, "-f", "json"))["id"])
    [entry] = fixed(shown["addresses"], "private")
    match = wait_console(stack, name, NET_LINE.format(nic="eth0"))
    mac, address, prefix = match.groups()
    assert (address, mac, prefix) == (entry["addr"], entry["OS-EXT-IPS-MAC:mac_addr"], "24")
    [port] = as_json(stack.openstack("port", "list", "--server", name, "--long", "-f", "json"))
    assert port["MAC Address"] == mac and port["Status"] == "ACTIVE"
    assert port["Device Owner"] == "compute:nova"
    listed = as_json(stack.openstack("server", "list", "--long", "--name", name, "-f", "json"))
    assert listed[0]["Networks"] == {"private": [address]}
    assert shown["security_groups"] == [{"name": "default"}]


def test_without_a_network_the_projects_only_one_is_taken_else_it_is_ambiguous(
        stack, net, servers):
    name = unique("only")
    create(stack, servers, name, "--wait")
    addresses = as_json(stack.openstack("server", "show", name, "-f", "json"))["addresses"]
    assert list(addresses) == ["private"]

    network, subnet = net.network_with_subnet(unique("second"), "10.213.77.0/24")
    try:
        refused = create(stack, servers, unique("ambiguous"), check=False)
    finally:  # the other tests of this stack create servers without a network
        net.delete("subnet", subnet["id"])
        net.delete("network", network["id"])
    assert refused.returncode != 0
    assert "409" in refused.stderr
    assert "Multiple possible networks found, use a Network ID to be more specific." \
        in refused.stderr


def test_fixed_ip_port_and_security_group_then_delete_gives_back_only_what_it_made(
        stack, demo, net, servers):
    private = net.find("network", "private")
    theirs = net.create("port", network_id=private["id"], name=unique("theirs"))
    theirs_groups = theirs["security_groups"]
    group = net.security_group(unique("web"), {"protocol": "tcp", "port_range_min": 80,
                                               "port_range_max": 80})
    wanted_ip = "10.0.0.200"
    name = unique("nics")
    create(stack, servers, name, "--nic", f"net-id={private['id']},v4-fixed-ip={wanted_ip}",
           "--port", theirs["id"], "--security-group", group["name"], "--wait")
    server = as_json(stack.openstack("server", "show", name, "-f", "json"))

    made = [p for p in net.list("port", device_id=server["id"]) if p["id"] != theirs["id"]]
    assert [p["fixed_ips"][0]["ip_address"] for p in made] == [wanted_ip]
    assert made[0]["security_groups"] == [group["id"]]
    bound = net.show("port", theirs["id"])
    assert (bound["device_id"], bound["device_owner"]) == (server["id"], "compute:nova")
    assert bound["security_groups"] == theirs_groups  # a passed port keeps its own

    # Both NICs in the guest, in the order asked for, with what computed shows.
    first = wait_console(stack, name, NET_LINE.format(nic="eth0"))
    second = wait_console(stack, name, NET_LINE.format(nic="eth1"))
    guest = {first.group(1): first.group(2), second.group(1): second.group(2)}
    shown = demo.show(server["id"])
    assert guest == {a["OS-EXT-IPS-MAC:mac_addr"]: a["addr"]
                     for a in fixed(shown["addresses"], "private")}
    assert first.group(2) == wanted_ip and second.group(2) == \
        theirs["fixed_ips"][0]["ip_address"]
    assert sorted(g["name"] for g in shown["security_groups"]) == \
        sorted([group["name"], *(net.show("security_group", g)["name"]
                                 for g in theirs_groups)])

    # networkd told computed of each port as it plugged it (Neutron's nova notifier)
    for port_id in (made[0]["id"], theirs["id"]):
        heard(stack, f"received event network-vif-plugged-{port_id} for server {server['id']}")

    stack.openstack("server", "delete", "--wait", name)
    assert net.list("port", device_id=server["id"]) == []
    assert net.call("GET", f"/ports/{made[0]['id']}").status_code == 404
    kept = net.show("port", theirs["id"])
    assert (kept["device_id"], kept["device_owner"]) == ("", "")


@pytest.mark.parametrize("networks, status, message", [
    ([{"uuid": "6d0cc6b4-0000-4000-8000-00000000beef"}], 400,
     "Network 6d0cc6b4-0000-4000-8000-00000000beef could not be found."),
    ([{"port": "6d0cc6b4-0000-4000-8000-00000000beef"}], 400,
     "Port id 6d0cc6b4-0000-4000-8000-00000000beef could not be found."),
    ([{"uuid": "private-by-name"}], 400,
     "Bad networks format: network uuid is not in proper format (private-by-name)"),
    ("auto", 400, "'auto' is not of type 'array'"),
    ([{"uuid": "{private}", "tag": "nic1"}], 400, "('tag' was unexpected)"),
])
def test_bad_networks_are_refused_as_nova_refuses_them(demo, net, networks, status, message):
    private = net.find("network", "private")
    if isinstance(networks, list):
        networks = [{k: (private["id"] if v == "{private}" else v) for k, v in item.items()}
                    for item in networks]
    ports_before = len(net.list("port"))
    name = unique("bad")
    response = demo.create(name=name, networks=networks, expect=status)
    assert message in response.json()["badRequest"]["message"]
    assert name not in {s["name"] for s in demo.call("GET", "/servers").json()["servers"]}
    assert len(net.list("port")) == ports_before


def test_ports_in_use_taken_addresses_groups_and_external_networks(stack, demo, net,
                                                                   servers):
    private = net.find("network", "private")
    public = net.find("network", "public")
    name = unique("holder")
    create(stack, servers, name, "--network", "private", "--wait")
    [held] = net.list("port", device_id=as_json(stack.openstack(
        "server", "show", name, "-f", "json"))["id"])
    address = held["fixed_ips"][0]["ip_address"]
    cases = [
        ({"networks": [{"port": held["id"]}]}, 409, "conflictingRequest",
         f"Port {held['id']} is still in use."),
        ({"networks": [{"uuid": private["id"], "fixed_ip": address}]}, 400, "badRequest",
         f"Fixed IP address {address} is already in use on instance"),
        ({"networks": [{"uuid": private["id"]}], "security_groups": [{"name": "no-such"}]},
         400, "badRequest", "Unable to find security_group with name or id 'no-such'"),
        ({"networks": [{"uuid": public["id"]}]}, 403, "forbidden",
         f"It is not allowed to create an interface on external network {public['id']}"),
    ]
    ports_before = len(net.list("port"))
    for fields, status, fault, message in cases:
        response = demo.create(name=unique("refused"), expect=status, **fields)
        assert message in response.json()[fault]["message"], response.text
    assert len(net.list("port")) == ports_before


def test_a_failed_build_gives_its_ports_back(stack, demo, net):
    """The image's data no longer matches its checksum: the build fails at
    the image step, after its ports were made and bound."""
    images = Images(stack, demo.token)
    image = images.create(b"\0" * 65536, disk_format="raw")
    (store_dir(stack) / image["id"]).write_bytes(b"\1" * 65536)
    private = net.find("network", "private")
    theirs = net.create("port", network_id=private["id"], name=unique("theirs"))
    try:
        made = demo.create(image=image["id"], networks=[{"uuid": private["id"]},
                                                        {"port": theirs["id"]}])
        server = demo.wait_status(made["id"], "ERROR")
        assert "does not match its sha512 hash" in server["fault"]["message"]
        events = demo.events(made["id"])
        assert "compute.instance.network.allocated" in events
        assert net.list("port", device_id=made["id"]) == []
        kept = net.show("port", theirs["id"])
        assert (kept["device_id"], kept["device_owner"], kept["status"]) == ("", "", "DOWN")
        assert server["addresses"] == {}
        demo.delete(made["id"])
    finally:
        images.delete(image["id"])


def test_interfaces_attach_and_detach_seen_in_the_guest(stack, demo, net, servers):
    name = unique("plug")
    create(stack, servers, name, "--network", "private", "--wait")
    server_id = as_json(stack.openstack("server", "show", name, "-f", "json"))["id"]
    booted = wait_console(stack, name, NET_LINE.format(nic="eth0"))

    # A network: computed makes the port, the guest sees eth1 get its lease.
    stack.openstack("server", "add", "network", name, "private")
    added = wait_console(stack, name, NET_LINE.format(nic="eth1"), after=booted.end())
    [made] = [p for p in net.list("port", device_id=server_id)
              if p["mac_address"] == added.group(1)]
    assert made["fixed_ips"][0]["ip_address"] == added.group(2)
    listed = as_json(stack.openstack("port", "list", "--server", name, "-f", "json"))
    assert {p["ID"] for p in listed} >= {made["id"]} and len(listed) == 2
    attachments = demo.call("GET", f"/servers/{server_id}/os-interface").json()
    assert sorted(attachments["interfaceAttachments"][1]) == [
        "fixed_ips", "mac_addr", "net_id", "port_id", "port_state"]
    assert [a["port_state"] for a in attachments["interfaceAttachments"]] == ["ACTIVE"] * 2

    stack.openstack("server", "remove", "port", name, made["id"])
    gone = wait_console(stack, name, r"^POCKETSTACK-NET: eth1 gone\s*$", after=added.end())
    wait_for(lambda: net.call("GET", f"/ports/{made['id']}").status_code == 404, 30,
             what="the port computed made deleted")

    # The user's own port: taken, then given back as it was.
    theirs = net.create("port", network_id=made["network_id"], name=unique("theirs"))
    stack.openstack("server", "add", "port", name, theirs["id"])
    again = wait_console(stack, name, NET_LINE.format(nic=r"eth\d"), after=gone.end())
    assert again.groups()[:2] == (theirs["mac_address"],
                                  theirs["fixed_ips"][0]["ip_address"])
    stack.openstack("server", "remove", "port", name, theirs["id"])
    wait_console(stack, name, r"^POCKETSTACK-NET: eth\d gone\s*$", after=again.end())
    wait_for(lambda: net.show("port", theirs["id"])["device_id"] == "", 30,
             what="the user's port unbound")
    assert len(as_json(stack.openstack("port", "list", "--server", name, "-f", "json"))) == 1


def test_a_floating_ip_follows_the_fixed_one_in_addresses(stack, demo, net, servers):
    name = unique("fip")
    create(stack, servers, name, "--network", "private", "--wait")
    floating = as_json(stack.openstack("floating", "ip", "create", "public", "-f", "json"))
    try:
        stack.openstack("server", "add", "floating", "ip", name,
                        floating["floating_ip_address"])
        server_id = as_json(stack.openstack("server", "show", name, "-f", "json"))["id"]
        entries = demo.show(server_id)["addresses"]["private"]
        assert [(e["OS-EXT-IPS:type"], e["addr"]) for e in entries][1:] == [
            ("floating", floating["floating_ip_address"])]
        assert entries[0]["OS-EXT-IPS-MAC:mac_addr"] == entries[1]["OS-EXT-IPS-MAC:mac_addr"]
        ips = demo.call("GET", f"/servers/{server_id}/ips").json()["addresses"]
        assert ips == {"private": [{"version": 4, "addr": e["addr"]} for e in entries]}
    finally:
        stack.openstack("floating", "ip", "delete", floating["id"], check=False)


def test_a_server_started_again_is_plugged_again(stack, demo, net, servers):
    """stop and start: libvirt makes the tap anew, networkd plugs it again
    and the guest gets the same address."""
    name = unique("again")
    create(stack, servers, name, "--network", "private", "--wait")
    first = wait_console(stack, name, NET_LINE.format(nic="eth0"))
    server_id = as_json(stack.openstack("server", "show", name, "-f", "json"))["id"]
    stack.openstack("server", "stop", name)
    demo.wait_status(server_id, "SHUTOFF")
    wait_for(lambda: net.list("port", device_id=server_id)[0]["status"] == "DOWN", 30,
             what="the port down without its tap")
    stack.openstack("server", "start", name)
    demo.wait_status(server_id, "ACTIVE")
    again = wait_console(stack, name, NET_LINE.format(nic="eth0"), after=first.end())
    assert again.groups() == first.groups()
    assert net.list("port", device_id=server_id)[0]["status"] == "ACTIVE"
