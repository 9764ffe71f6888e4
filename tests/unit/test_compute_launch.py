"""The launch flow with a fake hypervisor and a fake imaged, but real disks
(qemu-img), a real config drive (genisoimage) and a real database: what a
build leaves in the instance directory, and who may get through it."""
from __future__ import annotations

import datetime as dt
import stat

import pytest

from computed.db import repository as repo
from computed.db.models import Instance
from computed.domain import states
from computed.flows.launch import launch
from shared.context import RequestContext
from shared.db import transaction
from tests.unit.compute_fakes import FakeDriver, FakeImages, image_record, make_deps
from tests.unit.image_corpus import HAVE_TOOLS

# make install provides qemu-img and genisoimage; without them this fails, never skips.
assert HAVE_TOOLS, "qemu-img and genisoimage are needed (make install)"

IMAGE = bytes(1 << 20)  # a raw image of one MiB of zeros
UUID = "6d0cc6b4-1111-4000-8000-000000000001"


def add_building_server(deps, uuid: str = UUID) -> None:
    now = dt.datetime(2026, 1, 1)
    with transaction(deps.sessions) as session:
        session.add(Instance(
            uuid=uuid, display_name="vm", hostname="vm", project_id="p", user_id="u",
            image_ref="img-1", flavor={"id": "1", "name": "m1.nano"}, vcpus=1,
            memory_mb=128, root_gb=1, ephemeral_gb=0, swap=0, config_drive=True,
            vm_state=states.BUILDING, task_state=states.SCHEDULING,
            power_state=states.NOSTATE, domain_name=f"instance-{uuid[:8]}",
            reservation_id="r", created_at=now, updated_at=now))


def build(tmp_path, driver: FakeDriver, **image_properties) -> Instance:
    deps = make_deps(tmp_path, driver, images=FakeImages({"img-1": IMAGE}))
    add_building_server(deps)
    launch(deps, RequestContext("req-1", project_id="p", user_id="u"), UUID,
           image_record("img-1", IMAGE, **image_properties))
    with transaction(deps.sessions, write=False) as session:
        instance = repo.get_instance(session, UUID, None)
    assert (instance.vm_state, instance.task_state) == (states.ACTIVE, None), instance.fault
    return instance


@pytest.mark.parametrize("run_as_root, mode", [(True, 0o700), (False, 0o755)])
def test_the_instance_directory_gets_the_drivers_mode(tmp_path, run_as_root, mode):
    """QEMU running as libvirt's own user must get through to the disks:
    the mode follows [libvirt] run_qemu_as_root, through the driver."""
    build(tmp_path, FakeDriver(run_as_root=run_as_root))
    directory = tmp_path / "instances" / UUID
    assert stat.S_IMODE(directory.stat().st_mode) == mode


def test_a_build_spawns_the_guest_with_its_disks_and_config_drive(tmp_path):
    """The guest starts paused with its cdrom empty (the ISO is built
    meanwhile); the ISO goes in while it is still paused; then it runs.
    libvirt.xml shows the domain as it runs, the drive in."""
    driver = FakeDriver()
    build(tmp_path, driver)
    (guest,) = driver.spawned
    assert [(d.path.name, d.device, d.empty) for d in guest.disks] == [
        ("disk", "vda", False), ("disk.config", "hdd", True)]
    drive, power_then = driver.media[guest.domain_name]
    assert (drive.path.name, drive.device, drive.empty) == ("disk.config", "hdd", False)
    assert power_then == states.PAUSED_POWER
    assert driver.power_state(guest.domain_name) == states.RUNNING
    directory = tmp_path / "instances" / UUID
    assert sorted(p.name for p in directory.iterdir()) == [
        "console.log", "disk", "disk.config", "libvirt.xml"]
    assert drive.path.stat().st_size > 0
    assert f"<source file=\"{drive.path}\" />" in (directory / "libvirt.xml").read_text()


def test_a_usb_config_drive_is_built_before_the_start(tmp_path):
    """QEMU cannot start a USB cdrom without its medium: the ISO is built
    first (Nova's order) and the guest starts with it, nothing inserted."""
    driver = FakeDriver()
    build(tmp_path, driver, hw_cdrom_bus="usb")
    (guest,) = driver.spawned
    (drive,) = [d for d in guest.disks if d.device_type == "cdrom"]
    assert (drive.path.name, drive.bus, drive.empty) == ("disk.config", "usb", False)
    assert drive.path.stat().st_size > 0
    assert driver.media == {}
    assert driver.power_state(guest.domain_name) == states.RUNNING
