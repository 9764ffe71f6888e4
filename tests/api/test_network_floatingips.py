"""Floating IPs over HTTP: allocate from the external network, associate
(at creation or by PUT) through a router with a gateway, disassociate,
release; the address on the external bridge and its DNAT in the stack's
namespace while associated; filters; and Neutron's answers to every
mistake, with nothing half-made."""
from __future__ import annotations

import pytest

from tests.support.compute import wait_for
from tests.support.network import in_namespace, networking_fixture
from tests.support.network_api import cidr, error, fresh_networking, unique

OCTET = 212
NO_SUCH = "00000000-0000-0000-0000-000000000000"


demo = networking_fixture("demo")


admin = networking_fixture("admin")


@pytest.fixture(scope="module")
def public(demo):
    return demo.find("network", "public")


@pytest.fixture(scope="module")
def public_subnet(demo, public):
    return demo.show("subnet", public["subnets"][0])


@pytest.fixture(scope="module")
def routed(demo, public):
    """A network of the demo project behind its own router with a gateway
    on public: its ports may have floating IPs."""
    network, subnet = demo.routed_network(unique("fipnet"), cidr(OCTET), public["id"])
    [router] = [r for r in demo.list("router") if r["name"] == f"{network['name']}-router"]
    return {"network": network, "subnet": subnet, "router": router}


@pytest.fixture
def fresh(stack):
    client = fresh_networking(stack)
    yield client
    client.cleanup()


def fip_body(**fields) -> dict:
    return {"floatingip": fields}


def namespace_state(stack) -> tuple[str, str]:
    """(addresses, NAT rules) of the stack's namespace."""
    addresses = in_namespace(stack, "ip", "-o", "-4", "addr", "show").stdout
    rules = in_namespace(stack, "nft", "list", "ruleset").stdout
    return addresses, rules


def built(stack, floating: str, fixed: str) -> bool:
    addresses, rules = namespace_state(stack)
    return f" {floating}/32 " in addresses and \
        f"ip daddr {floating} dnat ip to {fixed}\n" in rules


def gone(stack, floating: str) -> bool:
    addresses, rules = namespace_state(stack)
    return f" {floating}/32 " not in addresses and f"ip daddr {floating} " not in rules


# --- allocate and release ----------------------------------------------------------------
def test_allocate_and_release(demo, admin, public, public_subnet):
    fip = demo.create("floatingip", floating_network_id=public["id"], description="lab")
    base = public_subnet["cidr"].rsplit(".", 1)[0]
    assert fip["floating_ip_address"].startswith(base + ".")
    assert fip["floating_network_id"] == public["id"] and fip["status"] == "DOWN"
    assert (fip["port_id"], fip["fixed_ip_address"], fip["router_id"]) == (None, None, None)
    assert fip["project_id"] == fip["tenant_id"] and fip["description"] == "lab"
    assert fip["tags"] == []
    # The address is held by a port of networkd's own, which members never see.
    [port] = admin.list("port", device_id=fip["id"])
    assert port["device_owner"] == "network:floatingip" and port["project_id"] == ""
    assert port["fixed_ips"][0]["ip_address"] == fip["floating_ip_address"]
    assert demo.list("port", device_id=fip["id"]) == []
    assert demo.show("floatingip", fip["id"]) == fip

    assert demo.call("DELETE", f"/floatingips/{fip['id']}").status_code == 204
    body = error(demo.call("GET", f"/floatingips/{fip['id']}"), 404)
    assert body == {"type": "FloatingIPNotFound", "detail": "",
                    "message": f"Floating IP {fip['id']} could not be found"}
    assert admin.list("port", device_id=fip["id"]) == []


def test_only_an_external_network_gives_floating_ips(demo, routed):
    network = routed["network"]
    body = error(demo.call("POST", "/floatingips",
                           json=fip_body(floating_network_id=network["id"])), 400)
    assert body == {"type": "BadRequest", "detail": "",
                    "message": f"Bad floatingip request: Network {network['id']} is not a "
                               "valid external network."}
    body = error(demo.call("POST", "/floatingips", json=fip_body(floating_network_id=NO_SUCH)),
                 404)
    assert body["type"] == "NetworkNotFound"
    body = error(demo.call("POST", "/floatingips", json=fip_body()), 400)
    assert body["message"] == \
        "Failed to parse request. Required attribute 'floating_network_id' not specified"
    assert demo.list("floatingip", floating_network_id=network["id"]) == []


