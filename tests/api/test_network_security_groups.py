"""Security groups and rules over HTTP: each project's `default` group
made at its first need with Neutron's default rules, groups
create/list/show/update/delete, rules create/list/show/delete with
Neutron's validation (every refusal with its type and message), ports in
the default group, groups in use, another project's groups, quotas, and
a rule reaching the stack's nftables."""
from __future__ import annotations

import pytest

from tests.support.compute import wait_for
from tests.support.network import Networking, networking_fixture, ruleset
from tests.support.network_api import cidr, error, fresh_networking, unique

OCTET = 213
NO_SUCH = "00000000-0000-0000-0000-000000000000"


demo = networking_fixture("demo")


admin = networking_fixture("admin")


@pytest.fixture
def fresh(stack):
    client = fresh_networking(stack)
    yield client
    client.cleanup()


@pytest.fixture(scope="module")
def group(demo):
    """A group of the demo project for the rule tests."""
    return demo.create("security_group", name=unique("sg"))


@pytest.fixture
def new_group(demo):
    """Groups of the demo project made by one test, deleted after it (a
    project may have ten)."""
    made: list[str] = []

    def make(**fields) -> dict:
        created = demo.create("security_group", name=unique("sg"), **fields)
        made.append(created["id"])
        return created

    yield make
    for group_id in made:
        demo.call("DELETE", f"/security-groups/{group_id}")


def rule_body(group_id: str, **fields) -> dict:
    fields.setdefault("direction", "ingress")
    return {"security_group_rule": {"security_group_id": group_id, **fields}}


def post_rule(client: Networking, group_id: str, **fields):
    return client.call("POST", "/security-group-rules", json=rule_body(group_id, **fields))


def shape(rule: dict) -> tuple:
    return (rule["direction"], rule["ethertype"], rule["protocol"], rule["port_range_min"],
            rule["port_range_max"], rule["remote_ip_prefix"], rule["remote_group_id"])


# --- the default group -------------------------------------------------------------------
def test_the_default_group_is_made_at_the_first_list(fresh):
    [default] = fresh.list("security_group")
    assert default["name"] == "default" and default["description"] == "Default security group"
    assert default["project_id"] == fresh.project_id and default["stateful"] is True
    assert sorted(shape(r) for r in default["security_group_rules"]) == sorted([
        ("egress", "IPv4", None, None, None, None, None),
        ("egress", "IPv6", None, None, None, None, None),
        ("ingress", "IPv4", None, None, None, None, default["id"]),
        ("ingress", "IPv6", None, None, None, None, default["id"])])
    assert all(r["belongs_to_default_sg"] for r in default["security_group_rules"])
    # Once: the second list finds the same group, and so does the rule list.
    assert [g["id"] for g in fresh.list("security_group")] == [default["id"]]
    rules = fresh.list("security_group_rule")
    assert {r["security_group_id"] for r in rules} == {default["id"]} and len(rules) == 4


def test_a_port_without_groups_is_in_the_default_group(fresh):
    network = fresh.create("network", name=unique("sgnet"))
    fresh.create("subnet", network_id=network["id"], cidr=cidr(OCTET), ip_version=4)
    port = fresh.create("port", network_id=network["id"])
    [default] = fresh.list("security_group", name="default")
    assert port["security_groups"] == [default["id"]]
    mine = fresh.create("security_group", name=unique("sg"))
    chosen = fresh.create("port", network_id=network["id"], security_groups=[mine["id"]])
    assert chosen["security_groups"] == [mine["id"]]
    body = error(fresh.call("POST", "/ports", json={"port": {
        "network_id": network["id"], "security_groups": [NO_SUCH]}}), 404)
    assert body == {"type": "SecurityGroupNotFound", "detail": "",
                    "message": f"Security group {NO_SUCH} does not exist"}


