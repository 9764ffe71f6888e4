"""Ports over HTTP: addresses from the pools, MACs, the filters the
clients send, updates, bindings (admins and services only), the project's
default security group, and every bad input with Neutron's answer."""
from __future__ import annotations

import pytest

from tests.support.network import Networking, networking_fixture
from tests.support.network_api import cidr, error, unique

OCTET = 203


demo = networking_fixture("demo")


admin = networking_fixture("admin")


@pytest.fixture
def net(demo):
    """A network with one /24 subnet without DHCP: addresses start at .2."""
    network = demo.create("network", name=unique("ports"))
    block = cidr(OCTET)
    subnet = demo.create("subnet", network_id=network["id"], cidr=block, ip_version=4,
                         enable_dhcp=False)
    return network, subnet, block.rsplit(".", 1)[0]


def post_port(client: Networking, **fields):
    return client.call("POST", "/ports", json={"port": fields})


def test_a_port_gets_the_lowest_free_address_and_a_fa16_3e_mac(demo, net):
    network, subnet, base = net
    one = demo.create("port", network_id=network["id"], name="one")
    two = demo.create("port", network_id=network["id"])
    assert one["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": f"{base}.2"}]
    assert two["fixed_ips"][0]["ip_address"] == f"{base}.3"
    for port in (one, two):
        assert port["mac_address"].startswith("fa:16:3e:")
        assert port["status"] == "DOWN" and port["admin_state_up"] is True
        assert port["device_id"] == "" and port["device_owner"] == ""
        for key in ("allowed_address_pairs", "extra_dhcp_opts", "tags", "security_groups"):
            assert isinstance(port[key], list), key
        assert port["port_security_enabled"] is True
    assert one["mac_address"] != two["mac_address"]
    assert demo.show("port", one["id"]) == one
    # Freed addresses are given again.
    demo.delete("port", one["id"])
    three = demo.create("port", network_id=network["id"])
    assert three["fixed_ips"][0]["ip_address"] == f"{base}.2"


def test_fixed_ips_by_address_and_by_subnet(demo, net):
    network, subnet, base = net
    by_address = demo.create("port", network_id=network["id"],
                             fixed_ips=[{"ip_address": f"{base}.77"}])
    assert by_address["fixed_ips"] == [{"subnet_id": subnet["id"],
                                        "ip_address": f"{base}.77"}]
    by_subnet = demo.create("port", network_id=network["id"],
                            fixed_ips=[{"subnet_id": subnet["id"]}])
    assert by_subnet["fixed_ips"][0]["ip_address"] == f"{base}.2"
    both = demo.create("port", network_id=network["id"], fixed_ips=[
        {"subnet_id": subnet["id"]}, {"subnet_id": subnet["id"], "ip_address": f"{base}.3"}])
    # The explicit address is taken first; the automatic one skips it.
    assert {ip["ip_address"] for ip in both["fixed_ips"]} == {f"{base}.3", f"{base}.4"}
    # Outside the pools but inside the subnet: allowed, as in Neutron.
    gateway_side = demo.create("port", network_id=network["id"],
                               fixed_ips=[{"ip_address": f"{base}.1"}])
    assert gateway_side["fixed_ips"][0]["ip_address"] == f"{base}.1"
    none = demo.create("port", network_id=network["id"], fixed_ips=[])
    assert none["fixed_ips"] == [] and none["security_groups"] == []


def test_filters_the_clients_send(demo, net):
    network, subnet, base = net
    port = demo.create("port", network_id=network["id"], name=unique("f"),
                       device_id="server-1", device_owner="compute:nova",
                       fixed_ips=[{"ip_address": f"{base}.40"}])
    other = demo.create("port", network_id=network["id"])

    def ids(**filters) -> set[str]:
        return {p["id"] for p in demo.list("port", **filters)}

    assert ids(network_id=network["id"]) == {port["id"], other["id"]}
    assert ids(device_id="server-1") == {port["id"]}
    assert ids(device_owner="compute:nova", network_id=network["id"]) == {port["id"]}
    assert ids(mac_address=port["mac_address"]) == {port["id"]}
    assert ids(name=port["name"]) == {port["id"]}
    assert ids(status="DOWN", network_id=network["id"]) == {port["id"], other["id"]}
    assert ids(fixed_ips=f"ip_address={base}.40") == {port["id"]}
    assert ids(fixed_ips=f"subnet_id={subnet['id']}") == {port["id"], other["id"]}
    both = demo.call("GET", "/ports", params=[("fixed_ips", f"ip_address={base}.40"),
                                              ("fixed_ips", f"subnet_id={subnet['id']}")])
    assert {p["id"] for p in both.json()["ports"]} == {port["id"]}
    assert ids(fixed_ips=f"ip_address_substr={base}.4") == {port["id"]}
    [group] = port["security_groups"]
    assert port["id"] in ids(security_group_ids=group)