def test_a_chosen_address_is_for_admins(demo, admin, public, public_subnet):
    base = public_subnet["cidr"].rsplit(".", 1)[0]
    wanted = f"{base}.240"
    body = error(demo.call("POST", "/floatingips", json=fip_body(
        floating_network_id=public["id"], floating_ip_address=wanted)), 403)
    assert body["type"] == "PolicyNotAuthorized"
    assert "rule:create_floatingip:floating_ip_address" in body["message"]
    fip = admin.create("floatingip", floating_network_id=public["id"],
                       floating_ip_address=wanted)
    assert fip["floating_ip_address"] == wanted
    taken = error(admin.call("POST", "/floatingips", json=fip_body(
        floating_network_id=public["id"], floating_ip_address=wanted)), 409)
    assert taken["type"] == "IpAddressAlreadyAllocated"
    outside = error(admin.call("POST", "/floatingips", json=fip_body(
        floating_network_id=public["id"], floating_ip_address="192.0.2.7")), 400)
    assert outside["type"] == "InvalidIpForNetwork"
    assert [f["floating_ip_address"] for f in admin.list(
        "floatingip", floating_ip_address=wanted)] == [wanted]
    admin.delete("floatingip", fip["id"])


# --- associate and disassociate ---------------------------------------------------------
def test_associate_at_creation_and_disassociate(stack, demo, public, routed):
    port = demo.create("port", network_id=routed["network"]["id"])
    fixed = port["fixed_ips"][0]["ip_address"]
    fip = demo.create("floatingip", floating_network_id=public["id"], port_id=port["id"])
    assert fip["port_id"] == port["id"] and fip["fixed_ip_address"] == fixed
    assert fip["router_id"] == routed["router"]["id"] and fip["status"] == "ACTIVE"
    address = fip["floating_ip_address"]
    wait_for(lambda: built(stack, address, fixed), 30,
             what="the floating IP and its DNAT in the namespace")

    loose = demo.update("floatingip", fip["id"], port_id=None)
    assert (loose["port_id"], loose["fixed_ip_address"], loose["router_id"]) == \
        (None, None, None)
    assert loose["status"] == "DOWN"
    wait_for(lambda: gone(stack, address), 30, what="the floating IP gone from the namespace")


def test_associate_by_put_and_filters(demo, public, routed):
    port = demo.create("port", network_id=routed["network"]["id"])
    fip = demo.create("floatingip", floating_network_id=public["id"])
    other = demo.create("floatingip", floating_network_id=public["id"])
    fixed = port["fixed_ips"][0]["ip_address"]
    tied = demo.update("floatingip", fip["id"], port_id=port["id"], fixed_ip_address=fixed)
    assert tied["status"] == "ACTIVE" and tied["router_id"] == routed["router"]["id"]
    # A PUT without port_id keeps the association (a description alone).
    kept = demo.update("floatingip", fip["id"], description="web")
    assert kept["port_id"] == port["id"] and kept["description"] == "web"

    def ids(**filters) -> set[str]:
        return {f["id"] for f in demo.list("floatingip", **filters)}

    assert ids(port_id=port["id"]) == {fip["id"]}
    assert ids(router_id=routed["router"]["id"]) == {fip["id"]}
    assert ids(floating_ip_address=other["floating_ip_address"]) == {other["id"]}
    assert ids(status="ACTIVE") >= {fip["id"]} and other["id"] not in ids(status="ACTIVE")
    assert {fip["id"], other["id"]} <= ids(floating_network_id=public["id"])
    assert {fip["id"], other["id"]} <= ids(project_id=fip["project_id"])
    assert ids(fixed_ip_address=fixed) == {fip["id"]}

    # One fixed IP has at most one floating IP on a network.
    body = error(demo.call("PUT", f"/floatingips/{other['id']}",
                           json=fip_body(port_id=port["id"])), 409)
    assert body["type"] == "FloatingIPPortAlreadyAssociated"
    assert body["message"] == (
        f"Cannot associate floating IP {other['floating_ip_address']} ({other['id']}) with "
        f"port {port['id']} using fixed IP {fixed}, as that fixed IP already has a floating "
        f"IP on external network {public['id']}.")
    assert demo.show("floatingip", other["id"])["port_id"] is None


