"""networkd over HTTP: discovery, Neutron's error body, the first-start
networks, and networks: create/list/show/update/delete, filters, paging,
tags, who sees and may change what."""
from __future__ import annotations

import requests

from tests.support.network import networking_fixture
from tests.support.network_api import cidr, error, unique

OCTET = 201


demo = networking_fixture("demo")


admin = networking_fixture("admin")


# --- discovery and errors ---------------------------------------------------------------
def test_versions_need_no_token(stack):
    response = requests.get(stack.url("networkd") + "/", timeout=10)
    assert response.status_code == 200
    (version,) = response.json()["versions"]
    assert version["id"] == "v2.0" and version["status"] == "CURRENT"
    assert version["links"][0]["href"] == stack.url("networkd") + "/v2.0/"


def test_the_catalog_names_networkd_without_a_version(stack, demo):
    response = requests.get(stack.url("identity") + "/v3/auth/catalog",
                            headers={"X-Auth-Token": demo.token}, timeout=10)
    [entry] = [e for e in response.json()["catalog"] if e["type"] == "network"]
    assert {e["url"] for e in entry["endpoints"]} == {stack.url("networkd")}


def test_extensions_are_listed_and_found_by_alias(demo):
    response = demo.call("GET", "/extensions")
    assert response.status_code == 200
    aliases = {e["alias"] for e in response.json()["extensions"]}
    assert {"external-net", "binding", "port-security", "quotas", "net-mtu",
            "project-id", "standard-attr-tag"} <= aliases
    found = demo.call("GET", "/extensions/external-net")
    assert found.status_code == 200
    assert found.json()["extension"]["alias"] == "external-net"
    body = error(demo.call("GET", "/extensions/no-such-thing"), 404)
    assert body == {"type": "HTTPNotFound", "detail": "",
                    "message": "Extension with alias no-such-thing does not exist"}


def test_errors_are_neutron_errors(stack, demo):
    unauthenticated = requests.get(stack.url("networkd") + "/v2.0/networks", timeout=10)
    assert error(unauthenticated, 401)["type"] == "HTTPUnauthorized"
    assert error(demo.call("GET", "/no-such-collection"), 404)["type"] == "HTTPNotFound"
    missing = error(demo.call("GET", "/networks/" + "0" * 8 + "-0000-0000-0000-" + "0" * 12),
                    404)
    assert missing["type"] == "NetworkNotFound"
    assert missing["message"] == \
        "Network 00000000-0000-0000-0000-000000000000 could not be found."


# --- first start ------------------------------------------------------------------------
def test_first_start_made_public_like_devstack(stack, admin):
    public = admin.find("network", "public")
    assert public["router:external"] is True and public["shared"] is False
    assert public["project_id"] == admin.list("network", name="public")[0]["project_id"]
    [subnet] = [admin.show("subnet", s) for s in public["subnets"]]
    assert subnet["name"] == "public-subnet" and subnet["enable_dhcp"] is False
    base = subnet["cidr"].rsplit(".", 1)[0]
    assert subnet["cidr"] == f"{base}.0/24" and base.startswith("172.24.")
    assert subnet["gateway_ip"] == f"{base}.1"
    assert subnet["allocation_pools"] == [{"start": f"{base}.2", "end": f"{base}.254"}]
    assert admin.list("port", network_id=public["id"], device_owner="network:dhcp") == []


def test_first_start_made_private_for_demo_with_dhcp(demo):
    private = demo.find("network", "private")
    assert private["router:external"] is False
    [subnet] = [demo.show("subnet", s) for s in private["subnets"]]
    assert (subnet["name"], subnet["cidr"], subnet["gateway_ip"], subnet["enable_dhcp"]) == \
        ("private-subnet", "10.0.0.0/24", "10.0.0.1", True)
    [dhcp] = demo.list("port", network_id=private["id"], device_owner="network:dhcp")
    assert dhcp["device_id"].startswith("dhcp") and dhcp["device_id"].endswith(private["id"])
    [address] = dhcp["fixed_ips"]
    assert address["subnet_id"] == subnet["id"]
    start, end = subnet["allocation_pools"][0]["start"], subnet["allocation_pools"][0]["end"]
    assert (start, end) == ("10.0.0.2", "10.0.0.254")
    assert address["ip_address"] == "10.0.0.2"  # the first of the pool, as the agent takes


