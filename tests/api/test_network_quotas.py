"""Quotas over HTTP: Neutron's defaults, /details, /default, the admin's
list and changes, and OverQuota (409) on create with nothing made. Each
counting test works in a fresh project."""
from __future__ import annotations

import pytest

from tests.support.network import Networking, networking_fixture
from tests.support.network_api import cidr, error, fresh_networking, unique

OCTET = 204
NEUTRON_DEFAULTS = {"network": 100, "subnet": 100, "port": 500, "router": 10,
                    "floatingip": 50, "security_group": 10, "security_group_rule": 100}


admin = networking_fixture("admin")


@pytest.fixture
def fresh(stack):
    client = fresh_networking(stack)
    yield client
    client.cleanup()


def set_quota(admin: Networking, project_id: str, **limits) -> dict:
    response = admin.call("PUT", f"/quotas/{project_id}", json={"quota": limits})
    assert response.status_code == 200, response.text
    return response.json()["quota"]


def test_neutron_defaults_details_and_default(fresh):
    shown = fresh.call("GET", f"/quotas/{fresh.project_id}")
    assert shown.status_code == 200 and shown.json() == {"quota": NEUTRON_DEFAULTS}
    fresh.create("network", name=unique("q"))
    details = fresh.call("GET", f"/quotas/{fresh.project_id}/details").json()["quota"]
    assert details["network"] == {"limit": 100, "used": 1, "reserved": 0}
    assert details["port"] == {"limit": 500, "used": 0, "reserved": 0}
    assert set(details) == set(NEUTRON_DEFAULTS)
    default = fresh.call("GET", f"/quotas/{fresh.project_id}/default")
    assert default.json() == {"quota": NEUTRON_DEFAULTS}


def test_admins_change_list_and_reset_quotas(fresh, admin):
    changed = set_quota(admin, fresh.project_id, network=3, port=-1)
    assert changed == {**NEUTRON_DEFAULTS, "network": 3, "port": -1}
    assert fresh.call("GET", f"/quotas/{fresh.project_id}").json()["quota"]["network"] == 3
    listed = admin.call("GET", "/quotas").json()["quotas"]
    [mine] = [q for q in listed if q["project_id"] == fresh.project_id]
    assert mine["network"] == 3 and mine["tenant_id"] == fresh.project_id
    assert admin.call("DELETE", f"/quotas/{fresh.project_id}").status_code == 204
    assert fresh.call("GET", f"/quotas/{fresh.project_id}").json() == \
        {"quota": NEUTRON_DEFAULTS}


def test_members_read_only_their_own_quotas(fresh, admin, stack):
    demo = Networking(stack, "demo")
    refused = error(fresh.call("PUT", f"/quotas/{fresh.project_id}",
                               json={"quota": {"network": 1000}}), 403)
    assert refused == {"type": "PolicyNotAuthorized", "detail": "",
                       "message": "rule:update_quota is disallowed by policy"}
    other = error(demo.call("GET", f"/quotas/{fresh.project_id}"), 403)
    assert other["message"] == "rule:get_quota is disallowed by policy"
    assert error(demo.call("GET", "/quotas"), 403)["type"] == "PolicyNotAuthorized"
    assert admin.call("GET", f"/quotas/{fresh.project_id}").status_code == 200


def test_bad_quota_bodies(fresh, admin):
    unknown = error(admin.call("PUT", f"/quotas/{fresh.project_id}",
                               json={"quota": {"volumes": 1}}), 400)
    assert unknown["message"] == "Unrecognized attribute(s) 'volumes'"
    bad = error(admin.call("PUT", f"/quotas/{fresh.project_id}",
                           json={"quota": {"network": "many"}}), 400)
    assert bad["message"] == "Invalid input for network. Reason: 'many' is not an integer."
    low = error(admin.call("PUT", f"/quotas/{fresh.project_id}",
                           json={"quota": {"network": -2}}), 400)
    assert low["message"] == ("Invalid input for network. Reason: '-2' is too small - must "
                              "be at least '-1'.")


def test_over_quota_is_409_and_makes_nothing(fresh, admin):
    set_quota(admin, fresh.project_id, network=1, subnet=1, port=2)
    network = fresh.create("network", name=unique("only"))
    body = error(fresh.call("POST", "/networks", json={"network": {"name": "more"}}), 409)
    assert body == {"type": "OverQuota", "detail": "",
                    "message": "Quota exceeded for resources: ['network']."}
    assert len(fresh.list("network", project_id=fresh.project_id)) == 1

    subnet = fresh.create("subnet", network_id=network["id"], cidr=cidr(OCTET),
                          ip_version=4)
    refused = fresh.call("POST", "/subnets", json={"subnet": {
        "network_id": network["id"], "cidr": cidr(OCTET), "ip_version": 4}})
    assert error(refused, 409)["message"] == "Quota exceeded for resources: ['subnet']."

    # The DHCP port counts (it is the network's project's), as in Neutron.
    assert len(fresh.list("port", network_id=network["id"])) == 1
    fresh.create("port", network_id=network["id"])
    over = error(fresh.call("POST", "/ports", json={"port": {"network_id": network["id"]}}),
                 409)
    assert over["message"] == "Quota exceeded for resources: ['port']."
    assert len(fresh.list("port", network_id=network["id"])) == 2
    details = fresh.call("GET", f"/quotas/{fresh.project_id}/details").json()["quota"]
    assert (details["network"]["used"], details["subnet"]["used"],
            details["port"]["used"]) == (1, 1, 2)
    assert fresh.show("subnet", subnet["id"])["id"] == subnet["id"]
