"""Routers over HTTP: router1 of the first start, create/list/show/update/
delete, the external gateway set and cleared by PUT, interfaces added and
removed by subnet or by port (and seen in the stack's namespace), and
Neutron's answers to every mistake, with nothing half-made."""
from __future__ import annotations

import subprocess

import pytest

from tests.support.compute import wait_for
from tests.support.network import Networking, namespace, networking_fixture
from tests.support.network_api import cidr, error, fresh_networking, unique

OCTET = 211
NO_SUCH = "00000000-0000-0000-0000-000000000000"


demo = networking_fixture("demo")


admin = networking_fixture("admin")


@pytest.fixture(scope="module")
def public(demo):
    return demo.find("network", "public")


@pytest.fixture
def fresh(stack):
    client = fresh_networking(stack)
    yield client
    client.cleanup()


@pytest.fixture
def make_router(demo):
    """Routers made by one test, gone after it (a project may have ten):
    interfaces removed, gateway cleared, router deleted."""
    made: list[tuple[Networking, str]] = []

    def make(client: Networking = demo, **fields) -> dict:
        router = client.create("router", name=unique("rt"), **fields)
        made.append((client, router["id"]))
        return router

    yield make
    for client, router_id in reversed(made):
        for port in client.list("port", device_id=router_id,
                                device_owner="network:router_interface"):
            put(client, router_id, "remove_router_interface", port_id=port["id"])
        set_gateway(client, router_id, None)
        client.delete("router", router_id)


def put(client: Networking, router_id: str, action: str, **body):
    return client.call("PUT", f"/routers/{router_id}/{action}", json=body)


def set_gateway(client: Networking, router_id: str, info):
    return client.call("PUT", f"/routers/{router_id}",
                       json={"router": {"external_gateway_info": info}})


def addresses(stack) -> str:
    """Every address in the stack's namespace ("dev address/len" lines)."""
    out = subprocess.run(["ip", "-n", namespace(stack), "-o", "-4", "addr", "show"],
                         capture_output=True, text=True, timeout=30).stdout
    return "\n".join(" ".join(line.split()[1:4:2]) for line in out.splitlines())


def ports_of(admin: Networking, router_id: str) -> dict[str, dict]:
    """The router's ports by device_owner (an admin sees the gateway port too)."""
    return {p["device_owner"]: p for p in admin.list("port", device_id=router_id)}


# --- router1 ---------------------------------------------------------------------------
def test_first_start_made_router1_like_devstack(stack, demo, admin, public):
    router = demo.find("router", "router1")
    private = demo.find("network", "private")
    [subnet] = [demo.show("subnet", s) for s in private["subnets"]]
    gateway = router["external_gateway_info"]
    assert gateway["network_id"] == public["id"] and gateway["enable_snat"] is True
    [external] = gateway["external_fixed_ips"]
    public_subnet = demo.show("subnet", public["subnets"][0])
    assert external["subnet_id"] == public_subnet["id"]
    assert external["ip_address"].rsplit(".", 1)[0] == public_subnet["cidr"].rsplit(".", 1)[0]
    owned = ports_of(admin, router["id"])
    assert owned["network:router_interface"]["fixed_ips"] == [
        {"subnet_id": subnet["id"], "ip_address": subnet["gateway_ip"]}]
    assert owned["network:router_gateway"]["project_id"] == ""
    # The member sees the interface, never the gateway port.
    assert [p["device_owner"] for p in demo.list("port", device_id=router["id"])] == \
        ["network:router_interface"]
    # The data plane holds both addresses in the stack's namespace.
    held = addresses(stack)
    assert f"{subnet['gateway_ip']}/24" in held and f"{external['ip_address']}/24" in held