def test_a_port_without_a_way_out_gets_no_floating_ip(demo, public):
    network, subnet = demo.network_with_subnet(unique("isolated"), cidr(OCTET))
    port = demo.create("port", network_id=network["id"])
    fip = demo.create("floatingip", floating_network_id=public["id"])
    body = error(demo.call("PUT", f"/floatingips/{fip['id']}",
                           json=fip_body(port_id=port["id"])), 404)
    assert body == {"type": "ExternalGatewayForFloatingIPNotFound", "detail": "",
                    "message": f"External network {public['id']} is not reachable from "
                               f"subnet {subnet['id']}.  Therefore, cannot associate Port "
                               f"{port['id']} with a Floating IP."}
    # A router with the subnet but no gateway is no way out either.
    router = demo.create("router", name=unique("nogw"))
    demo.add_interface(router["id"], subnet["id"])
    error(demo.call("PUT", f"/floatingips/{fip['id']}", json=fip_body(port_id=port["id"])),
          404)
    refused = demo.call("POST", "/floatingips", json=fip_body(
        floating_network_id=public["id"], port_id=port["id"]))
    assert error(refused, 404)["type"] == "ExternalGatewayForFloatingIPNotFound"
    assert [f["id"] for f in demo.list("floatingip", port_id=port["id"])] == []
    assert demo.show("floatingip", fip["id"])["status"] == "DOWN"


@pytest.mark.parametrize("fields, message", [
    ({"fixed_ip_address": "10.9.9.9"},
     "Bad floatingip request: fixed_ip_address cannot be specified without a port_id."),
    ({"port_id": "PORT", "fixed_ip_address": "192.0.2.1"},
     "Bad floatingip request: Port PORT does not have fixed ip 192.0.2.1."),
])
def test_association_requests_that_make_no_sense(demo, public, routed, fields, message):
    port = demo.create("port", network_id=routed["network"]["id"])
    body = {k: (port["id"] if v == "PORT" else v) for k, v in fields.items()}
    refused = error(demo.call("POST", "/floatingips", json=fip_body(
        floating_network_id=public["id"], **body)), 400)
    assert refused == {"type": "BadRequest", "detail": "",
                       "message": message.replace("PORT", port["id"])}


def test_a_dhcp_port_or_an_unknown_port_gets_no_floating_ip(demo, admin, public, routed):
    fip = demo.create("floatingip", floating_network_id=public["id"])
    body = error(demo.call("PUT", f"/floatingips/{fip['id']}", json=fip_body(port_id=NO_SUCH)),
                 404)
    assert body == {"type": "PortNotFound", "detail": "",
                    "message": f"Port {NO_SUCH} could not be found."}
    [dhcp] = demo.list("port", network_id=routed["network"]["id"], device_owner="network:dhcp")
    body = error(demo.call("PUT", f"/floatingips/{fip['id']}",
                           json=fip_body(port_id=dhcp["id"])), 400)
    assert body["message"] == \
        f"Bad floatingip request: Port {dhcp['id']} is unable to be assigned a floating IP."


def test_what_a_floating_ip_needs_stays(demo, public, routed):
    port = demo.create("port", network_id=routed["network"]["id"])
    fip = demo.create("floatingip", floating_network_id=public["id"], port_id=port["id"])
    router, subnet = routed["router"], routed["subnet"]
    body = error(demo.call("PUT", f"/routers/{router['id']}/remove_router_interface",
                           json={"subnet_id": subnet["id"]}), 409)
    assert body == {"type": "RouterInterfaceInUseByFloatingIP", "detail": "",
                    "message": f"Router interface for subnet {subnet['id']} on router "
                               f"{router['id']} cannot be deleted, as it is required by one "
                               "or more floating IPs."}
    body = error(demo.call("PUT", f"/routers/{router['id']}", json={
        "router": {"external_gateway_info": None}}), 409)
    assert body == {"type": "RouterExternalGatewayInUseByFloatingIp", "detail": "",
                    "message": f"Gateway cannot be updated for router {router['id']}, since "
                               f"a gateway to external network {public['id']} is required by "
                               "one or more floating IPs."}
    assert demo.show("router", router["id"])["external_gateway_info"] is not None
    demo.update("floatingip", fip["id"], port_id=None)


