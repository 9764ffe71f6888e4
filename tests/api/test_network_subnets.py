"""Subnets over HTTP: defaults as Neutron computes them, explicit pools,
DNS servers and host routes, updates, the DHCP port's address, and every
bad input with Neutron's answer (nothing made when refused)."""
from __future__ import annotations

import pytest

from tests.support.network import Networking, networking_fixture
from tests.support.network_api import cidr, error, unique

OCTET = 202


demo = networking_fixture("demo")


admin = networking_fixture("admin")


@pytest.fixture
def network(demo):
    return demo.create("network", name=unique("subnets"))


def post_subnet(client: Networking, **fields):
    fields.setdefault("ip_version", 4)
    return client.call("POST", "/subnets", json={"subnet": fields})


def subnet_count(admin: Networking) -> int:
    return len(admin.list("subnet"))


def test_defaults_gateway_first_host_pool_the_rest(demo, network):
    block = cidr(OCTET)
    base = block.rsplit(".", 1)[0]
    subnet = demo.create("subnet", network_id=network["id"], cidr=block, ip_version=4,
                         name="s1")
    assert subnet["gateway_ip"] == f"{base}.1" and subnet["enable_dhcp"] is True
    assert subnet["allocation_pools"] == [{"start": f"{base}.2", "end": f"{base}.254"}]
    for key in ("dns_nameservers", "host_routes", "service_types", "tags"):
        assert subnet[key] == [], key
    assert subnet["ipv6_ra_mode"] is None and subnet["subnetpool_id"] is None
    assert subnet["network_id"] == network["id"] and subnet["ip_version"] == 4
    assert demo.show("network", network["id"])["subnets"] == [subnet["id"]]
    assert demo.show("subnet", subnet["id"]) == subnet
    assert [s["id"] for s in demo.list("subnet", network_id=network["id"])] == [subnet["id"]]
    assert [s["id"] for s in demo.list("subnet", cidr=block)] == [subnet["id"]]
    [dhcp] = demo.list("port", network_id=network["id"], device_owner="network:dhcp")
    assert dhcp["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": f"{base}.2"}]


def test_explicit_pools_dns_routes_and_no_gateway(demo, network):
    block = cidr(OCTET)
    base = block.rsplit(".", 1)[0]
    pools = [{"start": f"{base}.10", "end": f"{base}.20"},
             {"start": f"{base}.100", "end": f"{base}.110"}]
    routes = [{"destination": "192.168.77.0/24", "nexthop": f"{base}.5"}]
    subnet = demo.create("subnet", network_id=network["id"], cidr=block, ip_version=4,
                         gateway_ip=None, allocation_pools=pools,
                         dns_nameservers=["192.0.2.53", "192.0.2.54"], host_routes=routes,
                         enable_dhcp=False)
    assert subnet["gateway_ip"] is None and subnet["allocation_pools"] == pools
    assert subnet["dns_nameservers"] == ["192.0.2.53", "192.0.2.54"]
    assert subnet["host_routes"] == routes and subnet["enable_dhcp"] is False
    assert demo.list("port", network_id=network["id"]) == []
    port = demo.create("port", network_id=network["id"])
    assert port["fixed_ips"][0]["ip_address"] == f"{base}.10"