def test_the_default_group_keeps_its_name_and_stays(fresh):
    """In a project of its own: a port in the default group (another test's,
    in a shared project) would make the delete answer SecurityGroupInUse,
    which Neutron checks first."""
    [default] = fresh.list("security_group", name="default")
    body = error(fresh.call("PUT", f"/security-groups/{default['id']}",
                            json={"security_group": {"name": "other"}}), 409)
    assert body == {"type": "SecurityGroupCannotUpdateDefault", "detail": "",
                    "message": "Updating default security group not allowed."}
    described = fresh.update("security_group", default["id"], description="ours")
    assert described["description"] == "ours"
    fresh.update("security_group", default["id"], description="Default security group")
    body = error(fresh.call("DELETE", f"/security-groups/{default['id']}"), 409)
    assert body == {"type": "SecurityGroupCannotRemoveDefault", "detail": "",
                    "message": "Insufficient rights for removing default security group."}
    assert [g["id"] for g in fresh.list("security_group", name="default")] == [default["id"]]
    body = error(fresh.call("POST", "/security-groups",
                            json={"security_group": {"name": "Default"}}), 409)
    assert body == {"type": "SecurityGroupDefaultAlreadyExists", "detail": "",
                    "message": "Default security group already exists."}


def test_an_admin_may_delete_a_default_group_and_it_comes_back(fresh, admin):
    [default] = fresh.list("security_group")
    assert admin.call("DELETE", f"/security-groups/{default['id']}").status_code == 204
    [again] = fresh.list("security_group")
    assert again["name"] == "default" and again["id"] != default["id"]


# --- groups ------------------------------------------------------------------------------
def test_group_lifecycle(demo):
    name = unique("sg")
    made = demo.create("security_group", name=name, description="web servers")
    assert made["description"] == "web servers" and made["stateful"] is True
    assert made["shared"] is False and made["tags"] == []
    assert made["project_id"] == made["tenant_id"]
    # A new group starts with Neutron's two egress rules.
    assert sorted(shape(r) for r in made["security_group_rules"]) == [
        ("egress", "IPv4", None, None, None, None, None),
        ("egress", "IPv6", None, None, None, None, None)]
    assert not any(r["belongs_to_default_sg"] for r in made["security_group_rules"])
    assert [g["id"] for g in demo.list("security_group", name=name)] == [made["id"]]
    assert demo.show("security_group", made["id"]) == made
    changed = demo.update("security_group", made["id"], name=name + "-b", description="")
    assert changed["name"] == name + "-b" and changed["description"] == ""
    body = error(demo.call("PUT", f"/security-groups/{made['id']}",
                           json={"security_group": {"name": "default"}}), 409)
    assert body["type"] == "SecurityGroupDefaultAlreadyExists"
    assert demo.call("PUT", f"/security-groups/{made['id']}/tags/lab").status_code == 201
    assert [g["id"] for g in demo.list("security_group", tags="lab")] == [made["id"]]
    assert demo.call("DELETE", f"/security-groups/{made['id']}").status_code == 204
    body = error(demo.call("GET", f"/security-groups/{made['id']}"), 404)
    assert body == {"type": "SecurityGroupNotFound", "detail": "",
                    "message": f"Security group {made['id']} does not exist"}
    # Its rules went with it.
    rule_id = made["security_group_rules"][0]["id"]
    body = error(demo.call("GET", f"/security-group-rules/{rule_id}"), 404)
    assert body == {"type": "SecurityGroupRuleNotFound", "detail": "",
                    "message": f"Security group rule {rule_id} does not exist"}


def test_a_group_ports_use_stays(new_group, demo):
    network, _ = demo.network_with_subnet(unique("sgused"), cidr(OCTET))
    used = new_group()
    port = demo.create("port", network_id=network["id"], security_groups=[used["id"]])
    body = error(demo.call("DELETE", f"/security-groups/{used['id']}"), 409)
    assert body == {"type": "SecurityGroupInUse", "detail": "",
                    "message": f"Security Group {used['id']} in use."}
    body = error(demo.call("PUT", f"/security-groups/{used['id']}",
                           json={"security_group": {"stateful": False}}), 409)
    assert body["type"] == "SecurityGroupInUse"
    assert demo.show("security_group", used["id"])["stateful"] is True
    demo.update("port", port["id"], security_groups=[])
    assert demo.call("DELETE", f"/security-groups/{used['id']}").status_code == 204


