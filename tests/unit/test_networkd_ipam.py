"""networkd's IPAM and config, pure functions: Neutron's pools, gateway
and address checks, the lowest free address, each test stack's own
external network."""
from __future__ import annotations

import pytest

from networkd import ipam
from networkd.config import offset_settings
from networkd.errors import (
    GatewayConflictWithAllocationPools,
    InvalidAllocationPool,
    OutOfBoundsAllocationPool,
    OverlappingAllocationPools,
)


def test_default_pools_leave_out_network_broadcast_and_gateway():
    assert ipam.default_pools("10.0.0.0/24", "10.0.0.1") == [("10.0.0.2", "10.0.0.254")]
    assert ipam.default_pools("10.0.0.0/24", "10.0.0.100") == [
        ("10.0.0.1", "10.0.0.99"), ("10.0.0.101", "10.0.0.254")]
    assert ipam.default_pools("10.0.0.0/24", "10.0.0.254") == [("10.0.0.1", "10.0.0.253")]
    assert ipam.default_pools("10.0.0.0/24", None) == [("10.0.0.1", "10.0.0.254")]
    # /31 and /32 have no network or broadcast address to spare (Neutron's rule).
    assert ipam.default_pools("10.0.0.0/31", None) == [("10.0.0.0", "10.0.0.1")]
    assert ipam.first_host("172.24.4.0/24") == "172.24.4.1"


def test_pool_checks_in_neutrons_order_and_words():
    with pytest.raises(InvalidAllocationPool, match="10.0.0.9-10.0.0.2 is not valid"):
        ipam.validate_pools([("10.0.0.9", "10.0.0.2")], "10.0.0.0/24", None)
    with pytest.raises(OutOfBoundsAllocationPool, match="spans beyond the subnet cidr"):
        ipam.validate_pools([("10.0.0.0", "10.0.0.9")], "10.0.0.0/24", None)
    with pytest.raises(OverlappingAllocationPools):
        ipam.validate_pools([("10.0.0.2", "10.0.0.9"), ("10.0.0.9", "10.0.0.20")],
                            "10.0.0.0/24", None)
    with pytest.raises(GatewayConflictWithAllocationPools) as caught:
        ipam.validate_pools([("10.0.0.1", "10.0.0.9")], "10.0.0.0/24", "10.0.0.1")
    assert caught.value.status == 409 and caught.value.type == \
        "GatewayConflictWithAllocationPools"
    ipam.validate_pools([("10.0.0.2", "10.0.0.9"), ("10.0.0.10", "10.0.0.20")],
                        "10.0.0.0/24", "10.0.0.1")


def test_addresses_a_port_may_hold_and_gateways():
    assert ipam.in_subnet("10.0.0.0/24", "10.0.0.1")
    assert not ipam.in_subnet("10.0.0.0/24", "10.0.0.0")
    assert not ipam.in_subnet("10.0.0.0/24", "10.0.0.255")
    assert not ipam.in_subnet("10.0.0.0/24", "10.0.1.5")
    assert ipam.gateway_invalid("10.0.0.0/24", "192.0.2.1")
    assert ipam.gateway_invalid("10.0.0.0/24", "10.0.0.255")
    assert not ipam.gateway_invalid("10.0.0.0/24", "10.0.0.254")


def test_lowest_free_goes_through_the_pools_in_order():
    pools = [("10.0.0.10", "10.0.0.11"), ("10.0.0.2", "10.0.0.3")]
    assert ipam.lowest_free(pools, set()) == "10.0.0.10"
    assert ipam.lowest_free(pools, {"10.0.0.10"}) == "10.0.0.11"
    assert ipam.lowest_free(pools, {"10.0.0.10", "10.0.0.11"}) == "10.0.0.2"
    assert ipam.lowest_free(pools, {"10.0.0.10", "10.0.0.11", "10.0.0.2", "10.0.0.3"}) \
        is None


def test_overlaps_any_way_round():
    assert ipam.overlaps("10.0.0.0/24", "10.0.0.128/25")
    assert ipam.overlaps("10.0.0.0/8", "10.20.0.0/24")
    assert not ipam.overlaps("10.0.0.0/24", "10.0.1.0/24")


def test_each_test_stack_has_its_own_external_network():
    assert offset_settings(0)["network"] == {"public_cidr": "172.24.4.0/24"}
    assert offset_settings(20000)["network"]["public_cidr"] == "172.24.204.0/24"
    assert offset_settings(20100) != offset_settings(20000)
    assert offset_settings(30000)["network"]["public_cidr"] == "172.24.54.0/24"


def test_each_test_stack_reaches_its_own_metadata_service():
    assert offset_settings(0)["metadata"] == {"nova_metadata_url": "http://127.0.0.1:8775"}
    assert offset_settings(23000)["metadata"] == {
        "nova_metadata_url": "http://127.0.0.1:31775"}
