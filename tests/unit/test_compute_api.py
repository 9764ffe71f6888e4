"""The compute API layer called directly, without HTTP: what os-hypervisors
and /limits report, and how a server listing's query is read."""
from __future__ import annotations

import json

import pytest

from computed import compute_api
from computed.db import repository as repo
from computed.db.models import ComputeNode
from computed.virt.driver import HypervisorError
from shared.context import RequestContext
from shared.db import transaction
from shared.errors import ApiError, BadRequest
from tests.unit.compute_fakes import NODE, FakeDriver, make_deps

DEMO = RequestContext("req-1", user_id="u", project_id="p", roles=["member"])
ADMIN = RequestContext("req-2", user_id="a", project_id="admin", roles=["admin", "member"])


@pytest.fixture
def deps(tmp_path):
    deps = make_deps(tmp_path, FakeDriver(), max_metadata_items=7)
    with transaction(deps.sessions) as session:  # a node whose id is not 1
        session.add(ComputeNode(id=42, uuid=NODE, hypervisor_hostname="fake-host",
                                created_at=repo.now()))
    return deps


def test_the_hypervisor_shows_the_hosts_arch_address_and_node_id(deps):
    node = compute_api.compute_node(deps)
    detail = compute_api.hypervisor_detail(deps, node)
    assert json.loads(detail["cpu_info"])["arch"] == "riscv64"  # the driver's host
    assert detail["host_ip"] == "192.0.2.7"                     # settings.host_ip
    assert detail["id"] == detail["service"]["id"] == node.id == 42


def test_max_image_meta_is_the_metadata_limit_create_image_enforces(deps):
    absolute = compute_api.limits(deps, "p")
    assert absolute["maxImageMeta"] == absolute["maxServerMeta"] == 7


@pytest.mark.parametrize("value, all_tenants", [
    ("", True), ("1", True), ("True", True), ("yes", True), ("0", False), ("false", False)])
def test_all_tenants_present_and_empty_is_true_else_a_strict_boolean(value, all_tenants):
    assert compute_api.server_filters({"all_tenants": value}, ADMIN).all_tenants is all_tenants


@pytest.mark.parametrize("name", ["all_tenants", "deleted"])
def test_an_unknown_boolean_word_is_400(name):
    with pytest.raises(BadRequest) as raised:
        compute_api.server_filters({name: "maybe"}, ADMIN)
    assert f"Invalid value for {name}" in str(raised.value)
    assert raised.value.status == 400


def test_without_all_tenants_the_listing_is_the_callers_project():
    wanted = compute_api.server_filters({}, DEMO)
    assert (wanted.all_tenants, wanted.project_id, wanted.include_deleted) == (False, "p", False)


class LibvirtdAway(FakeDriver):
    """A driver whose libvirtd stops answering when told to."""

    def __init__(self):
        super().__init__()
        self.away = False

    def host_info(self):
        if self.away:
            raise HypervisorError("cannot connect to libvirt: Connection refused")
        return super().host_info()


def test_the_hypervisor_is_down_with_its_last_figures_while_libvirtd_is_away(tmp_path):
    driver = LibvirtdAway()
    deps = make_deps(tmp_path, driver)
    with transaction(deps.sessions) as session:
        session.add(ComputeNode(id=1, uuid=NODE, hypervisor_hostname="fake-host",
                                created_at=repo.now()))
    node = compute_api.compute_node(deps)
    with pytest.raises(ApiError) as never_seen:
        driver.away = True
        compute_api.hypervisor_detail(deps, node)
    assert never_seen.value.status == 503
    driver.away = False
    seen = compute_api.hypervisor_detail(deps, node)
    driver.away = True
    away = compute_api.hypervisor_detail(deps, node)
    driver.away = False
    assert (seen["state"], away["state"]) == ("up", "down")
    assert away["vcpus"] == seen["vcpus"] == 2
    assert away["memory_mb"] == seen["memory_mb"] == 4096