def test_another_projects_groups_do_not_exist_for_a_member(demo, fresh, admin, group):
    assert group["id"] not in {g["id"] for g in fresh.list("security_group")}
    for method, body in (("GET", None), ("PUT", {"security_group": {"description": "x"}}),
                         ("DELETE", None)):
        assert error(fresh.call(method, f"/security-groups/{group['id']}", json=body), 404)[
            "type"] == "SecurityGroupNotFound"
    body = error(post_rule(fresh, group["id"], protocol="tcp"), 404)
    assert body["type"] == "SecurityGroupNotFound"
    [theirs] = fresh.list("security_group")
    body = error(post_rule(demo, theirs["id"]), 404)
    assert body["type"] == "SecurityGroupNotFound"
    # Admins see every project's groups.
    seen = {g["id"] for g in admin.list("security_group")}
    assert {group["id"], theirs["id"]} <= seen


# --- rules -------------------------------------------------------------------------------
def test_rule_lifecycle(demo, group):
    made = demo.rule(group["id"], protocol="tcp", port_range_min=22, port_range_max=22,
                     remote_ip_prefix="192.0.2.0/24", description="ssh")
    assert shape(made) == ("ingress", "IPv4", "tcp", 22, 22, "192.0.2.0/24", None)
    assert made["normalized_cidr"] == "192.0.2.0/24" and made["description"] == "ssh"
    assert made["security_group_id"] == group["id"] and made["remote_address_group_id"] is None
    assert made["project_id"] == group["project_id"]
    assert demo.show("security_group_rule", made["id"]) == made
    in_group = demo.list("security_group_rule", security_group_id=group["id"])
    assert made["id"] in {r["id"] for r in in_group}
    assert [r["id"] for r in demo.list("security_group_rule", security_group_id=group["id"],
                                       direction="ingress", protocol="tcp")] == [made["id"]]
    assert made["id"] in {r["id"] for r in demo.show("security_group", group["id"])[
        "security_group_rules"]}
    assert demo.call("DELETE", f"/security-group-rules/{made['id']}").status_code == 204
    assert error(demo.call("GET", f"/security-group-rules/{made['id']}"), 404)["type"] == \
        "SecurityGroupRuleNotFound"
    assert error(demo.call("DELETE", f"/security-group-rules/{made['id']}"), 404)["type"] == \
        "SecurityGroupRuleNotFound"


@pytest.mark.parametrize("given, expected", [
    ({"protocol": "TCP", "port_range_min": 80, "port_range_max": 81},
     ("ingress", "IPv4", "tcp", 80, 81, None, None)),
    ({"protocol": "any", "direction": "egress", "remote_ip_prefix": "10.1.2.3"},
     ("egress", "IPv4", None, None, None, "10.1.2.3/32", None)),
    ({"protocol": "17", "port_range_min": 1, "port_range_max": 65535},
     ("ingress", "IPv4", "17", None, None, None, None)),
    ({"protocol": "icmp", "ethertype": "ipv6"},
     ("ingress", "IPv6", "ipv6-icmp", None, None, None, None)),
    ({"protocol": "icmp", "port_range_min": 8, "port_range_max": 0},
     ("ingress", "IPv4", "icmp", 8, 0, None, None)),
    ({"protocol": 132, "port_range_min": "5000", "port_range_max": "5001"},
     ("ingress", "IPv4", "132", 5000, 5001, None, None)),
])
def test_rules_are_written_as_neutron_writes_them(new_group, demo, given, expected):
    target = new_group()
    made = demo.rule(target["id"], **given)
    assert shape(made) == expected


