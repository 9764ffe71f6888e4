"""computed's side of volumed's volume-extended event (flows/extend_volume.py):
the guest's disk for that volume is resized to the volume's size in bytes;
a volume the server does not have, or a volumed that does not answer, is
logged and changes nothing."""
from __future__ import annotations

import datetime as dt

import pytest

from computed.db.models import BlockDeviceMapping, Instance
from computed.domain import states
from computed.flows.extend_volume import extend_attached_volume
from shared.clients import RemoteError
from shared.db import transaction
from shared.units import GiB
from tests.unit.compute_fakes import FakeDriver, FakeVolumes, make_deps

UUID = "5a0cc6b4-0000-4000-8000-000000000001"
T0 = dt.datetime(2026, 1, 1)


class SizedVolumes(FakeVolumes):
    """volumed's GET /volumes/{id}: the sizes held here (None: unreachable)."""

    def __init__(self, sizes: dict[str, int] | None):
        super().__init__()
        self.sizes = sizes

    def show_volume(self, caller, volume_id: str) -> dict | None:
        if self.sizes is None:
            raise RemoteError("volumed", 503, "volumed could not be reached", reached=False)
        size = self.sizes.get(volume_id)
        return None if size is None else {"id": volume_id, "size": size}


def world(tmp_path, sizes):
    driver = FakeDriver()
    deps = make_deps(tmp_path, driver, volumes=SizedVolumes(sizes))
    with transaction(deps.sessions) as session:
        instance = Instance(
            uuid=UUID, display_name="s", hostname="s", project_id="p", user_id="u",
            image_ref="img", flavor={"id": "1"}, vcpus=1, memory_mb=128, root_gb=1,
            ephemeral_gb=0, swap=0, vm_state=states.ACTIVE, power_state=states.RUNNING,
            host="h1", node="h1", domain_name="instance-5a0cc6b4", claimed=True,
            reservation_id="r", created_at=T0, updated_at=T0)
        instance.block_devices.append(BlockDeviceMapping(
            volume_id="vol-1", device_name="vdc", attachment_id="att-1",
            connection={"target_iqn": "iqn"}, status="attached", created_at=T0))
        session.add(instance)
    driver.add(UUID, states.RUNNING)
    driver.volumes["instance-5a0cc6b4"] = ["vdc"]
    return deps, driver


def test_the_guests_disk_gets_the_volumes_new_size_in_bytes(tmp_path):
    deps, driver = world(tmp_path, {"vol-1": 3})
    extend_attached_volume(deps, UUID, "vol-1")
    assert driver.extended == [("instance-5a0cc6b4", "vdc", 3 * GiB)]


@pytest.mark.parametrize("volume_id, sizes", [
    ("vol-2", {"vol-2": 3}),     # not attached to this server
    ("vol-1", {}),               # volumed no longer has it
    ("vol-1", None),             # volumed does not answer
])
def test_what_cannot_be_resized_changes_nothing(tmp_path, volume_id, sizes):
    deps, driver = world(tmp_path, sizes)
    extend_attached_volume(deps, UUID, volume_id)
    assert driver.extended == []


def test_an_unknown_server_changes_nothing(tmp_path):
    deps, driver = world(tmp_path, {"vol-1": 3})
    extend_attached_volume(deps, "5a0cc6b4-0000-4000-8000-00000000dead", "vol-1")
    assert driver.extended == []
