"""computed's networking rules without networkd (computed/domain/networks.py):
Nova's schema for `networks` and `security_groups` per microversion, the
network chosen when none is named, and the shapes built from ports."""
from __future__ import annotations

import pytest

from computed.domain.networks import (
    AUTO,
    LISTED,
    NONE,
    UNSPECIFIED,
    InvalidNetworks,
    NetworkConflict,
    RequestedNetwork,
    addresses,
    check_count,
    choose_network,
    interface_attachment,
    parse_networks,
    parse_security_groups,
    security_group_id,
    security_group_names,
)

NET = "6d0cc6b4-0000-4000-8000-00000000000a"
NET2 = "6d0cc6b4-0000-4000-8000-00000000000b"
PORT = "6d0cc6b4-0000-4000-8000-0000000000a1"


def test_before_2_37_networks_may_be_absent_or_empty():
    assert parse_networks(None, (2, 1), present=False).mode == UNSPECIFIED
    assert parse_networks([], (2, 1)).mode == UNSPECIFIED
    assert parse_networks(None, (2, 1)).mode == UNSPECIFIED


def test_a_list_names_networks_with_fixed_ips_and_ports():
    request = parse_networks([{"uuid": NET, "fixed_ip": "10.0.0.9"}, {"port": PORT},
                              {"uuid": NET2}], (2, 1))
    assert request.mode == LISTED
    assert request.items == (RequestedNetwork(NET, None, "10.0.0.9"),
                             RequestedNetwork(port_id=PORT), RequestedNetwork(NET2))
    assert RequestedNetwork.from_dict(request.items[0].as_dict()) == request.items[0]