def test_update_name_device_and_addresses(demo, net):
    network, subnet, base = net
    port = demo.create("port", network_id=network["id"])
    changed = demo.update("port", port["id"], name="renamed", device_id="vm",
                          device_owner="compute:nova", admin_state_up=False)
    assert (changed["name"], changed["device_id"], changed["device_owner"],
            changed["admin_state_up"]) == ("renamed", "vm", "compute:nova", False)
    moved = demo.update("port", port["id"], fixed_ips=[{"ip_address": f"{base}.99"}])
    assert moved["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": f"{base}.99"}]
    # The old address is free again.
    assert demo.create("port", network_id=network["id"])["fixed_ips"][0]["ip_address"] == \
        port["fixed_ips"][0]["ip_address"]
    kept = demo.update("port", port["id"], fixed_ips=[{"subnet_id": subnet["id"]},
                                                       {"subnet_id": subnet["id"]}])
    assert f"{base}.99" in {ip["ip_address"] for ip in kept["fixed_ips"]}
    assert len(kept["fixed_ips"]) == 2


def test_default_security_group_and_port_security(demo, net):
    network, _, _ = net
    port = demo.create("port", network_id=network["id"])
    [group] = port["security_groups"]
    other = demo.create("port", network_id=network["id"])
    assert other["security_groups"] == [group]  # one default group per project
    plain = demo.create("port", network_id=network["id"], port_security_enabled=False)
    assert plain["security_groups"] == [] and plain["port_security_enabled"] is False
    refused = post_port(demo, network_id=network["id"], port_security_enabled=False,
                        security_groups=[group])
    assert error(refused, 400)["type"] == "PortSecurityAndIPRequiredForSecurityGroups"
    in_use = demo.call("PUT", f"/ports/{port['id']}",
                       json={"port": {"port_security_enabled": False}})
    assert error(in_use, 409)["type"] == "PortSecurityPortHasSecurityGroup"
    off = demo.update("port", port["id"], port_security_enabled=False, security_groups=[])
    assert off["security_groups"] == [] and off["port_security_enabled"] is False
    unknown = post_port(demo, network_id=network["id"],
                        security_groups=["00000000-0000-0000-0000-000000000001"])
    assert error(unknown, 404)["message"] == \
        "Security group 00000000-0000-0000-0000-000000000001 does not exist"


def test_bindings_are_for_admins_and_services(demo, admin, net):
    network, _, _ = net
    port = demo.create("port", network_id=network["id"])
    assert "binding:host_id" not in port and "binding:vif_type" not in port
    assert port["binding:vnic_type"] == "normal"
    refused = demo.call("PUT", f"/ports/{port['id']}",
                        json={"port": {"binding:host_id": "host1"}})
    assert error(refused, 403)["message"] == \
        "(rule:update_port and rule:update_port:binding:host_id) is disallowed by policy"
    seen = admin.show("port", port["id"])
    assert (seen["binding:host_id"], seen["binding:vif_type"]) == ("", "unbound")
    bound = admin.update("port", port["id"], **{"binding:host_id": "host1",
                                                "binding:profile": {"a": 1}})
    assert (bound["binding:host_id"], bound["binding:vif_type"],
            bound["binding:profile"]) == ("host1", "tap", {"a": 1})
    unbound = admin.update("port", port["id"], **{"binding:host_id": ""})
    assert unbound["binding:vif_type"] == "unbound"


def test_network_device_ports_only_on_ones_own_network(demo, admin, net):
    network, _, _ = net
    # The network is the member's own: network:* owners are allowed to its owner.
    own = demo.create("port", network_id=network["id"], device_owner="network:router_gateway",
                      device_id="no-such-router")
    assert own["security_groups"] == []  # networkd's own kinds of port have none
    shared = admin.create("network", name=unique("shared"), shared=True)
    admin.create("subnet", network_id=shared["id"], cidr=cidr(OCTET), ip_version=4,
                 enable_dhcp=False)
    on_shared = demo.create("port", network_id=shared["id"])
    assert on_shared["project_id"] != shared["project_id"]
    foreign = post_port(demo, network_id=shared["id"], device_owner="network:dhcp")
    assert error(foreign, 403)["type"] == "PolicyNotAuthorized"
    # No router of that id: the port may go (Neutron's prevent_l3_port_deletion).
    assert demo.call("DELETE", f"/ports/{own['id']}").status_code == 204


# --- bad input: nothing is made ----------------------------------------------------------
def port_count(admin: Networking, network_id: str) -> int:
    return len(admin.list("port", network_id=network_id))


