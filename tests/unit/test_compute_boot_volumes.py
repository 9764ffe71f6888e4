"""The build of a volume-backed server with a fake hypervisor and a fake
volumed, a real database and real files: the volume made from the image
and waited for, vda the volume (no disk file), and what a failure leaves."""
from __future__ import annotations

import datetime as dt

import pytest

from computed.db import repository as repo
from computed.db.models import BlockDeviceImageSource, BlockDeviceMapping, Instance
from computed.domain import states
from computed.flows import boot_volumes
from computed.flows.launch import launch
from shared.context import RequestContext
from shared.db import transaction
from tests.unit.compute_fakes import FakeDriver, FakeVolumes, make_deps

UUID = "6d0cc6b4-2222-4000-8000-000000000001"
IMAGE = "6d0cc6b4-2222-4000-8000-0000000000aa"


class Volumed(FakeVolumes):
    """volumed making volumes from images: `creating` for the first show,
    then `final` (available, or error)."""

    def __init__(self, final: str = "available"):
        super().__init__()
        self.final = final
        self.made: list[dict] = []
        self.shows: dict[str, int] = {}
        self.volume_deletes: list[str] = []

    def create_volume(self, caller, body: dict) -> dict:
        volume = {"id": f"vol-{len(self.made) + 1}", "status": "creating", **body["volume"]}
        self.made.append(volume)
        return volume

    def show_volume(self, caller, volume_id: str) -> dict | None:
        self.shows[volume_id] = self.shows.get(volume_id, 0) + 1
        status = "creating" if self.shows[volume_id] == 1 else self.final
        return {"id": volume_id, "status": status}

    def connect(self, caller, attachment_id: str, connector: dict) -> dict:
        return {"driver_volume_type": "iscsi", "target_portal": "127.0.0.1:3260",
                "target_iqn": f"iqn.2010-10.org.openstack:{attachment_id}",
                "target_lun": 1, "auth_username": "u", "auth_password": "secret"}

    def delete_volume(self, caller, volume_id: str) -> None:
        self.volume_deletes.append(volume_id)


def add_volume_backed_server(deps, delete_on_termination: bool) -> None:
    now = dt.datetime(2026, 1, 1)
    with transaction(deps.sessions) as session:
        instance = Instance(
            uuid=UUID, display_name="vm", hostname="vm", project_id="p", user_id="u",
            image_ref="", flavor={"id": "1", "name": "m1.nano", "disk": 1}, vcpus=1,
            memory_mb=128, root_gb=1, ephemeral_gb=0, swap=0, config_drive=True,
            vm_state=states.BUILDING, task_state=states.SCHEDULING,
            power_state=states.NOSTATE, domain_name=f"instance-{UUID[:8]}",
            reservation_id="r", created_at=now, updated_at=now)
        instance.block_devices.append(BlockDeviceMapping(
            volume_id=None, source_type="image", boot_index=0, device_name="vda",
            delete_on_termination=delete_on_termination, created_at=now))
        session.add(instance)
        session.flush()
        session.add(BlockDeviceImageSource(bdm_id=instance.block_devices[0].id,
                                           image_id=IMAGE, volume_size=2))


def build(tmp_path, monkeypatch, volumed: Volumed, delete_on_termination: bool = False):
    monkeypatch.setattr(boot_volumes, "INTERVAL", 0)
    driver = FakeDriver()
    deps = make_deps(tmp_path, driver, volumes=volumed)
    add_volume_backed_server(deps, delete_on_termination)
    launch(deps, RequestContext("req-1", project_id="p", user_id="u"), UUID, {})
    with transaction(deps.sessions, write=False) as session:
        return repo.get_instance(session, UUID, None), driver


def test_the_volume_is_made_from_the_image_and_is_vda(tmp_path, monkeypatch):
    volumed = Volumed()
    instance, driver = build(tmp_path, monkeypatch, volumed)
    assert (instance.vm_state, instance.task_state) == (states.ACTIVE, None), instance.fault
    assert volumed.made == [{"id": "vol-1", "status": "creating", "size": 2,
                             "imageRef": IMAGE, "name": "", "description": ""}]
    assert volumed.reserved == [("vol-1", UUID)] and volumed.completed == ["att-new-1"]
    assert [(b.volume_id, b.device_name, b.status) for b in instance.volumes] == \
        [("vol-1", "vda", "attached")]
    guest = driver.spawned[-1]
    assert [(v.device, v.boot) for v in guest.volumes] == [("vda", True)]
    assert "vda" not in [d.device for d in guest.disks]
    directory = tmp_path / "instances" / UUID
    assert not (directory / "disk").exists() and (directory / "disk.config").exists()
    assert not (tmp_path / "instances" / "_base").exists() or \
        not any((tmp_path / "instances" / "_base").iterdir())
    # The flavor's root GiB is not taken from the host (Nova's resource tracker).
    assert repo.instance_resources(instance).disk_gb == 0


@pytest.mark.parametrize("delete_on_termination", [False, True])
def test_a_volume_that_fails_fails_the_build(tmp_path, monkeypatch, delete_on_termination):
    volumed = Volumed(final="error")
    instance, driver = build(tmp_path, monkeypatch, volumed, delete_on_termination)
    assert instance.vm_state == states.ERROR
    assert "Volume vol-1 did not finish being created even after we waited" in \
        instance.fault["message"]
    assert "And its status is error." in instance.fault["message"]
    assert driver.spawned == [] and volumed.reserved == []
    assert instance.block_devices == []
    # Nova's _cleanup_volumes: only a delete_on_termination volume is deleted.
    assert volumed.volume_deletes == (["vol-1"] if delete_on_termination else [])
