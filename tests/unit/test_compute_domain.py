"""computed's rules, without a server: states and allowed actions, claims,
device names and block device mappings, request checks, flavors."""
from __future__ import annotations

import base64

import pytest

from computed.domain import states
from computed.domain.claims import (
    HostInventory,
    QuotaLimits,
    Resources,
    flavor_resources,
    no_valid_host_message,
    quota_excess,
    shortfall,
)
from computed.domain.devices import local_disks, next_free_device
from computed.domain.flavors import (
    InvalidFlavor,
    parse_create,
    parse_extra_specs,
    parse_is_public_filter,
)
from computed.domain.server_request import (
    InvalidRequest,
    QuotaError,
    hostname_for,
    parse_counts,
    parse_server_request,
)

IMAGE = "6d0cc6b4-0000-4000-8000-000000000001"


# --- states ------------------------------------------------------------------------------
@pytest.mark.parametrize("vm_state, task_state, status", [
    ("building", "scheduling", "BUILD"), ("building", "spawning", "BUILD"),
    ("active", None, "ACTIVE"), ("active", "rebooting", "REBOOT"),
    ("active", "rebooting_hard", "HARD_REBOOT"), ("active", "image_snapshot", "ACTIVE"),
    ("active", "powering-off", "ACTIVE"), ("stopped", None, "SHUTOFF"),
    ("paused", None, "PAUSED"), ("suspended", None, "SUSPENDED"), ("error", None, "ERROR"),
    ("deleted", None, "DELETED"), ("stopped", "rebooting_hard", "HARD_REBOOT"),
])
def test_status_is_novas_map_of_vm_and_task_state(vm_state, task_state, status):
    assert states.api_status(vm_state, task_state) == status


@pytest.mark.parametrize("action, vm_state, allowed", [
    ("stop", "active", True), ("stop", "error", True), ("stop", "stopped", False),
    ("start", "stopped", True), ("start", "active", False),
    ("reboot_soft", "active", True), ("reboot_soft", "stopped", False),
    ("reboot_hard", "stopped", True), ("reboot_hard", "paused", True),
    ("pause", "active", True), ("pause", "paused", False), ("unpause", "paused", True),
    ("suspend", "active", True), ("suspend", "paused", False),
    ("resume", "suspended", True), ("resume", "active", False),
    ("createImage", "stopped", True), ("createImage", "error", False),
    ("attach_volume", "paused", True), ("attach_volume", "suspended", False),
])
def test_which_action_is_allowed_in_which_vm_state(action, vm_state, allowed):
    if allowed:
        assert states.check(action, "u", vm_state, None, "host").task == \
            states.ACTIONS[action].task
    else:
        with pytest.raises(states.InvalidState) as caught:
            states.check(action, "u", vm_state, None, "host")
        assert str(caught.value) == f"Cannot '{action}' instance u while it is in vm_state " \
                                    f"{vm_state}"


def test_a_running_task_blocks_another_action():
    with pytest.raises(states.InvalidState, match="task_state powering-off"):
        states.check("pause", "u", "active", "powering-off", "host")


def test_a_server_that_was_never_built_is_not_ready():
    with pytest.raises(states.NotReady):
        states.check("stop", "u", "error", None, None)


@pytest.mark.parametrize("power, vm_state, expected", [
    (states.SHUTDOWN, "active", "stopped"), (states.CRASHED, "active", "stopped"),
    (states.PAUSED_POWER, "active", "paused"), (states.RUNNING, "active", None),
    (states.SHUTDOWN, "suspended", None), (states.RUNNING, "paused", "active"),
    (states.SHUTDOWN, "stopped", None),
])
def test_power_sync_follows_nova(power, vm_state, expected):
    assert states.vm_state_for_power(power, vm_state) == expected


# --- claims ------------------------------------------------------------------------------
def test_capacity_applies_reservations_then_ratios():
    inventory = HostInventory(vcpus=2, memory_mb=4096, disk_gb=100, cpu_allocation_ratio=16,
                              ram_allocation_ratio=1.5, disk_allocation_ratio=1.0,
                              reserved_memory_mb=512, reserved_disk_mb=10240)
    assert inventory.capacity() == Resources(32, 5376, 90)


def test_every_local_disk_counts_and_swap_rounds_up():
    assert flavor_resources(1, 128, 1, 1, 0) == Resources(1, 128, 2)
    assert flavor_resources(1, 256, 1, 1, 128) == Resources(1, 256, 3)