@pytest.mark.parametrize("value, message", [
    ("auto", "'auto' is not of type 'array'"),
    ([{"uuid": NET, "extra": 1}], "Additional properties are not allowed ('extra' was "
                                  "unexpected)"),
    ([{"uuid": NET, "tag": "eth"}], "('tag' was unexpected)"),
    ([{"port": "not-a-uuid"}], "'not-a-uuid' is not a 'uuid'"),
    ([{"uuid": NET, "fixed_ip": "10.0.0.300"}], "is not a valid IP address"),
    ([{"fixed_ip": "10.0.0.3"}], "Bad network format: missing 'uuid'"),
    ([{"uuid": "public"}], "Bad networks format: network uuid is not in proper format "
                           "(public)"),
    ([{"port": PORT}, {"port": PORT}], f"Port ID '{PORT}' was specified twice"),
    ([{"port": PORT, "fixed_ip": "10.0.0.3"}], "cannot be used with port"),
    ([5], "5 is not of type 'object'"),
])
def test_bad_networks_at_2_1(value, message):
    with pytest.raises(InvalidNetworks, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_networks(value, (2, 1))


def test_from_2_37_networks_are_required_and_may_be_auto_or_none():
    assert parse_networks("auto", (2, 37)).mode == AUTO
    assert parse_networks("none", (2, 37)).mode == NONE
    assert parse_networks([], (2, 37)).mode == UNSPECIFIED  # as before 2.37
    with pytest.raises(InvalidNetworks, match="'networks' is a required property"):
        parse_networks(None, (2, 37), present=False)
    with pytest.raises(InvalidNetworks, match="is not one of"):
        parse_networks("some", (2, 37))
    with pytest.raises(InvalidNetworks, match="is not a 'uuid'"):
        parse_networks([{"uuid": "public"}], (2, 37))


def test_tags_exist_at_2_32_to_2_36_and_from_2_42():
    for version in ((2, 32), (2, 36), (2, 42)):
        assert parse_networks([{"uuid": NET, "tag": "nic1"}], version).items[0].tag == "nic1"
    for version in ((2, 31), (2, 37), (2, 41)):
        with pytest.raises(InvalidNetworks, match="'tag' was unexpected"):
            parse_networks([{"uuid": NET, "tag": "nic1"}], version)


def test_ports_and_fixed_ips_are_for_one_server_only():
    check_count(parse_networks([{"port": PORT}], (2, 1)), 1)
    with pytest.raises(InvalidNetworks, match="single configured port ID"):
        check_count(parse_networks([{"port": PORT}], (2, 1)), 2)
    with pytest.raises(InvalidNetworks, match="max_count cannot be greater than 1"):
        check_count(parse_networks([{"uuid": NET, "fixed_ip": "10.0.0.4"}], (2, 1)), 3)
    check_count(parse_networks([{"uuid": NET}], (2, 1)), 3)


def test_security_groups_are_names_or_ids_without_repeats():
    assert parse_security_groups(None) == []
    assert parse_security_groups([{"name": "web"}, {"name": "default"}, {"name": "web"}]) \
        == ["web", "default"]
    for bad in ("web", [{"id": "x"}], [{"name": " web"}], [{"name": 5}]):
        with pytest.raises(InvalidNetworks):
            parse_security_groups(bad)


def test_the_only_usable_network_is_chosen():
    own = {"id": NET, "name": "private"}
    shared = {"id": NET2, "name": "shared", "shared": True}
    public = {"id": "pub", "name": "public", "router:external": True}
    assert choose_network([own, public], auto=False, project_id="p") == NET
    assert choose_network([public], auto=False, project_id="p") is None
    with pytest.raises(NetworkConflict, match="Multiple possible networks found, use a "
                                              "Network ID to be more specific."):
        choose_network([own, shared], auto=True, project_id="p")
    with pytest.raises(InvalidNetworks, match="Unable to automatically allocate a network "
                                              "for project p"):
        choose_network([], auto=True, project_id="p")


def test_security_groups_are_found_by_id_then_by_name():
    groups = [{"id": "g1", "name": "default"}, {"id": "g2", "name": "web"},
              {"id": "g3", "name": "web"}]
    assert security_group_id(groups, "g2") == "g2"
    assert security_group_id(groups, "default") == "g1"
    with pytest.raises(NetworkConflict, match="Multiple security groups found matching "
                                              "'web'"):
        security_group_id(groups, "web")
    with pytest.raises(InvalidNetworks, match="Unable to find security_group with name or "
                                              "id 'db'"):
        security_group_id(groups, "db")


PORTS = [
    {"id": "p1", "network_id": NET, "mac_address": "fa:16:3e:00:00:01", "status": "ACTIVE",
     "fixed_ips": [{"subnet_id": "s1", "ip_address": "10.0.0.5"}],
     "security_groups": ["g1", "g2"]},
    {"id": "p2", "network_id": NET2, "mac_address": "fa:16:3e:00:00:02", "status": "DOWN",
     "fixed_ips": [{"subnet_id": "s2", "ip_address": "10.1.0.7"}], "security_groups": []},
]


def test_addresses_are_novas_fixed_then_floating_by_network_name():
    floating = [{"port_id": "p1", "floating_ip_address": "172.24.4.10"},
                {"port_id": None, "floating_ip_address": "172.24.4.11"}]
    shown = addresses(PORTS, {NET: "private", NET2: "other"}, floating)
    assert shown == {
        "private": [
            {"version": 4, "addr": "10.0.0.5", "OS-EXT-IPS:type": "fixed",
             "OS-EXT-IPS-MAC:mac_addr": "fa:16:3e:00:00:01"},
            {"version": 4, "addr": "172.24.4.10", "OS-EXT-IPS:type": "floating",
             "OS-EXT-IPS-MAC:mac_addr": "fa:16:3e:00:00:01"}],
        "other": [{"version": 4, "addr": "10.1.0.7", "OS-EXT-IPS:type": "fixed",
                   "OS-EXT-IPS-MAC:mac_addr": "fa:16:3e:00:00:02"}]}
    assert addresses(PORTS[1:], {}, [], extended=False) == {
        NET2: [{"version": 4, "addr": "10.1.0.7"}]}


def test_interface_attachments_and_security_group_names():
    assert interface_attachment(PORTS[0]) == {
        "net_id": NET, "port_id": "p1", "mac_addr": "fa:16:3e:00:00:01",
        "port_state": "ACTIVE", "fixed_ips": [{"ip_address": "10.0.0.5", "subnet_id": "s1"}]}
    assert security_group_names(PORTS, {"g1": "default"}) == [{"name": "default"},
                                                               {"name": "g2"}]
