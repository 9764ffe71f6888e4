"""The unmodified python-openstackclient from PyPI against networkd's
routers, floating IPs and security groups: router create, set
--external-gateway, add/remove subnet, unset, delete; floating ip
create/list/show/delete; security group create/list/show/delete and
security group rule create/list/delete, with Neutron's refusals reaching
the user; and server add/remove floating ip on a real guest."""
from __future__ import annotations

import json

import pytest

from tests.support.network_api import cidr, unique
from tests.support.volumes import new_project_user

pytestmark = pytest.mark.compat
OCTET = 214


def as_json(result) -> object:
    return json.loads(result.stdout)


def show(stack, kind: str, name: str, cloud: str = "pocketstack") -> dict:
    found = as_json(stack.openstack(*kind.split(), "show", name, "-f", "json", cloud=cloud))
    assert isinstance(found, dict)
    return found


def test_router_lifecycle_with_the_real_client(stack):
    net, sub, router = unique("clirnet"), unique("clirsub"), unique("clirouter")
    block = cidr(OCTET)
    try:
        stack.openstack("network", "create", net)
        stack.openstack("subnet", "create", "--network", net, "--subnet-range", block, sub)
        created = as_json(stack.openstack("router", "create", router, "-f", "json"))
        assert created["name"] == router and created["status"] == "ACTIVE"
        assert created["external_gateway_info"] is None

        stack.openstack("router", "set", "--external-gateway", "public", router)
        shown = show(stack, "router", router)
        public = show(stack, "network", "public")
        gateway = shown["external_gateway_info"]
        assert gateway["network_id"] == public["id"] and gateway["enable_snat"] is True
        assert len(gateway["external_fixed_ips"]) == 1

        stack.openstack("router", "add", "subnet", router, sub)
        subnet = show(stack, "subnet", sub)
        shown = show(stack, "router", router)
        assert [(i["subnet_id"], i["ip_address"]) for i in shown["interfaces_info"]] == \
            [(subnet["id"], subnet["gateway_ip"])]
        listed = as_json(stack.openstack("router", "list", "-f", "json"))
        assert {"router1", router} <= {r["Name"] for r in listed}

        # The interface keeps the router (Neutron's RouterInUse reaches the user).
        refused = stack.openstack("router", "delete", router, check=False)
        assert refused.returncode != 0 and "still attached" in refused.stderr

        stack.openstack("router", "remove", "subnet", router, sub)
        assert show(stack, "router", router)["interfaces_info"] == []
        stack.openstack("router", "unset", "--external-gateway", router)
        assert show(stack, "router", router)["external_gateway_info"] is None
        stack.openstack("router", "delete", router)
        gone = stack.openstack("router", "show", router, check=False)
        assert gone.returncode != 0 and "No Router found" in gone.stderr
    finally:
        stack.openstack("router", "remove", "subnet", router, sub, check=False)
        stack.openstack("router", "delete", router, check=False)
        stack.openstack("subnet", "delete", sub, check=False)
        stack.openstack("network", "delete", net, check=False)


def test_floating_ip_lifecycle_with_the_real_client(stack):
    created = as_json(stack.openstack("floating", "ip", "create", "--description", "lab",
                                      "public", "-f", "json"))
    address = created["floating_ip_address"]
    try:
        public = show(stack, "network", "public")
        assert created["floating_network_id"] == public["id"]
        assert created["status"] == "DOWN" and created["port_id"] is None
        listed = as_json(stack.openstack("floating", "ip", "list", "-f", "json"))
        [row] = [f for f in listed if f["Floating IP Address"] == address]
        assert row["ID"] == created["id"] and row["Port"] is None
        by_address = show(stack, "floating ip", address)
        assert by_address["id"] == created["id"] and by_address["description"] == "lab"
        assert show(stack, "floating ip", created["id"])["floating_ip_address"] == address

        refused = stack.openstack("floating", "ip", "create", "private", check=False)
        assert refused.returncode != 0 and "is not a valid external network" in refused.stderr

        stack.openstack("floating", "ip", "delete", address)
        gone = stack.openstack("floating", "ip", "show", address, check=False)
        assert gone.returncode != 0
        listed = as_json(stack.openstack("floating", "ip", "list", "-f", "json"))
        assert address not in {f["Floating IP Address"] for f in listed}
    finally:
        stack.openstack("floating", "ip", "delete", created["id"], check=False)