# --- create, list, show, update, delete --------------------------------------------------
def test_router_lifecycle(demo):
    name = unique("rt")
    router = demo.create("router", name=name, description="lab")
    assert router["status"] == "ACTIVE" and router["admin_state_up"] is True
    assert router["external_gateway_info"] is None
    assert router["routes"] == [] and router["tags"] == []
    assert router["project_id"] == router["tenant_id"] and router["description"] == "lab"
    assert [r["id"] for r in demo.list("router", name=name)] == [router["id"]]
    assert demo.show("router", router["id"])["name"] == name
    changed = demo.update("router", router["id"], name=name + "-b", admin_state_up=False)
    assert changed["name"] == name + "-b" and changed["admin_state_up"] is False
    assert changed["revision_number"] > router["revision_number"]
    assert demo.call("DELETE", f"/routers/{router['id']}").status_code == 204
    gone = error(demo.call("GET", f"/routers/{router['id']}"), 404)
    assert gone["type"] == "RouterNotFound"
    assert gone["message"] == f"Router {router['id']} could not be found"


def test_unknown_attributes_and_extra_routes_are_refused(make_router, demo):
    body = error(demo.call("POST", "/routers", json={"router": {"name": "x", "colour": 1}}),
                 400)
    assert body["message"] == "Unrecognized attribute(s) 'colour'"
    router = make_router()
    body = error(demo.call("PUT", f"/routers/{router['id']}", json={"router": {
        "routes": [{"destination": "10.9.9.0/24", "nexthop": "10.0.0.9"}]}}), 400)
    assert body["type"] == "HTTPBadRequest" and "routes" in body["message"]


def test_tags_on_routers(make_router, demo):
    router = make_router()
    assert demo.call("PUT", f"/routers/{router['id']}/tags/blue").status_code == 201
    assert demo.show("router", router["id"])["tags"] == ["blue"]
    assert [r["id"] for r in demo.list("router", tags="blue")] == [router["id"]]


# --- the external gateway ----------------------------------------------------------------
def test_gateway_set_and_cleared_by_put(make_router, stack, demo, admin, public):
    router = make_router()
    shown = set_gateway(demo, router["id"], {"network_id": public["id"]})
    assert shown.status_code == 200, shown.text
    gateway = shown.json()["router"]["external_gateway_info"]
    assert gateway["network_id"] == public["id"] and gateway["enable_snat"] is True
    [external] = gateway["external_fixed_ips"]
    port = ports_of(admin, router["id"])["network:router_gateway"]
    assert port["fixed_ips"] == [external] and port["network_id"] == public["id"]
    wait_for(lambda: f"{external['ip_address']}/24" in addresses(stack), 30,
             what="the gateway address in the namespace")

    # The same network again changes nothing.
    again = set_gateway(demo, router["id"], {"network_id": public["id"]}).json()["router"]
    assert again["external_gateway_info"] == gateway

    cleared = set_gateway(demo, router["id"], {})
    assert cleared.status_code == 200 and cleared.json()["router"]["external_gateway_info"] is None
    assert ports_of(admin, router["id"]) == {}
    wait_for(lambda: f"{external['ip_address']}/24" not in addresses(stack), 30,
             what="the gateway address gone from the namespace")
    # null clears too, and a router made with a gateway has it at once.
    assert set_gateway(demo, router["id"], None).status_code == 200
    made = make_router(external_gateway_info={"network_id": public["id"]})
    assert made["external_gateway_info"]["network_id"] == public["id"]


def test_gateway_on_a_network_that_is_not_external_is_refused(make_router, demo):
    network = demo.create("network", name=unique("int"))
    router = make_router()
    body = error(set_gateway(demo, router["id"], {"network_id": network["id"]}), 400)
    assert body == {"type": "BadRequest", "detail": "",
                    "message": f"Bad router request: Network {network['id']} is not an "
                               "external network."}
    made = demo.call("POST", "/routers", json={"router": {
        "name": unique("rt"), "external_gateway_info": {"network_id": network["id"]}}})
    error(made, 400)
    assert demo.show("router", router["id"])["external_gateway_info"] is None
    body = error(set_gateway(demo, router["id"], {"network_id": NO_SUCH}), 404)
    assert body["type"] == "NetworkNotFound"
    body = error(set_gateway(demo, router["id"], {"enable_snat": False}), 400)
    assert body["type"] == "HTTPBadRequest"
    assert body["message"].startswith("Invalid input for external_gateway_info.")


