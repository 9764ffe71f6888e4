"""networkd's security group rule checks without a daemon: what Neutron
accepts and how it writes it, what it refuses, and which rules are the
same rule."""
from __future__ import annotations

import pytest

from networkd import security_groups as sg
from networkd.attributes import HTTPBadRequest, parse_create


def rule(**fields) -> dict:
    """A rule body as the API parses it (defaults filled in)."""
    body = {"security_group_rule": {"security_group_id": "g", "direction": "ingress",
                                    **fields}}
    parsed = parse_create(sg.RULE, body, sg.RULE_ATTRS)
    sg.check_rule(parsed)
    return parsed


def test_protocols_are_names_numbers_or_any():
    assert rule(protocol="TCP")["protocol"] == "tcp"
    assert rule(protocol=6)["protocol"] == "6"
    assert rule(protocol="any")["protocol"] is None
    assert rule(protocol="icmp", ethertype="IPv6")["protocol"] == "ipv6-icmp"
    assert rule(protocol="1", ethertype="ipv6")["protocol"] == "58"
    for bad in ("foo", 256, -1, True, ""):
        with pytest.raises(sg.SecurityGroupRuleInvalidProtocol):
            rule(protocol=bad)


def test_the_whole_port_range_is_no_range_and_prefixes_keep_their_host_bits():
    whole = rule(protocol="tcp", port_range_min=1, port_range_max=65535)
    assert (whole["port_range_min"], whole["port_range_max"]) == (None, None)
    assert rule(remote_ip_prefix="10.1.2.3")["remote_ip_prefix"] == "10.1.2.3/32"
    assert rule(remote_ip_prefix="10.1.2.3/8")["remote_ip_prefix"] == "10.1.2.3/8"
    assert rule(remote_ip_prefix="")["remote_ip_prefix"] is None


@pytest.mark.parametrize("fields, refusal", [
    ({"port_range_min": 1}, sg.SecurityGroupProtocolRequiredWithPorts),
    ({"protocol": "tcp", "port_range_min": 9, "port_range_max": 8},
     sg.SecurityGroupInvalidPortRange),
    ({"protocol": "udp", "port_range_max": 8}, sg.SecurityGroupInvalidPortRange),
    ({"protocol": "tcp", "port_range_min": 0, "port_range_max": 8},
     sg.SecurityGroupInvalidPortValue),
    ({"protocol": "tcp", "port_range_min": "x"}, sg.SecurityGroupInvalidPortValue),
    ({"protocol": "icmp", "port_range_min": 256}, sg.SecurityGroupInvalidIcmpValue),
    ({"protocol": "icmp", "port_range_max": 0}, sg.SecurityGroupMissingIcmpType),
    ({"protocol": "gre", "port_range_min": 1, "port_range_max": 1},
     sg.SecurityGroupInvalidProtocolForPort),
    ({"ethertype": "IPv6", "remote_ip_prefix": "10.0.0.0/8"},
     sg.SecurityGroupRuleParameterConflict),
    ({"protocol": "ipv6-icmp"}, sg.SecurityGroupEthertypeConflictWithProtocol),
    ({"remote_ip_prefix": "10.0.0.0/8", "remote_group_id": "g"},
     sg.SecurityGroupMultipleRemoteEntites),
    ({"ethertype": "IPX"}, sg.SecurityGroupRuleInvalidEtherType),
    ({"remote_ip_prefix": "10.0.0.0/33"}, sg.InvalidCIDR),
    ({"direction": "up"}, HTTPBadRequest),
])
def test_neutron_refuses(fields, refusal):
    with pytest.raises(refusal):
        rule(**fields)


def test_icmp_type_and_code_are_kept():
    echo = rule(protocol="icmp", port_range_min=8, port_range_max=0)
    assert (echo["port_range_min"], echo["port_range_max"]) == (8, 0)


def test_the_same_rule_written_differently_has_one_key():
    def key(**fields) -> str:
        return sg.rule_key(rule(**fields))

    assert key(protocol="tcp") == key(protocol="6")
    assert key(protocol="udp", remote_ip_prefix="0.0.0.0/0") == key(protocol="udp")
    assert key(protocol="icmpv6", ethertype="IPv6") == key(protocol="58", ethertype="IPv6")
    assert key(protocol="tcp", port_range_min=1, port_range_max=65535) == key(protocol="tcp")
    assert key(protocol="tcp") != key(protocol="udp")
    assert key(direction="egress") != key(direction="ingress")
    assert key(remote_ip_prefix="10.0.0.0/8") != key(remote_ip_prefix="10.0.0.1/8")
