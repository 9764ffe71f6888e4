"""Rebuild, resize, migrate, confirm and revert: the pure rules (states,
checks, quota, claims, instance actions) and the flows with the contract's
fake hypervisor over real disks (qemu-img), a real config drive and a real
database."""
from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest

from computed.db import repository as repo
from computed.db.models import Instance, Migration
from computed.domain import moves, states
from computed.domain.claims import QuotaLimits, Resources
from computed.domain.instance_actions import RecordedEvent, actions_of
from computed.flows import rebuild, resize, resize_confirm
from computed.flows.launch import launch
from shared.context import RequestContext
from shared.db import transaction
from tests.unit.compute_fakes import FakeDriver, FakeImages, image_record, make_deps
from tests.unit.image_corpus import HAVE_TOOLS, qemu_img, qemu_virtual_size

assert HAVE_TOOLS, "qemu-img and genisoimage are needed (make install)"

GIB = 1024 ** 3
NANO = {"id": "1", "name": "m1.nano", "vcpus": 1, "ram": 128, "disk": 1, "ephemeral": 1,
        "swap": 0, "extra_specs": {}}
SMALL = {"id": "3", "name": "m1.small", "vcpus": 2, "ram": 512, "disk": 5, "ephemeral": 2,
         "swap": 256, "extra_specs": {}}
UUID = "6d0cc6b4-2222-4000-8000-000000000001"
CTX = RequestContext("req-1", project_id="p", user_id="u")
IMAGE_A, IMAGE_B = bytes(1 << 20), b"B" * (1 << 20)


# --- the pure rules ----------------------------------------------------------------------
@pytest.mark.parametrize("vm_state, task_state, status", [
    (states.ACTIVE, states.REBUILDING, "REBUILD"),
    (states.STOPPED, states.REBUILD_SPAWNING, "REBUILD"),
    (states.ERROR, states.REBUILD_BLOCK_DEVICE_MAPPING, "REBUILD"),
    (states.ACTIVE, states.RESIZE_PREP, "RESIZE"),
    (states.STOPPED, states.RESIZE_FINISH, "RESIZE"),
    (states.RESIZED, None, "VERIFY_RESIZE"),
    (states.RESIZED, states.RESIZE_REVERTING, "REVERT_RESIZE"),
    (states.ERROR, states.RESIZE_PREP, "ERROR"),          # not in Nova's map either
])
def test_move_statuses_are_novas(vm_state, task_state, status):
    assert states.api_status(vm_state, task_state) == status


@pytest.mark.parametrize("action, vm_state, allowed", [
    ("rebuild", states.ACTIVE, True), ("rebuild", states.STOPPED, True),
    ("rebuild", states.ERROR, True), ("rebuild", states.PAUSED, False),
    ("resize", states.ACTIVE, True), ("resize", states.STOPPED, True),
    ("resize", states.ERROR, False), ("migrate", states.SUSPENDED, False),
    ("confirmResize", states.RESIZED, True), ("confirmResize", states.ACTIVE, False),
    ("revertResize", states.RESIZED, True), ("revertResize", states.STOPPED, False),
])
def test_which_move_is_allowed_when(action, vm_state, allowed):
    if allowed:
        states.check(action, UUID, vm_state, None, "h1")
    else:
        with pytest.raises(states.InvalidState, match=f"Cannot '{action}' instance"):
            states.check(action, UUID, vm_state, None, "h1")


def test_resize_checks_are_novas():
    with pytest.raises(moves.MoveRefused, match="instances must change flavor!"):
        moves.check_resize(NANO, dict(NANO))
    with pytest.raises(moves.MoveRefused, match="Resize to zero disk flavor"):
        moves.check_resize(NANO, {**SMALL, "disk": 0})
    moves.check_resize(NANO, SMALL)
    assert moves.disk_down(SMALL, NANO) and not moves.disk_down(NANO, SMALL)
    assert moves.disk_down(NANO, {**NANO, "id": "x", "ephemeral": 0})


def test_only_what_grows_counts_against_the_quota():
    limits = QuotaLimits(instances=10, cores=2, ram=51200)
    assert moves.upsize_excess(limits, Resources(2, 128, 0), NANO, SMALL) == \
        "Quota exceeded for cores: Requested 1, but already used 2 of 2 cores"
    assert moves.upsize_excess(limits, Resources(2, 640, 0), SMALL, NANO) is None


def _event(kind: str, request: str, second: int) -> RecordedEvent:
    return RecordedEvent(f"compute.instance.{kind}", request, "u", "p",
                         dt.datetime(2026, 1, 1, 0, 0, second))