def test_deleting_the_port_disassociates(stack, demo, public, routed):
    port = demo.create("port", network_id=routed["network"]["id"])
    fip = demo.create("floatingip", floating_network_id=public["id"], port_id=port["id"])
    wait_for(lambda: built(stack, fip["floating_ip_address"],
                           port["fixed_ips"][0]["ip_address"]), 30, what="the DNAT")
    assert demo.call("DELETE", f"/ports/{port['id']}").status_code == 204
    shown = demo.show("floatingip", fip["id"])
    assert (shown["port_id"], shown["router_id"], shown["status"]) == (None, None, "DOWN")
    wait_for(lambda: gone(stack, fip["floating_ip_address"]), 30, what="the DNAT gone")


def test_deleting_an_associated_floating_ip(stack, demo, public, routed):
    port = demo.create("port", network_id=routed["network"]["id"])
    fip = demo.create("floatingip", floating_network_id=public["id"], port_id=port["id"])
    wait_for(lambda: built(stack, fip["floating_ip_address"],
                           port["fixed_ips"][0]["ip_address"]), 30, what="the DNAT")
    assert demo.call("DELETE", f"/floatingips/{fip['id']}").status_code == 204
    wait_for(lambda: gone(stack, fip["floating_ip_address"]), 30, what="the DNAT gone")
    assert demo.show("port", port["id"])["id"] == port["id"]


# --- who sees what, quotas ---------------------------------------------------------------
def test_another_projects_floating_ip_and_port_do_not_exist(demo, fresh, public, routed):
    fip = demo.create("floatingip", floating_network_id=public["id"])
    for method, body in (("GET", None), ("PUT", fip_body(port_id=None)), ("DELETE", None)):
        assert error(fresh.call(method, f"/floatingips/{fip['id']}", json=body), 404)["type"] \
            == "FloatingIPNotFound"
    assert fip["id"] not in {f["id"] for f in fresh.list("floatingip")}
    port = demo.create("port", network_id=routed["network"]["id"])
    mine = fresh.create("floatingip", floating_network_id=public["id"])
    body = error(fresh.call("PUT", f"/floatingips/{mine['id']}",
                            json=fip_body(port_id=port["id"])), 404)
    assert body["type"] == "PortNotFound"


def test_floating_ip_quota(fresh, admin, public):
    response = admin.call("PUT", f"/quotas/{fresh.project_id}",
                          json={"quota": {"floatingip": 1}})
    assert response.status_code == 200, response.text
    fresh.create("floatingip", floating_network_id=public["id"])
    before = admin.list("port", network_id=public["id"])
    body = error(fresh.call("POST", "/floatingips",
                            json=fip_body(floating_network_id=public["id"])), 409)
    assert body == {"type": "OverQuota", "detail": "",
                    "message": "Quota exceeded for resources: ['floatingip']."}
    assert admin.list("port", network_id=public["id"]) == before


def test_the_address_a_floating_ip_points_at_stays_on_its_port(demo, public, routed):
    port = demo.create("port", network_id=routed["network"]["id"])
    fixed = port["fixed_ips"][0]
    fip = demo.create("floatingip", floating_network_id=public["id"], port_id=port["id"])
    body = error(demo.call("PUT", f"/ports/{port['id']}", json={"port": {
        "fixed_ips": [{"subnet_id": fixed["subnet_id"]}]}}), 400)
    assert body == {"type": "BadRequest", "detail": "",
                    "message": f"Bad port request: Cannot update the fixed_ips of the port "
                               f"{port['id']}, because its original fixed_ip has been "
                               "associated to a floating ip."}
    assert demo.show("port", port["id"])["fixed_ips"] == [fixed]
    demo.update("floatingip", fip["id"], port_id=None)
    moved = demo.update("port", port["id"], fixed_ips=[{"subnet_id": fixed["subnet_id"]}])
    assert moved["fixed_ips"][0]["subnet_id"] == fixed["subnet_id"]