def test_security_group_and_rule_lifecycle_with_the_real_client(stack):
    group = unique("clisg")
    rule_id = None
    try:
        created = as_json(stack.openstack("security", "group", "create", "--description",
                                          "web", group, "-f", "json"))
        assert created["name"] == group and created["description"] == "web"
        assert sorted((r["direction"], r["ethertype"]) for r in created["rules"]) == \
            [("egress", "IPv4"), ("egress", "IPv6")]
        listed = as_json(stack.openstack("security", "group", "list", "-f", "json"))
        assert {"default", group} <= {g["Name"] for g in listed}
        shown = show(stack, "security group", group)
        assert shown["id"] == created["id"]
        default = show(stack, "security group", "default")
        assert [r["ethertype"] for r in default["rules"]
                if r["remote_group_id"] == default["id"]] in (["IPv4", "IPv6"],
                                                               ["IPv6", "IPv4"])

        rule = as_json(stack.openstack("security", "group", "rule", "create", "--protocol",
                                       "tcp", "--dst-port", "22", group, "-f", "json"))
        rule_id = rule["id"]
        assert (rule["protocol"], rule["port_range_min"], rule["port_range_max"]) == \
            ("tcp", 22, 22)
        assert rule["remote_ip_prefix"] == "0.0.0.0/0" and rule["direction"] == "ingress"
        rules = as_json(stack.openstack("security", "group", "rule", "list", group,
                                        "-f", "json"))
        assert rule_id in {r["ID"] for r in rules} and len(rules) == 3
        twice = stack.openstack("security", "group", "rule", "create", "--protocol", "tcp",
                                "--dst-port", "22", group, check=False)
        assert twice.returncode != 0 and "Security group rule already exists" in twice.stderr
        no_protocol = stack.openstack("security", "group", "rule", "create", "--dst-port",
                                      "80", group, check=False)
        assert no_protocol.returncode != 0
        assert "Must also specify protocol if port range is given" in no_protocol.stderr

        stack.openstack("security", "group", "rule", "delete", rule_id)
        rules = as_json(stack.openstack("security", "group", "rule", "list", group,
                                        "-f", "json"))
        assert rule_id not in {r["ID"] for r in rules}
        # Neutron says "in use" first when a port holds the group: a project of
        # its own, with no server, shows the default-group rule itself.
        project, user, password = new_project_user(stack)
        login = {"OS_AUTH_URL": f"{stack.url('identity')}/v3", "OS_IDENTITY_API_VERSION": "3",
                 "OS_USERNAME": user, "OS_PASSWORD": password, "OS_PROJECT_NAME": project,
                 "OS_USER_DOMAIN_NAME": "Default", "OS_PROJECT_DOMAIN_NAME": "Default"}
        stack.openstack("security", "group", "list", cloud=None, env=login)  # makes it
        refused = stack.openstack("security", "group", "delete", "default", cloud=None,
                                  env=login, check=False)
        assert refused.returncode != 0
        assert "Insufficient rights for removing default security group" in refused.stderr
        stack.openstack("security", "group", "delete", group)
        gone = stack.openstack("security", "group", "show", group, check=False)
        assert gone.returncode != 0
    finally:
        if rule_id:
            stack.openstack("security", "group", "rule", "delete", rule_id, check=False)
        stack.openstack("security", "group", "delete", group, check=False)


@pytest.mark.e2e
def test_server_add_and_remove_floating_ip_with_the_real_client(stack):
    server = unique("clifip")
    created = as_json(stack.openstack("floating", "ip", "create", "public", "-f", "json"))
    address = created["floating_ip_address"]
    try:
        stack.openstack("server", "create", "--image", "pocketstack-tiny", "--flavor",
                        "m1.nano", "--network", "private", "--wait", server)
        stack.openstack("server", "add", "floating", "ip", server, address)
        shown = show(stack, "floating ip", address)
        ports = as_json(stack.openstack("port", "list", "--server", server, "-f", "json"))
        [port] = ports
        assert shown["port_id"] == port["ID"] and shown["status"] == "ACTIVE"
        assert shown["fixed_ip_address"] in str(port["Fixed IP Addresses"])
        addresses = show(stack, "server", server)["addresses"]
        assert address in addresses["private"]

        stack.openstack("server", "remove", "floating", "ip", server, address)
        shown = show(stack, "floating ip", address)
        assert shown["port_id"] is None and shown["status"] == "DOWN"
        assert address not in show(stack, "server", server)["addresses"]["private"]
    finally:
        stack.openstack("server", "delete", "--wait", server, check=False)
        stack.openstack("floating", "ip", "delete", address, check=False)