def test_snat_and_external_ips_are_for_admins(make_router, demo, admin, public):
    router = make_router()
    body = error(set_gateway(demo, router["id"], {"network_id": public["id"],
                                                  "enable_snat": False}), 403)
    assert body["type"] == "PolicyNotAuthorized"
    assert "rule:update_router:external_gateway_info:enable_snat" in body["message"]
    assert demo.show("router", router["id"])["external_gateway_info"] is None

    shown = set_gateway(admin, router["id"], {"network_id": public["id"], "enable_snat": False})
    assert shown.status_code == 200, shown.text
    assert shown.json()["router"]["external_gateway_info"]["enable_snat"] is False

    subnet = admin.show("subnet", public["subnets"][0])
    body = error(set_gateway(admin, router["id"], {
        "network_id": public["id"],
        "external_fixed_ips": [{"ip_address": subnet["gateway_ip"]}]}), 400)
    assert body["message"] == \
        f"Bad router request: External IP {subnet['gateway_ip']} is the same as the gateway IP."
    base = subnet["cidr"].rsplit(".", 1)[0]
    wanted = f"{base}.250"
    moved = set_gateway(admin, router["id"], {
        "network_id": public["id"], "external_fixed_ips": [{"ip_address": wanted}]})
    assert moved.status_code == 200, moved.text
    gateway = moved.json()["router"]["external_gateway_info"]
    assert gateway["external_fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": wanted}]
    assert gateway["enable_snat"] is True      # not given: the default again
    name = unique("rt")
    taken = admin.call("POST", "/routers", json={"router": {
        "name": name, "external_gateway_info": {
            "network_id": public["id"], "external_fixed_ips": [{"ip_address": wanted}]}}})
    assert error(taken, 409)["type"] == "IpAddressAlreadyAllocated"
    assert admin.list("router", name=name) == []      # nothing half-made
    set_gateway(admin, router["id"], None)


# --- interfaces --------------------------------------------------------------------------
def test_interface_by_subnet(make_router, stack, demo, admin, public):
    network, subnet = demo.network_with_subnet(unique("rif"), cidr(OCTET))
    router = make_router(external_gateway_info={"network_id": public["id"]})
    added = put(demo, router["id"], "add_router_interface", subnet_id=subnet["id"])
    assert added.status_code == 200, added.text
    info = added.json()
    port_id = info["port_id"]
    assert info == {"id": router["id"], "subnet_id": subnet["id"], "subnet_ids": [subnet["id"]],
                    "port_id": port_id, "network_id": network["id"],
                    "project_id": router["project_id"], "tenant_id": router["project_id"]}
    port = demo.show("port", port_id)
    assert port["device_owner"] == "network:router_interface"
    assert port["device_id"] == router["id"] and port["security_groups"] == []
    assert port["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": subnet["gateway_ip"]}]
    wait_for(lambda: f"{subnet['gateway_ip']}/24" in addresses(stack), 30,
             what="the interface address in the namespace")

    again = error(put(demo, router["id"], "add_router_interface", subnet_id=subnet["id"]), 400)
    assert again == {"type": "BadRequest", "detail": "",
                     "message": f"Bad router request: Router already has a port on subnet "
                                f"{subnet['id']}."}
    other = make_router()
    taken = error(put(demo, other["id"], "add_router_interface", subnet_id=subnet["id"]), 409)
    assert taken["type"] == "IpAddressAlreadyAllocated"
    assert taken["message"] == \
        f"IP address {subnet['gateway_ip']} already allocated in subnet {subnet['id']}"

    # A subnet with an interface stays; so does its network.
    assert error(demo.call("DELETE", f"/subnets/{subnet['id']}"), 409)["type"] == "SubnetInUse"
    assert error(demo.call("DELETE", f"/networks/{network['id']}"), 409)["type"] == \
        "NetworkInUse"
    # Its port goes only with the interface.
    refused = error(demo.call("DELETE", f"/ports/{port_id}"), 409)
    assert refused["type"] == "ServicePortInUse"

    removed = put(demo, router["id"], "remove_router_interface", subnet_id=subnet["id"])
    assert removed.status_code == 200, removed.text
    assert removed.json() == info
    assert error(demo.call("GET", f"/ports/{port_id}"), 404)["type"] == "PortNotFound"
    wait_for(lambda: f"{subnet['gateway_ip']}/24" not in addresses(stack), 30,
             what="the interface address gone from the namespace")
    missing = error(put(demo, router["id"], "remove_router_interface",
                        subnet_id=subnet["id"]), 404)
    assert missing == {"type": "RouterInterfaceNotFoundForSubnet", "detail": "",
                       "message": f"Router {router['id']} has no interface on subnet "
                                  f"{subnet['id']}"}