@pytest.mark.parametrize("given, error_type, message", [
    ({"port_range_min": 22, "port_range_max": 22}, "SecurityGroupProtocolRequiredWithPorts",
     "Must also specify protocol if port range is given."),
    ({"protocol": "tcp", "port_range_min": 90, "port_range_max": 80},
     "SecurityGroupInvalidPortRange",
     "For TCP/UDP protocols, port_range_min must be <= port_range_max"),
    ({"protocol": "udp", "port_range_min": 53}, "SecurityGroupInvalidPortRange",
     "For TCP/UDP protocols, port_range_min must be <= port_range_max"),
    ({"protocol": "tcp", "port_range_min": 0, "port_range_max": 80},
     "SecurityGroupInvalidPortValue", "Invalid value for port 0"),
    ({"protocol": "tcp", "port_range_min": 70000, "port_range_max": 70000},
     "SecurityGroupInvalidPortValue", "Invalid value for port 70000"),
    ({"protocol": "icmp", "port_range_min": 256}, "SecurityGroupInvalidIcmpValue",
     "Invalid value for ICMP type (port_range_min) 256. It must be 0 to 255."),
    ({"protocol": "icmp", "port_range_min": 8, "port_range_max": 300},
     "SecurityGroupInvalidIcmpValue",
     "Invalid value for ICMP code (port_range_max) 300. It must be 0 to 255."),
    ({"protocol": "icmp", "port_range_max": 3}, "SecurityGroupMissingIcmpType",
     "ICMP code (port-range-max) 3 is provided but ICMP type (port-range-min) is missing."),
    ({"protocol": "gre", "port_range_min": 1, "port_range_max": 2},
     "SecurityGroupInvalidProtocolForPort",
     "Ports cannot be specified for protocol 47. Ports are only supported for DCCP, SCTP, "
     "TCP, UDP, UDPLITE."),
    ({"protocol": "foo"}, "SecurityGroupRuleInvalidProtocol",
     "Security group rule protocol foo not supported. Only protocol values (None, 'any', "
     "'ah', 'dccp', 'egp', 'esp', 'gre', 'hopopt', 'icmp', 'igmp', 'ip', 'ipip', "
     "'ipv6-encap', 'ipv6-frag', 'ipv6-icmp', 'icmpv6', 'ipv6-nonxt', 'ipv6-opts', "
     "'ipv6-route', 'ospf', 'pgm', 'rsvp', 'sctp', 'tcp', 'udp', 'udplite', 'vrrp') and "
     "integer representations [0 to 255] are supported."),
    ({"protocol": 256}, "SecurityGroupRuleInvalidProtocol", None),
    ({"remote_ip_prefix": "10.0.0.0/8", "remote_group_id": "GROUP"},
     "SecurityGroupMultipleRemoteEntites",
     "Only one of remote_ip_prefix or remote_group_id or remote_address_group_id may be "
     "provided."),
    ({"ethertype": "IPv6", "remote_ip_prefix": "10.0.0.0/8"},
     "SecurityGroupRuleParameterConflict", "Conflicting value ethertype IPv6 for CIDR "
     "10.0.0.0/8"),
    ({"ethertype": "IPv4", "remote_ip_prefix": "2001:db8::/32"},
     "SecurityGroupRuleParameterConflict", "Conflicting value ethertype IPv4 for CIDR "
     "2001:db8::/32"),
    ({"protocol": "ipv6-icmp"}, "SecurityGroupEthertypeConflictWithProtocol",
     "Invalid ethertype IPv4 for protocol ipv6-icmp."),
    ({"ethertype": "IPv5"}, "SecurityGroupRuleInvalidEtherType",
     "Security group rule for ethertype 'IPv5' not supported. Allowed values are "
     "['IPv4', 'IPv6']."),
    ({"remote_ip_prefix": "300.1.1.1/8"}, "InvalidCIDR",
     "Invalid CIDR 300.1.1.1/8 given as IP prefix."),
    ({"direction": "sideways"}, "HTTPBadRequest",
     "Invalid input for direction. Reason: 'sideways' is not in ['ingress', 'egress']."),
    ({"direction": None}, "HTTPBadRequest", None),
    ({"remote_group_id": NO_SUCH}, "SecurityGroupNotFound",
     f"Security group {NO_SUCH} does not exist"),
    ({"normalized_cidr": "10.0.0.0/8"}, "HTTPBadRequest",
     "Attribute 'normalized_cidr' not allowed in POST"),
    ({"colour": "blue"}, "HTTPBadRequest", "Unrecognized attribute(s) 'colour'"),
])
def test_rules_neutron_refuses(demo, group, given, error_type, message):
    fields = {k: (group["id"] if v == "GROUP" else v) for k, v in given.items()}
    before = len(demo.show("security_group", group["id"])["security_group_rules"])
    body = error(post_rule(demo, group["id"], **fields), 404 if error_type.endswith(
        "NotFound") else 400)
    assert body["type"] == error_type
    if message:
        assert body["message"] == message
    assert len(demo.show("security_group", group["id"])["security_group_rules"]) == before