def test_an_address_outside_the_subnet_or_taken(demo, admin, net):
    network, subnet, base = net
    demo.create("port", network_id=network["id"], fixed_ips=[{"ip_address": f"{base}.50"}])
    before = port_count(admin, network["id"])
    taken = error(post_port(demo, network_id=network["id"],
                            fixed_ips=[{"ip_address": f"{base}.50"}]), 409)
    assert taken == {"type": "IpAddressAlreadyAllocated", "detail": "",
                     "message": f"IP address {base}.50 already allocated in subnet "
                                f"{subnet['id']}"}
    outside = error(post_port(demo, network_id=network["id"], fixed_ips=[
        {"subnet_id": subnet["id"], "ip_address": "192.0.2.50"}]), 400)
    assert outside == {"type": "InvalidIpForSubnet", "detail": "",
                       "message": "IP address 192.0.2.50 is not a valid IP for the "
                                  "specified subnet."}
    nowhere = error(post_port(demo, network_id=network["id"],
                              fixed_ips=[{"ip_address": "192.0.2.50"}]), 400)
    assert nowhere["message"] == ("IP address 192.0.2.50 is not a valid IP for any of the "
                                  "subnets on the specified network.")
    broadcast = error(post_port(demo, network_id=network["id"],
                                fixed_ips=[{"ip_address": f"{base}.255"}]), 400)
    assert broadcast["type"] == "InvalidIpForNetwork"  # no subnet may give it
    network_address = error(post_port(demo, network_id=network["id"], fixed_ips=[
        {"subnet_id": subnet["id"], "ip_address": f"{base}.0"}]), 400)
    assert network_address["type"] == "InvalidIpForSubnet"
    # The first address was free: the whole request is refused, nothing kept.
    half = error(post_port(demo, network_id=network["id"], fixed_ips=[
        {"ip_address": f"{base}.60"}, {"ip_address": f"{base}.50"}]), 409)
    assert half["type"] == "IpAddressAlreadyAllocated"
    assert demo.list("port", fixed_ips=f"ip_address={base}.60") == []
    assert port_count(admin, network["id"]) == before


def test_an_exhausted_pool(demo, admin):
    network = demo.create("network", name=unique("small"))
    block = cidr(OCTET)
    base = block.rsplit(".", 1)[0]
    demo.create("subnet", network_id=network["id"], cidr=block, ip_version=4,
                enable_dhcp=False,
                allocation_pools=[{"start": f"{base}.2", "end": f"{base}.3"}])
    demo.create("port", network_id=network["id"])
    demo.create("port", network_id=network["id"])
    body = error(post_port(demo, network_id=network["id"]), 409)
    assert body == {"type": "IpAddressGenerationFailure", "detail": "",
                    "message": f"No more IP addresses available on network {network['id']}."}
    assert port_count(admin, network["id"]) == 2


def test_a_port_on_another_projects_network(demo, admin):
    theirs = admin.create("network", name=unique("theirs"))
    admin.create("subnet", network_id=theirs["id"], cidr=cidr(OCTET), ip_version=4)
    body = error(post_port(demo, network_id=theirs["id"]), 404)
    assert body == {"type": "NetworkNotFound", "detail": "",
                    "message": f"Network {theirs['id']} could not be found."}
    public = demo.find("network", "public")
    assert error(post_port(demo, network_id=public["id"]), 404) == {
        "type": "HTTPNotFound", "detail": "", "message": "The resource could not be found."}
    before = port_count(admin, theirs["id"])
    made = admin.create("port", network_id=theirs["id"])
    assert port_count(admin, theirs["id"]) == before + 1
    assert error(demo.call("GET", f"/ports/{made['id']}"), 404)["type"] == "PortNotFound"
    assert made["id"] not in {p["id"] for p in demo.list("port")}


def test_a_mac_address_in_use_and_bad_fields(demo, net):
    network, _, _ = net
    port = demo.create("port", network_id=network["id"], mac_address="fa:16:3e:00:aa:01")
    assert port["mac_address"] == "fa:16:3e:00:aa:01"
    body = error(post_port(demo, network_id=network["id"], mac_address="fa:16:3e:00:aa:01"),
                 409)
    assert body["type"] == "MacAddressInUse"
    assert body["message"] == (f"Unable to complete operation for network {network['id']}. "
                               "The mac address fa:16:3e:00:aa:01 is in use.")
    bad = error(post_port(demo, network_id=network["id"], mac_address="01:00:00:00:00:00"),
                400)
    assert bad["message"] == ("Invalid input for mac_address. Reason: '01:00:00:00:00:00' "
                              "is not a valid MAC address.")
    bad_ip = error(post_port(demo, network_id=network["id"], fixed_ips=[
        {"ip_address": "10.1.2"}]), 400)
    assert bad_ip["message"] == ("Invalid input for fixed_ips. Reason: '10.1.2' is not a "
                                 "valid IP address.")
    readonly = demo.call("PUT", f"/ports/{port['id']}",
                         json={"port": {"network_id": network["id"]}})
    assert error(readonly, 400)["message"] == "Cannot update read-only attribute network_id"