def test_interface_by_port(make_router, demo):
    network, subnet = demo.network_with_subnet(unique("rip"), cidr(OCTET))
    router = make_router()
    port = demo.create("port", network_id=network["id"])
    assert port["security_groups"]
    info = put(demo, router["id"], "add_router_interface", port_id=port["id"]).json()
    assert info["port_id"] == port["id"] and info["subnet_ids"] == [subnet["id"]]
    shown = demo.show("port", port["id"])
    assert (shown["device_owner"], shown["device_id"]) == ("network:router_interface",
                                                           router["id"])
    used = demo.create("port", network_id=network["id"], device_id="some-server")
    body = error(put(demo, router["id"], "add_router_interface", port_id=used["id"]), 409)
    assert body["type"] == "PortInUse"
    assert body["message"] == (f"Unable to complete operation on port {used['id']} for network "
                               f"{network['id']}. Port already has an attached device "
                               "some-server.")
    mismatch = error(put(demo, router["id"], "remove_router_interface", port_id=port["id"],
                         subnet_id=NO_SUCH), 400)
    assert mismatch["type"] == "SubnetMismatchForPort"
    removed = put(demo, router["id"], "remove_router_interface", port_id=port["id"])
    assert removed.status_code == 200 and removed.json()["port_id"] == port["id"]
    assert error(demo.call("GET", f"/ports/{port['id']}"), 404)["type"] == "PortNotFound"
    body = error(put(demo, router["id"], "remove_router_interface", port_id=port["id"]), 404)
    assert body == {"type": "RouterInterfaceNotFound", "detail": "",
                    "message": f"Router {router['id']} does not have an interface with id "
                               f"{port['id']}"}


@pytest.mark.parametrize("body, message", [
    ({}, "Bad router request: Either subnet_id or port_id must be specified."),
    ({"subnet_id": "abc"}, "Bad router request: 'abc' is not a valid UUID."),
    ({"subnet_id": NO_SUCH, "port_id": NO_SUCH},
     "Bad router request: Cannot specify both subnet-id and port-id."),
])
def test_interface_requests_that_make_no_sense(make_router, demo, body, message):
    router = make_router()
    refused = error(put(demo, router["id"], "add_router_interface", **body), 400)
    assert refused == {"type": "BadRequest", "message": message, "detail": ""}


def test_interface_on_a_subnet_without_gateway_or_unknown(make_router, demo):
    network = demo.create("network", name=unique("nogw"))
    subnet = demo.create("subnet", network_id=network["id"], cidr=cidr(OCTET), ip_version=4,
                         gateway_ip=None)
    router = make_router()
    body = error(put(demo, router["id"], "add_router_interface", subnet_id=subnet["id"]), 400)
    assert body["message"] == \
        "Bad router request: Subnet for router interface must have a gateway IP."
    body = error(put(demo, router["id"], "add_router_interface", subnet_id=NO_SUCH), 404)
    assert body == {"type": "SubnetNotFound", "detail": "",
                    "message": f"Subnet {NO_SUCH} could not be found."}
    assert demo.list("port", device_id=router["id"]) == []