# --- create, show, list, update, delete --------------------------------------------------
def test_network_lifecycle(demo):
    name = unique("net")
    network = demo.create("network", name=name)
    assert network["name"] == name and network["status"] == "ACTIVE"
    assert network["admin_state_up"] is True and network["shared"] is False
    assert network["router:external"] is False and network["mtu"] == 1500
    assert network["port_security_enabled"] is True
    for key in ("subnets", "tags", "availability_zone_hints", "availability_zones"):
        assert isinstance(network[key], list), key
    assert network["subnets"] == [] and network["tags"] == []
    assert network["project_id"] == network["tenant_id"]
    assert network["revision_number"] == 0 and network["created_at"].endswith("Z")

    assert demo.show("network", network["id"]) == network
    assert [n["id"] for n in demo.list("network", name=name)] == [network["id"]]

    changed = demo.update("network", network["id"], name=name + "-b", description="d",
                          admin_state_up=False)
    assert (changed["name"], changed["description"], changed["admin_state_up"]) == \
        (name + "-b", "d", False)
    assert changed["revision_number"] == 1

    assert demo.call("DELETE", f"/networks/{network['id']}").status_code == 204
    assert error(demo.call("GET", f"/networks/{network['id']}"), 404)["type"] == \
        "NetworkNotFound"


def test_list_filters(demo, admin):
    name = unique("filt")
    one = demo.create("network", name=name)
    two = demo.create("network", name=name, port_security_enabled=False)
    both = {one["id"], two["id"]}
    assert {n["id"] for n in demo.list("network", name=name)} == both
    assert [n["id"] for n in demo.list("network", name=name,
                                       port_security_enabled="False")] == [two["id"]]
    assert [n["id"] for n in demo.list("network", id=one["id"])] == [one["id"]]
    externals = demo.list("network", **{"router:external": "True"})
    assert "public" in {n["name"] for n in externals}
    assert all(n["router:external"] is True for n in externals)
    assert all(n["shared"] is False for n in demo.list("network", shared="false"))
    assert {n["id"] for n in demo.list("network", project_id=one["project_id"],
                                       name=name)} == both
    several = demo.call("GET", "/networks", params=[("id", one["id"]), ("id", two["id"])])
    assert {n["id"] for n in several.json()["networks"]} == both
    only = demo.call("GET", "/networks", params={"id": one["id"], "fields": "id,name"})
    assert only.json()["networks"] == [{"id": one["id"], "name": name}]
    conflict = demo.call("GET", "/networks", params={"project_id": "a", "tenant_id": "b"})
    assert error(conflict, 400)["type"] == "TenantIdProjectIdFilterConflict"


def test_paging_with_limit_marker_and_next_links(demo):
    name = unique("page")
    made = sorted(demo.create("network", name=name)["id"] for _ in range(3))
    first = demo.call("GET", "/networks", params={"name": name, "limit": 2,
                                                  "sort_key": "id", "sort_dir": "asc"}).json()
    assert [n["id"] for n in first["networks"]] == made[:2]
    [link] = first["networks_links"]
    assert link["rel"] == "next" and f"marker={made[1]}" in link["href"]
    second = requests.get(link["href"], headers={"X-Auth-Token": demo.token}, timeout=10).json()
    assert [n["id"] for n in second["networks"]] == made[2:]
    assert "networks_links" not in second
    backwards = demo.call("GET", "/networks", params={"name": name, "sort_key": "id",
                                                      "sort_dir": "desc"}).json()
    assert [n["id"] for n in backwards["networks"]] == made[::-1]
    bad = demo.call("GET", "/networks", params={"limit": "-1"})
    assert error(bad, 400)["message"] == "Limit must be an integer 0 or greater and not '-1'"


def test_tags(demo):
    network = demo.create("network", name=unique("tagged"))
    path = f"/networks/{network['id']}/tags"
    put = demo.call("PUT", path, json={"tags": ["red", "blue"]})
    assert put.status_code == 200 and put.json() == {"tags": ["blue", "red"]}
    assert demo.call("PUT", f"{path}/green").status_code == 201
    assert demo.call("GET", f"{path}/green").status_code == 204
    assert error(demo.call("GET", f"{path}/black"), 404)["type"] == "TagNotFound"
    assert demo.show("network", network["id"])["tags"] == ["blue", "green", "red"]
    assert [n["id"] for n in demo.list("network", tags="red,green")] == [network["id"]]
    assert network["id"] in {n["id"] for n in demo.list("network", **{"tags-any": "x,blue"})}
    assert network["id"] not in {n["id"] for n in demo.list("network", **{"not-tags": "red"})}
    assert demo.call("DELETE", f"{path}/red").status_code == 204
    assert demo.call("GET", path).json() == {"tags": ["blue", "green"]}
    assert demo.call("DELETE", path).status_code == 204
    assert demo.show("network", network["id"])["tags"] == []


