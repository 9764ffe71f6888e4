"""Quotas per project (volumes, gigabytes, snapshots): 413 over quota,
GET limits, os-quota-sets show/update/defaults. Each test works in a fresh
project so that counts are its own."""
from __future__ import annotations

import pytest

from tests.support.volumes import VolumeApi, new_project_user


@pytest.fixture
def fresh(stack) -> VolumeApi:
    project, user, password = new_project_user(stack)
    return VolumeApi(stack, user, project, password)


@pytest.fixture(scope="module")
def admin(stack) -> VolumeApi:
    return VolumeApi(stack, "admin")


def set_quota(admin: VolumeApi, project_id: str, **limits):
    return admin.call("PUT", f"/os-quota-sets/{project_id}", json={"quota_set": limits})


def test_over_the_volume_count_is_413(fresh, admin):
    set_quota(admin, fresh.project_id, volumes=2).raise_for_status()
    fresh.create()
    fresh.create()
    refused = fresh.call("POST", "/volumes", json={"volume": {"size": 1}})
    assert refused.status_code == 413
    assert refused.json()["overLimit"]["message"].startswith("VolumeLimitExceeded")
    assert "(2)" in refused.json()["overLimit"]["message"]


def test_over_the_gigabytes_is_413_for_create_extend_and_snapshot(fresh, admin):
    set_quota(admin, fresh.project_id, gigabytes=5).raise_for_status()
    big = fresh.call("POST", "/volumes", json={"volume": {"size": 6}})
    assert big.status_code == 413
    assert "Requested 6G, quota is 5G and 0G has been consumed" in big.text
    volume = fresh.create(size=3)
    assert fresh.action(volume["id"], "os-extend", {"new_size": 6}).status_code == 413
    snapshot = fresh.call("POST", "/snapshots", json={"snapshot": {"volume_id": volume["id"]}})
    assert snapshot.status_code == 413  # 3 + 3 > 5: snapshots count too
    fresh.action(volume["id"], "os-extend", {"new_size": 5}, expect=202)
    assert fresh.wait(volume["id"], "available")["size"] == 5


def test_over_the_snapshot_count_is_413(fresh, admin):
    set_quota(admin, fresh.project_id, snapshots=1).raise_for_status()
    volume = fresh.create()
    fresh.snapshot(volume["id"])
    refused = fresh.call("POST", "/snapshots", json={"snapshot": {"volume_id": volume["id"]}})
    assert refused.status_code == 413
    assert "SnapshotLimitExceeded" in refused.text


def test_limits_and_quota_sets_show_usage(fresh, admin):
    fresh.create(size=2)
    limits = fresh.call("GET", "/limits", expect=200).json()["limits"]["absolute"]
    assert limits["maxTotalVolumes"] == 10 and limits["maxTotalVolumeGigabytes"] == 1000
    assert limits["totalVolumesUsed"] == 1 and limits["totalGigabytesUsed"] == 2
    shown = fresh.call("GET", f"/os-quota-sets/{fresh.project_id}", params={"usage": "True"},
                       expect=200).json()["quota_set"]
    assert shown["volumes"] == {"limit": 10, "in_use": 1, "reserved": 0, "allocated": 0}
    assert shown["gigabytes"]["in_use"] == 2
    plain = fresh.call("GET", f"/os-quota-sets/{fresh.project_id}", expect=200).json()
    assert plain["quota_set"]["snapshots"] == 10 and plain["quota_set"]["id"] == \
        fresh.project_id
    defaults = fresh.call("GET", f"/os-quota-sets/{fresh.project_id}/defaults",
                          expect=200).json()["quota_set"]
    assert defaults["volumes"] == 10


def test_only_admins_change_quotas_and_not_below_usage(fresh, admin):
    assert set_quota(fresh, fresh.project_id, volumes=100).status_code == 403
    assert fresh.call("GET", f"/os-quota-sets/{admin.project_id}").status_code == 403
    fresh.create()
    fresh.create()
    below = set_quota(admin, fresh.project_id, volumes=1)
    assert below.status_code == 400 and "Current usage is 2" in below.text
    assert set_quota(admin, fresh.project_id, bogus=1).status_code == 400
    updated = set_quota(admin, fresh.project_id, volumes=-1)
    assert updated.status_code == 200 and updated.json()["quota_set"]["volumes"] == -1
    admin.call("DELETE", f"/os-quota-sets/{fresh.project_id}", expect=200)
    assert fresh.call("GET", "/limits").json()["limits"]["absolute"]["maxTotalVolumes"] == 10