def test_update_and_dhcp_toggle(demo, network):
    block = cidr(OCTET)
    base = block.rsplit(".", 1)[0]
    subnet = demo.create("subnet", network_id=network["id"], cidr=block, ip_version=4,
                         enable_dhcp=False)
    changed = demo.update("subnet", subnet["id"], name="renamed",
                          dns_nameservers=["192.0.2.1"],
                          host_routes=[{"destination": "192.168.8.0/24",
                                        "nexthop": f"{base}.9"}],
                          allocation_pools=[{"start": f"{base}.50", "end": f"{base}.60"}],
                          gateway_ip=f"{base}.254")
    assert changed["name"] == "renamed" and changed["dns_nameservers"] == ["192.0.2.1"]
    assert changed["gateway_ip"] == f"{base}.254"
    assert changed["allocation_pools"] == [{"start": f"{base}.50", "end": f"{base}.60"}]
    assert changed["revision_number"] == subnet["revision_number"] + 1
    # The same DNS server again, then another order: kept as given.
    again = demo.update("subnet", subnet["id"], dns_nameservers=["192.0.2.2", "192.0.2.1"])
    assert again["dns_nameservers"] == ["192.0.2.2", "192.0.2.1"]

    demo.update("subnet", subnet["id"], enable_dhcp=True)
    [dhcp] = demo.list("port", network_id=network["id"], device_owner="network:dhcp")
    assert dhcp["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": f"{base}.50"}]
    demo.update("subnet", subnet["id"], enable_dhcp=False)
    assert demo.list("port", network_id=network["id"], device_owner="network:dhcp") == []


def test_delete_takes_the_dhcp_address_and_refuses_a_subnet_in_use(demo, network):
    subnet = demo.create("subnet", network_id=network["id"], cidr=cidr(OCTET), ip_version=4)
    port = demo.create("port", network_id=network["id"])
    body = error(demo.call("DELETE", f"/subnets/{subnet['id']}"), 409)
    assert body["type"] == "SubnetInUse"
    assert body["message"] == (f"Unable to complete operation on subnet {subnet['id']}: One "
                               "or more ports have an IP allocation from this subnet.")
    demo.delete("port", port["id"])
    assert demo.call("DELETE", f"/subnets/{subnet['id']}").status_code == 204
    assert demo.list("port", network_id=network["id"]) == []
    assert demo.show("network", network["id"])["subnets"] == []


# --- bad input ---------------------------------------------------------------------------
def test_overlapping_subnets_anywhere_in_the_stack(demo, admin, network):
    block = cidr(OCTET)
    demo.create("subnet", network_id=network["id"], cidr=block, ip_version=4)
    before = subnet_count(admin)
    same_network = error(post_subnet(demo, network_id=network["id"], cidr=block), 400)
    assert same_network == {
        "type": "InvalidInput", "detail": "",
        "message": f"Invalid input for operation: Requested subnet with cidr: {block} for "
                   f"network: {network['id']} overlaps with another subnet."}
    # Another network, another project, a wider prefix: all one routing table.
    other = admin.create("network", name=unique("other"))
    wider = block.rsplit(".", 2)[0] + ".0.0/16"
    refused = error(post_subnet(admin, network_id=other["id"], cidr=wider), 400)
    assert refused["message"].endswith(f"network: {other['id']} overlaps with another subnet.")
    # The first-start private network counts too.
    assert error(post_subnet(demo, network_id=network["id"], cidr="10.0.0.128/25"), 400)[
        "type"] == "InvalidInput"
    assert subnet_count(admin) == before


def test_gateway_outside_the_subnet(demo, network):
    block = cidr(OCTET)
    base = block.rsplit(".", 1)[0]
    for gateway in ("192.0.2.1", f"{base}.0", f"{base}.255"):
        body = error(post_subnet(demo, network_id=network["id"], cidr=block,
                                 gateway_ip=gateway), 400)
        assert body == {"type": "InvalidInput", "detail": "",
                        "message": "Invalid input for operation: Gateway is not valid on "
                                   "subnet."}
    subnet = demo.create("subnet", network_id=network["id"], cidr=block, ip_version=4)
    refused = demo.call("PUT", f"/subnets/{subnet['id']}",
                        json={"subnet": {"gateway_ip": "192.0.2.1"}})
    assert error(refused, 400)["type"] == "InvalidInput"
    assert demo.show("subnet", subnet["id"])["gateway_ip"] == f"{base}.1"