# --- who sees and changes what -----------------------------------------------------------
def test_members_see_their_own_shared_and_external_networks_only(demo, admin):
    hidden = admin.create("network", name=unique("admins"))
    shared = admin.create("network", name=unique("shared"), shared=True)
    seen = {n["id"] for n in demo.list("network")}
    assert shared["id"] in seen and hidden["id"] not in seen
    assert demo.find("network", "public")["id"] in seen
    assert error(demo.call("GET", f"/networks/{hidden['id']}"), 404)["type"] == \
        "NetworkNotFound"
    assert hidden["id"] in {n["id"] for n in admin.list("network")}


def test_only_admins_make_shared_or_external_networks(demo, admin):
    for flag in ("shared", "router:external"):
        refused = demo.call("POST", "/networks", json={"network": {"name": "x", flag: True}})
        body = error(refused, 403)
        assert body["type"] == "PolicyNotAuthorized"
        assert body["message"] == (f"(rule:create_network and rule:create_network:{flag}) "
                                   "is disallowed by policy")
    made = admin.create("network", name=unique("ext"), **{"router:external": True})
    assert made["router:external"] is True
    assert admin.update("network", made["id"], **{"router:external": False})[
        "router:external"] is False


def test_members_cannot_change_networks_they_only_see(demo, admin):
    public = demo.find("network", "public")
    refused = demo.call("PUT", f"/networks/{public['id']}", json={"network": {"name": "x"}})
    assert error(refused, 403)["message"] == "rule:update_network is disallowed by policy"
    assert error(demo.call("DELETE", f"/networks/{public['id']}"), 403)["type"] == \
        "PolicyNotAuthorized"
    mine = demo.create("network", name=unique("mine"))
    refused = demo.call("PUT", f"/networks/{mine['id']}", json={"network": {"shared": True}})
    assert error(refused, 403)["type"] == "PolicyNotAuthorized"


def test_bad_bodies(demo):
    unknown = error(demo.call("POST", "/networks", json={"network": {"colour": "red"}}), 400)
    assert unknown == {"type": "HTTPBadRequest", "detail": "",
                       "message": "Unrecognized attribute(s) 'colour'"}
    missing = error(demo.call("POST", "/networks", json={"net": {}}), 400)
    assert missing["message"] == "Unable to find 'network' in request body"
    bad_bool = error(demo.call("POST", "/networks", json={"network": {
        "admin_state_up": "perhaps"}}), 400)
    assert bad_bool["message"] == ("Invalid input for admin_state_up. Reason: 'perhaps' "
                                   "cannot be converted to boolean.")
    assert error(demo.call("POST", "/networks", data="not json"), 400)["type"] == \
        "HTTPBadRequest"


# --- delete: only DHCP ports may remain -------------------------------------------------
def test_a_network_with_ports_is_in_use(demo):
    network, subnet = demo.network_with_subnet(unique("busy"), cidr(OCTET))
    [dhcp] = demo.list("port", network_id=network["id"])
    assert dhcp["device_owner"] == "network:dhcp"
    port = demo.create("port", network_id=network["id"])
    body = error(demo.call("DELETE", f"/networks/{network['id']}"), 409)
    assert body["type"] == "NetworkInUse"
    assert body["message"] == (f"Unable to complete operation on network {network['id']}. "
                               "There are one or more ports still in use on the network.")
    assert demo.show("subnet", subnet["id"])["id"] == subnet["id"]  # nothing half-deleted
    demo.delete("port", port["id"])
    assert demo.call("DELETE", f"/networks/{network['id']}").status_code == 204
    assert error(demo.call("GET", f"/ports/{dhcp['id']}"), 404)["type"] == "PortNotFound"
    assert error(demo.call("GET", f"/subnets/{subnet['id']}"), 404)["type"] == \
        "SubnetNotFound"