def test_a_migration_is_its_own_action_with_resize_steps():
    events = [_event("migrate.requested", "req-m", 0), _event("resize.prep.start", "req-m", 1),
              _event("resize.prep.end", "req-m", 2), _event("resize.start", "req-m", 3),
              _event("resize.end", "req-m", 4), _event("finish_resize.start", "req-m", 5),
              _event("finish_resize.end", "req-m", 6),
              _event("resize.confirm.requested", "req-c", 7),
              _event("resize.confirm.start", "req-c", 8),
              _event("resize.confirm.end", "req-c", 9)]
    confirm, migrate = actions_of(UUID, events)
    assert (migrate["action"], confirm["action"]) == ("migrate", "confirmResize")
    assert [e["event"] for e in migrate["events"]] == [
        "compute_prep_resize", "compute_resize_instance", "compute_finish_resize"]
    assert [e["event"] for e in confirm["events"]] == ["compute_confirm_resize"]


# --- the flows ---------------------------------------------------------------------------
@pytest.fixture
def deps(tmp_path):
    images = FakeImages({"img-a": IMAGE_A, "img-b": IMAGE_B})
    deps = make_deps(tmp_path, FakeDriver(), images=images)
    images.show = lambda caller, image_id: image_record(  # type: ignore[method-assign]
        image_id, images.data[image_id]) if image_id in images.data else None
    now = dt.datetime(2026, 1, 1)
    with transaction(deps.sessions) as session:
        session.add(Instance(
            uuid=UUID, display_name="vm", hostname="vm", project_id="p", user_id="u",
            image_ref="img-a", flavor=dict(NANO), vcpus=1, memory_mb=128, root_gb=1,
            ephemeral_gb=1, swap=0, config_drive=True, vm_state=states.BUILDING,
            task_state=states.SCHEDULING, power_state=states.NOSTATE,
            domain_name=f"instance-{UUID[:8]}", reservation_id="r", created_at=now,
            updated_at=now))
    launch(deps, CTX, UUID, image_record("img-a", IMAGE_A))
    assert server(deps).vm_state == states.ACTIVE, server(deps).fault
    return deps


def server(deps) -> Instance:
    with transaction(deps.sessions, write=False) as session:
        return repo.get_instance(session, UUID, None)


def begin(deps, action: str, **values) -> None:
    with transaction(deps.sessions) as session:
        instance = repo.get_instance(session, UUID, None)
        repo.begin_task(session, instance, action)
        for key, value in values.items():
            setattr(instance, key, value)


def start_move(deps, new: dict, kind: str = moves.RESIZE) -> int:
    instance = server(deps)
    begin(deps, "resize")
    with transaction(deps.sessions) as session:
        migration = Migration(
            uuid="m-1", instance_uuid=UUID, migration_type=kind,
            status=moves.PRE_MIGRATING, source_compute="h1", source_node="h1",
            dest_compute="h1", dest_node="h1", dest_host="192.0.2.7",
            old_flavor=dict(instance.flavor), new_flavor=dict(new),
            old_vm_state=instance.vm_state, created_at=dt.datetime(2026, 1, 1))
        session.add(migration)
        session.flush()
        return migration.id


def usage(deps) -> Resources:
    with transaction(deps.sessions, write=False) as session:
        return repo.claimed_usage(session)


def test_rebuild_makes_vda_anew_from_the_new_image(deps, tmp_path):
    directory = tmp_path / "instances" / UUID
    (directory / "disk").write_bytes(b"written by the old guest")
    begin(deps, "rebuild", image_ref="img-b")
    rebuild.run(deps, CTX, UUID, image_record("img-b", IMAGE_B), preserve_ephemeral=False)
    instance = server(deps)
    assert (instance.vm_state, instance.task_state) == (states.ACTIVE, None), instance.fault
    base_b = tmp_path / "instances" / "_base" / hashlib.sha1(b"img-b").hexdigest()
    info = qemu_virtual_size(directory / "disk", "qcow2")
    assert info == GIB                                   # the flavor's root disk
    backing = json.loads(qemu_img("info", "--output=json", "-f", "qcow2",
                                  directory / "disk"))["backing-filename"]
    assert backing == str(base_b)                        # the old contents are gone
    assert deps.driver.spawned[-1].disks[0].path == directory / "disk"
    assert sorted(p.name for p in directory.iterdir()) == [
        "console.log", "disk", "disk.config", "disk.local", "libvirt.xml"]


def test_rebuild_of_a_stopped_server_leaves_it_stopped(deps):
    deps.driver.power_off(server(deps).domain_name, 1)
    with transaction(deps.sessions) as session:
        repo.get_instance(session, UUID, None).vm_state = states.STOPPED
    begin(deps, "rebuild")
    rebuild.run(deps, CTX, UUID, image_record("img-a", IMAGE_A), preserve_ephemeral=False)
    instance = server(deps)
    assert (instance.vm_state, instance.power_state) == (states.STOPPED, states.SHUTDOWN)


def test_preserve_ephemeral_fails_as_novas_libvirt_driver(deps):
    begin(deps, "rebuild")
    rebuild.run(deps, CTX, UUID, image_record("img-a", IMAGE_A), preserve_ephemeral=True)
    instance = server(deps)
    assert instance.vm_state == states.ERROR and instance.task_state is None
    assert "does not support preserving ephemeral" in instance.fault["message"]
    assert instance.power_state == states.RUNNING      # nothing was touched


