"""The end of a hot-attach when volumed goes away at its last step
(os-complete), with a fake hypervisor and a fake volumed: the attach is
finished once volumed is back, and an undo never releases a volume whose
disk the guest still holds; and a detach whose disk is unplugged goes on
once volumed is back (the real kills are the kill matrix's attach at its
in-use step and detach at its unexport step, tests/killmatrix/)."""
from __future__ import annotations

import pytest

from computed.db import repository as repo
from computed.domain import states
from computed.flows import volumes as volume_flow
from shared.clients import RemoteError
from shared.context import RequestContext
from shared.db import transaction
from tests.unit.compute_fakes import FakeDriver, FakeVolumes, make_deps
from tests.unit.test_compute_reconcile import add_instance, load

CTX = RequestContext("req-1", user_id="u", project_id="p", roles=["member"])
DOMAIN = "instance-server-1"  # add_instance names it so


class AwayVolumes(FakeVolumes):
    """volumed that cannot be reached for its first `away` os-completes or
    attachment deletes (killed after it committed the first one, as the
    kill matrix does), or for good."""

    def __init__(self, away: int):
        super().__init__()
        self.away = away
        self.asked = 0
        self.deletes_asked = 0

    def delete_attachment(self, caller, attachment_id: str) -> None:
        self.deletes_asked += 1
        if self.deletes_asked <= self.away:
            raise RemoteError("volume", 503, "volume could not be reached: refused",
                              reached=False)
        super().delete_attachment(caller, attachment_id)

    def connect(self, caller, attachment_id: str, connector: dict) -> dict:
        return {"driver_volume_type": "iscsi", "target_portal": "127.0.0.1:3260",
                "target_iqn": "iqn.2010-10.org.openstack:volume-v", "target_lun": 1,
                "auth_method": "CHAP", "auth_username": "u", "auth_password": "secret"}

    def complete(self, caller, attachment_id: str) -> None:
        self.asked += 1
        if self.asked <= self.away:
            raise RemoteError("volume", 503, "volume could not be reached: refused",
                              reached=False)
        super().complete(caller, attachment_id)


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    monkeypatch.setattr(volume_flow, "COMPLETE_RETRY_INTERVAL", 0.01)
    monkeypatch.setattr(volume_flow, "COMPLETE_RETRY_FOR", 0.5)


def attaching(tmp_path, volumes: FakeVolumes, driver: FakeDriver):
    deps = make_deps(tmp_path, driver, volumes=volumes)
    add_instance(deps, "server-1", states.ACTIVE, volumes=[("att-1", None)])
    driver.add("server-1", states.RUNNING)
    with transaction(deps.sessions) as session:
        bdm = repo.get_instance(session, "server-1", None).block_devices[0]
        bdm.status = "attaching"
        return deps, bdm.id


def test_an_attach_whose_volumed_comes_back_is_finished(tmp_path):
    driver, volumes = FakeDriver(), AwayVolumes(away=3)
    deps, bdm_id = attaching(tmp_path, volumes, driver)
    volume_flow.attach(deps, CTX, "server-1", bdm_id)
    assert [(b.attachment_id, b.status) for b in load(deps, "server-1").volumes] == \
        [("att-1", "attached")]
    assert volumes.completed == ["att-1"] and volumes.deleted == []
    assert driver.volumes[DOMAIN] == ["vdc"] and len(driver.secrets) == 1


def test_an_undo_keeps_what_a_disk_the_guest_holds_uses(tmp_path):
    """volumed away for good and the guest does not let the disk go: the
    secret and the attachment stay, the mapping stays attaching (the next
    start of computed finishes it), nothing is half released."""
    driver, volumes = FakeDriver(), AwayVolumes(away=10 ** 6)
    driver.kept_volumes.add("vdc")
    deps, bdm_id = attaching(tmp_path, volumes, driver)
    volume_flow.attach(deps, CTX, "server-1", bdm_id)
    instance = load(deps, "server-1")
    assert [(b.attachment_id, b.status) for b in instance.volumes] == [("att-1", "attaching")]
    assert "Attaching volume vol-att-1 failed" in instance.fault["message"]
    assert volumes.deleted == [] and len(driver.secrets) == 1
    assert driver.volumes[DOMAIN] == ["vdc"]


class RefusingVolumes(AwayVolumes):
    """volumed that answers os-complete with a refusal (no retry for that)."""

    def complete(self, caller, attachment_id: str) -> None:
        raise RemoteError("volume", 400, "Invalid attachment")


def test_an_undo_whose_unplug_works_releases_everything(tmp_path):
    driver, volumes = FakeDriver(), RefusingVolumes(away=0)
    deps, bdm_id = attaching(tmp_path, volumes, driver)
    volume_flow.attach(deps, CTX, "server-1", bdm_id)
    assert load(deps, "server-1").volumes == []
    assert volumes.deleted == ["att-1"] and driver.secrets == {}
    assert driver.volumes[DOMAIN] == []


def test_a_detach_whose_volumed_comes_back_is_finished(tmp_path):
    driver, volumes = FakeDriver(), AwayVolumes(away=3)
    deps, bdm_id = attaching(tmp_path, volumes, driver)
    with transaction(deps.sessions) as session:
        repo.get_instance(session, "server-1", None).block_devices[0].status = "detaching"
    driver.volumes[DOMAIN] = ["vdc"]
    volume_flow.detach(deps, CTX, "server-1", "vol-att-1")
    assert load(deps, "server-1").volumes == []
    assert volumes.deleted == ["att-1"] and driver.volumes[DOMAIN] == []


def test_a_detach_whose_disk_is_gone_stays_detaching_while_volumed_is_away(tmp_path):
    """Not attached again: the disk is unplugged already; the next start of
    computed finishes the release."""
    driver, volumes = FakeDriver(), AwayVolumes(away=10 ** 6)
    deps, bdm_id = attaching(tmp_path, volumes, driver)
    with transaction(deps.sessions) as session:
        repo.get_instance(session, "server-1", None).block_devices[0].status = "detaching"
    driver.volumes[DOMAIN] = ["vdc"]
    volume_flow.detach(deps, CTX, "server-1", "vol-att-1")
    assert [(b.attachment_id, b.status) for b in load(deps, "server-1").volumes] == \
        [("att-1", "detaching")]
    assert driver.volumes[DOMAIN] == []