def test_a_router_with_interfaces_is_in_use(make_router, demo, admin, public):
    network, subnet = demo.network_with_subnet(unique("busy"), cidr(OCTET))
    router = make_router(external_gateway_info={"network_id": public["id"]})
    port_id = put(demo, router["id"], "add_router_interface",
                  subnet_id=subnet["id"]).json()["port_id"]
    body = error(demo.call("DELETE", f"/routers/{router['id']}"), 409)
    assert body == {"type": "RouterInUse", "detail": "",
                    "message": f"Router {router['id']} has ports still attached: {port_id}"}
    assert demo.show("router", router["id"])["external_gateway_info"] is not None
    put(demo, router["id"], "remove_router_interface", port_id=port_id)
    assert demo.call("DELETE", f"/routers/{router['id']}").status_code == 204
    # Its gateway port went with it.
    assert admin.list("port", device_id=router["id"]) == []


# --- who sees and may change what --------------------------------------------------------
def test_another_projects_router_does_not_exist_for_a_member(make_router, demo, fresh):
    router = make_router()
    for method, path, body in (
            ("GET", f"/routers/{router['id']}", None),
            ("PUT", f"/routers/{router['id']}", {"router": {"name": "mine"}}),
            ("DELETE", f"/routers/{router['id']}", None),
            ("PUT", f"/routers/{router['id']}/add_router_interface", {"subnet_id": NO_SUCH})):
        assert error(fresh.call(method, path, json=body), 404)["type"] == "RouterNotFound"
    assert router["id"] not in {r["id"] for r in fresh.list("router")}
    assert demo.show("router", router["id"])["name"] == router["name"]


def test_a_member_cannot_attach_another_projects_subnet(demo, fresh):
    network, subnet = demo.network_with_subnet(unique("theirs"), cidr(OCTET))
    router = fresh.create("router", name=unique("rt"))
    body = error(put(fresh, router["id"], "add_router_interface", subnet_id=subnet["id"]), 404)
    assert body["type"] == "SubnetNotFound"


def test_admins_see_and_make_routers_for_any_project(make_router, demo, admin):
    demo_project = demo.find("router", "router1")["project_id"]
    router = make_router(admin, project_id=demo_project)
    assert router["project_id"] == demo_project
    assert demo.show("router", router["id"])["id"] == router["id"]
    assert {router["id"], demo.find("router", "router1")["id"]} <= \
        {r["id"] for r in admin.list("router")}


def test_router_quota(fresh, admin):
    set_quota = admin.call("PUT", f"/quotas/{fresh.project_id}", json={"quota": {"router": 1}})
    assert set_quota.status_code == 200, set_quota.text
    fresh.create("router", name=unique("rt"))
    body = error(fresh.call("POST", "/routers", json={"router": {"name": unique("rt")}}), 409)
    assert body == {"type": "OverQuota", "detail": "",
                    "message": "Quota exceeded for resources: ['router']."}
    assert len(fresh.list("router")) == 1


def test_an_external_network_with_gateways_stays_external(make_router, admin):
    network = admin.create("network", name=unique("ext"), **{"router:external": True})
    admin.create("subnet", network_id=network["id"], cidr=cidr(OCTET), ip_version=4,
                 enable_dhcp=False)
    router = make_router(admin, external_gateway_info={"network_id": network["id"]})
    body = error(admin.call("PUT", f"/networks/{network['id']}",
                            json={"network": {"router:external": False}}), 409)
    assert body == {"type": "ExternalNetworkInUse", "detail": "",
                    "message": f"External network {network['id']} cannot be updated to be "
                               "made non-external, since it has existing gateway ports."}
    assert admin.show("network", network["id"])["router:external"] is True
    set_gateway(admin, router["id"], None)
    assert admin.update("network", network["id"], **{"router:external": False})[
        "router:external"] is False