def test_a_rule_needs_a_direction_and_a_group(demo, group):
    body = error(demo.call("POST", "/security-group-rules", json={"security_group_rule": {
        "security_group_id": group["id"]}}), 400)
    assert body["message"] == \
        "Failed to parse request. Required attribute 'direction' not specified"
    body = error(post_rule(demo, NO_SUCH), 404)
    assert body == {"type": "SecurityGroupNotFound", "detail": "",
                    "message": f"Security group {NO_SUCH} does not exist"}


@pytest.mark.parametrize("first, second", [
    ({"protocol": "tcp", "port_range_min": 22, "port_range_max": 22},
     {"protocol": "6", "port_range_min": 22, "port_range_max": 22}),
    ({"protocol": "udp"}, {"protocol": "udp", "remote_ip_prefix": "0.0.0.0/0"}),
    ({"protocol": "icmp", "ethertype": "IPv6"}, {"protocol": "58", "ethertype": "IPv6"}),
    ({"protocol": "tcp", "port_range_min": 1, "port_range_max": 65535}, {"protocol": "tcp"}),
])
def test_the_same_rule_twice_is_refused(new_group, demo, first, second):
    target = new_group()
    made = demo.rule(target["id"], **first)
    body = error(post_rule(demo, target["id"], **second), 409)
    assert body == {"type": "SecurityGroupRuleExists", "detail": "",
                    "message": f"Security group rule already exists. Rule id is {made['id']}."}


def test_the_default_egress_rules_exist_already(new_group, demo):
    target = new_group()
    body = error(post_rule(demo, target["id"], direction="egress"), 409)
    assert body["type"] == "SecurityGroupRuleExists"


def test_a_remote_group_rule_goes_with_its_remote_group(new_group, demo):
    target = new_group()
    remote = new_group()
    made = demo.rule(target["id"], protocol="tcp", port_range_min=443, port_range_max=443,
                     remote_group_id=remote["id"])
    assert made["remote_group_id"] == remote["id"] and made["remote_ip_prefix"] is None
    assert demo.call("DELETE", f"/security-groups/{remote['id']}").status_code == 204
    rules = demo.show("security_group", target["id"])["security_group_rules"]
    assert made["id"] not in {r["id"] for r in rules} and len(rules) == 2


def test_a_rule_reaches_the_stacks_firewall(new_group, stack, demo):
    """A guest port in a group: the group's new rule appears in the
    namespace's nftables (the data plane's part is tested on its own)."""
    network, _ = demo.network_with_subnet(unique("sgfw"), cidr(OCTET))
    target = new_group()
    port = demo.create("port", network_id=network["id"], security_groups=[target["id"]],
                       device_owner="compute:nova")
    made = demo.rule(target["id"], protocol="tcp", port_range_min=8123, port_range_max=8123,
                     remote_ip_prefix="192.0.2.0/24")
    wait_for(lambda: "8123" in ruleset(stack), 30, what="the rule in nftables")
    demo.delete("security_group_rule", made["id"])
    wait_for(lambda: "8123" not in ruleset(stack), 30, what="the rule gone from nftables")
    demo.delete("port", port["id"])


# --- quotas ------------------------------------------------------------------------------
def test_group_and_rule_quotas(fresh, admin):
    response = admin.call("PUT", f"/quotas/{fresh.project_id}", json={"quota": {
        "security_group": 2, "security_group_rule": 7}})
    assert response.status_code == 200, response.text
    fresh.list("security_group")                     # default: 1 group, 4 rules
    made = fresh.create("security_group", name=unique("sg"))   # 2 groups, 6 rules
    fresh.rule(made["id"], protocol="tcp")                     # 7 rules
    body = error(post_rule(fresh, made["id"], protocol="udp"), 409)
    assert body == {"type": "OverQuota", "detail": "",
                    "message": "Quota exceeded for resources: ['security_group_rule']."}
    body = error(fresh.call("POST", "/security-groups",
                            json={"security_group": {"name": unique("sg")}}), 409)
    assert body == {"type": "OverQuota", "detail": "",
                    "message": "Quota exceeded for resources: ['security_group']."}
    admin.call("PUT", f"/quotas/{fresh.project_id}", json={"quota": {"security_group": 3}})
    body = error(fresh.call("POST", "/security-groups",
                            json={"security_group": {"name": unique("sg")}}), 409)
    assert body["message"] == "Quota exceeded for resources: ['security_group_rule']."
    assert len(fresh.list("security_group")) == 2