def test_bad_allocation_pools(demo, network):
    block = cidr(OCTET)
    base = block.rsplit(".", 1)[0]
    cases = [
        ([{"start": f"{base}.2", "end": "192.0.2.9"}], 400, "OutOfBoundsAllocationPool",
         f"The allocation pool {base}.2-192.0.2.9 spans beyond the subnet cidr {block}."),
        ([{"start": f"{base}.9", "end": f"{base}.2"}], 400, "InvalidAllocationPool",
         f"The allocation pool {base}.9-{base}.2 is not valid."),
        ([{"start": f"{base}.2", "end": f"{base}.20"},
          {"start": f"{base}.10", "end": f"{base}.30"}], 409, "OverlappingAllocationPools",
         f"Found overlapping allocation pools: {base}.2-{base}.20 {base}.10-{base}.30 for "
         f"subnet {block}."),
        ([{"start": f"{base}.1", "end": f"{base}.30"}], 409,
         "GatewayConflictWithAllocationPools",
         f"Gateway ip {base}.1 conflicts with allocation pool {base}.1-{base}.30."),
    ]
    for pools, status, kind, message in cases:
        body = error(post_subnet(demo, network_id=network["id"], cidr=block,
                                 allocation_pools=pools), status)
        assert (body["type"], body["message"]) == (kind, message)
    assert demo.show("network", network["id"])["subnets"] == []


def test_bad_fields(demo, network):
    block = cidr(OCTET)
    cases = [
        ({"cidr": "10.999.0.0/24"}, "Invalid input for cidr. Reason: '10.999.0.0/24' is not "
                                    "a valid IP subnet."),
        ({"cidr": block.replace(".0/24", ".1/24")},
         f"Invalid input for cidr. Reason: '{block.replace('.0/24', '.1/24')}' isn't a "
         f"recognized IP subnet cidr, '{block}' is recommended."),
        ({"cidr": block, "gateway_ip": "nope"},
         "Invalid input for gateway_ip. Reason: 'nope' is not a valid IP address."),
        ({"cidr": block, "dns_nameservers": ["x"]},
         "Invalid input for dns_nameservers. Reason: 'x' is not a valid IP address."),
        ({"cidr": block, "ip_version": 5}, "Invalid input for ip_version. Reason: 5 is not "
                                          "in [4, 6]."),
        ({"cidr": block, "flavor": "x"}, "Unrecognized attribute(s) 'flavor'"),
        ({}, "Failed to parse request. Required attribute 'cidr' not specified"),
    ]
    for fields, message in cases:
        body = error(post_subnet(demo, network_id=network["id"], **fields), 400)
        assert body["message"] == message, fields
    ipv6 = error(post_subnet(demo, network_id=network["id"], cidr="2001:db8::/64",
                             ip_version=6), 400)
    assert ipv6["type"] == "HTTPBadRequest"  # not a valid IPv4 subnet
    too_small = error(post_subnet(demo, network_id=network["id"],
                                  cidr=block.replace(".0/24", ".0/31")), 400)
    assert too_small["message"] == ("Invalid input for operation: Subnet has a prefix length "
                                    "that is incompatible with DHCP service enabled.")
    missing_network = error(post_subnet(demo, cidr=block), 400)
    assert missing_network["message"] == ("Failed to parse request. Required attribute "
                                          "'network_id' not specified")


def test_a_subnet_on_another_projects_network(demo, admin):
    theirs = admin.create("network", name=unique("theirs"))
    body = error(post_subnet(demo, network_id=theirs["id"], cidr=cidr(OCTET)), 404)
    assert body == {"type": "NetworkNotFound", "detail": "",
                    "message": f"Network {theirs['id']} could not be found."}
    public = demo.find("network", "public")  # seen, but not the member's
    hidden = error(post_subnet(demo, network_id=public["id"], cidr=cidr(OCTET)), 404)
    assert hidden == {"type": "HTTPNotFound", "detail": "",
                      "message": "The resource could not be found."}