def test_shortfall_names_each_resource_that_does_not_fit():
    inventory = HostInventory(vcpus=2, memory_mb=2048, disk_gb=10, reserved_memory_mb=0,
                              ram_allocation_ratio=1.0, cpu_allocation_ratio=1.0)
    assert shortfall(inventory, Resources(1, 1024, 5), Resources(1, 1024, 5)) is None
    reason = shortfall(inventory, Resources(2, 1024, 9), Resources(1, 2048, 2))
    assert reason == ("vCPUs: 1 wanted, 0 free of 2; RAM: 2048 MiB wanted, 1024 MiB free "
                      "of 2048 MiB; local disk: 2 GiB wanted, 1 GiB free of 10 GiB")
    assert no_valid_host_message(reason).startswith("No valid host was found.")


def test_quota_excess_is_novas_message():
    limits = QuotaLimits(instances=2, cores=4, ram=1024)
    assert quota_excess(limits, 1, Resources(1, 128, 0), Resources(1, 128, 0)) is None
    assert quota_excess(limits, 2, Resources(2, 256, 0), Resources(1, 128, 0)) == \
        "Quota exceeded for instances: Requested 1, but already used 2 of 2 instances"
    assert "cores" in quota_excess(limits, 0, Resources(), Resources(5, 128, 0))
    assert "ram" in quota_excess(limits, 0, Resources(), Resources(1, 2048, 0))


# --- devices and mappings ----------------------------------------------------------------
def test_device_names_follow_novas_order():
    assert local_disks(1, 0).names() == ["vda", "vdb"]
    assert local_disks(1, 128).names() == ["vda", "vdb", "vdc"]
    assert local_disks(0, 128).names() == ["vda", "vdb"]
    assert next_free_device({"vda", "vdb"}) == "vdc"
    assert next_free_device({"vda", "vdb", "vdd"}) == "vdc"


# --- requests ----------------------------------------------------------------------------
def test_a_full_server_request():
    request = parse_server_request({"server": {
        "name": "web 1", "imageRef": f"http://h/images/{IMAGE}", "flavorRef": "http://h/flavors/1",
        "user_data": base64.b64encode(b"#!/bin/sh\n").decode(), "metadata": {"a": "b"},
        "key_name": "k", "config_drive": "true", "networks": "auto"}}, 128, (2, 37))
    assert (request.image_ref, request.flavor_ref) == (IMAGE, "1")
    assert request.user_data == b"#!/bin/sh\n" and request.config_drive is True


@pytest.mark.parametrize("change, error", [
    ({"name": " x"}, InvalidRequest), ({"flavorRef": None}, InvalidRequest),
    ({"user_data": "%%%"}, InvalidRequest), ({"metadata": {"k": 1}}, InvalidRequest),
    ({"metadata": {str(i): "v" for i in range(3)}}, QuotaError),
    ({"networks": "auto"}, InvalidRequest), ({"min_count": 3, "max_count": 2}, InvalidRequest),
])
def test_bad_server_requests(change, error):
    body = {"name": "x", "imageRef": IMAGE, "flavorRef": "1", **change}
    with pytest.raises(error):
        parse_server_request({"server": body}, 2)


@pytest.mark.parametrize("counts, expected", [
    ({}, (1, 1)), ({"min_count": 3}, (3, 3)), ({"max_count": 3}, (1, 3)),
    ({"min_count": 2, "max_count": 4}, (2, 4)),
])
def test_max_count_defaults_to_min_count_as_in_nova(counts, expected):
    assert parse_counts(counts) == expected


@pytest.mark.parametrize("name, hostname", [
    ("Boot Test_1", "boot-test-1"), ("web.example.org", "web-example-org"),
    ("---", "server"), ("x" * 80, "x" * 63), ("Ça va", "a-va"),
])
def test_hostnames_are_dns_labels(name, hostname):
    assert hostname_for(name) == hostname


# --- flavors -----------------------------------------------------------------------------
def test_flavor_body_as_the_client_sends_it():
    spec = parse_create({"flavor": {"name": "f", "ram": 1024, "vcpus": 2, "disk": 10,
                                    "swap": 0, "OS-FLV-EXT-DATA:ephemeral": 1,
                                    "os-flavor-access:is_public": True, "id": None}})
    assert (spec.memory_mb, spec.vcpus, spec.root_gb, spec.ephemeral_gb) == (1024, 2, 10, 1)
    assert len(spec.flavorid) == 36


def test_flavor_errors_and_extra_specs():
    with pytest.raises(InvalidFlavor, match="vcpus"):
        parse_create({"flavor": {"name": "f", "ram": 1, "vcpus": 0, "disk": 1}})
    assert parse_extra_specs({"extra_specs": {"hw:a": 1}}) == {"hw:a": "1"}
    with pytest.raises(InvalidFlavor):
        parse_extra_specs({"extra_specs": {"a b": "1"}})
    assert parse_is_public_filter("None", True) is None
    assert parse_is_public_filter("None", False) is True
    assert parse_is_public_filter("false", True) is False