def test_resize_holds_both_flavors_until_confirm(deps, tmp_path):
    directory = tmp_path / "instances" / UUID
    assert usage(deps) == Resources(1, 128, 2)
    migration_id = start_move(deps, SMALL)
    resize.run(deps, CTX, UUID, migration_id)
    instance = server(deps)
    assert (instance.vm_state, instance.task_state) == (states.RESIZED, None), instance.fault
    assert (instance.vcpus, instance.memory_mb, instance.flavor["id"]) == (2, 512, "3")
    assert usage(deps) == Resources(3, 640, 10)            # 1+5+2+1 (swap) GiB + nano's 2
    assert qemu_virtual_size(directory / "disk", "qcow2") == 5 * GIB
    assert qemu_virtual_size(directory / "disk.local", "qcow2") == 2 * GIB
    assert (directory / "disk.swap").exists()
    guest = deps.driver.spawned[-1]
    assert (guest.vcpus, guest.memory_mb) == (2, 512)
    assert qemu_virtual_size(tmp_path / "instances" / f"{UUID}_resize" / "disk",
                             "qcow2") == GIB
    resize_confirm.confirm(deps, CTX, UUID, migration_id)
    assert server(deps).vm_state == states.ACTIVE
    assert usage(deps) == Resources(2, 512, 8)
    assert not (tmp_path / "instances" / f"{UUID}_resize").exists()


def test_revert_gives_back_the_old_flavor_and_disks(deps, tmp_path):
    migration_id = start_move(deps, SMALL)
    resize.run(deps, CTX, UUID, migration_id)
    begin(deps, "revertResize")
    resize_confirm.revert(deps, CTX, UUID, migration_id)
    instance = server(deps)
    assert (instance.vm_state, instance.task_state) == (states.ACTIVE, None), instance.fault
    assert (instance.vcpus, instance.memory_mb, instance.root_gb) == (1, 128, 1)
    assert qemu_virtual_size(tmp_path / "instances" / UUID / "disk", "qcow2") == GIB
    assert deps.driver.spawned[-1].vcpus == 1
    assert usage(deps) == Resources(1, 128, 2)
    with transaction(deps.sessions, write=False) as session:
        assert session.get_one(Migration, migration_id).status == moves.REVERTED


def test_no_room_rolls_the_resize_back(deps):
    huge = {**SMALL, "id": "9", "name": "huge", "ram": 100000}
    migration_id = start_move(deps, huge)
    resize.run(deps, CTX, UUID, migration_id)
    instance = server(deps)
    assert (instance.vm_state, instance.task_state) == (states.ACTIVE, None)
    assert instance.fault["message"].startswith("No valid host was found.")
    assert instance.power_state == states.RUNNING and instance.vcpus == 1
    assert usage(deps) == Resources(1, 128, 2)


def test_a_disk_that_would_shrink_rolls_back(deps):
    migration_id = start_move(deps, {**NANO, "id": "x", "name": "noeph", "ephemeral": 0})
    resize.run(deps, CTX, UUID, migration_id)
    instance = server(deps)
    assert instance.vm_state == states.ACTIVE
    assert instance.fault["message"] == "Resize error: Unable to resize disk down."


def test_a_stopped_server_resizes_and_stays_stopped(deps):
    deps.driver.power_off(server(deps).domain_name, 1)
    with transaction(deps.sessions) as session:
        repo.get_instance(session, UUID, None).vm_state = states.STOPPED
    migration_id = start_move(deps, SMALL)
    resize.run(deps, CTX, UUID, migration_id)
    assert server(deps).power_state == states.SHUTDOWN
    resize_confirm.confirm(deps, CTX, UUID, migration_id)
    assert server(deps).vm_state == states.STOPPED


def test_a_restart_rolls_an_interrupted_resize_back(deps, tmp_path):
    migration_id = start_move(deps, SMALL)
    resize.run(deps, CTX, UUID, migration_id)
    with transaction(deps.sessions) as session:   # as if it died in resize_finish
        repo.get_instance(session, UUID, None).task_state = states.RESIZE_FINISH
        row = session.get_one(Migration, migration_id)
        row.status = moves.POST_MIGRATING
    assert resize_confirm.recover_interrupted(deps, UUID, states.RESIZE_FINISH) == \
        "rolled back"
    instance = server(deps)
    assert (instance.vm_state, instance.task_state, instance.vcpus) == \
        (states.ACTIVE, None, 1)
    assert not (tmp_path / "instances" / f"{UUID}_resize").exists()
    with transaction(deps.sessions, write=False) as session:
        assert session.get_one(Migration, migration_id).status == moves.ERROR


def test_a_restart_puts_an_interrupted_rebuild_in_error(deps):
    begin(deps, "rebuild")
    with transaction(deps.sessions) as session:   # as if it died while spawning
        repo.get_instance(session, UUID, None).task_state = states.REBUILD_SPAWNING
    rebuild.recover_interrupted(deps, UUID)
    instance = server(deps)
    assert (instance.vm_state, instance.task_state) == (states.ERROR, None)
    assert "restarted while the server was being rebuilt" in instance.fault["message"]
