"""Reconcile at start, with a fake hypervisor and a fake volumed: what each
kind of leftover of a stopped computed becomes (the real restart is in
tests/e2e/test_server_restart.py)."""
from __future__ import annotations

import datetime as dt
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest

from computed.db import repository as repo
from computed.db.models import BlockDeviceMapping, Instance
from computed.domain import states
from computed.flows import InstanceLocks
from computed.reconcile import Reconciler
from shared.db import transaction
from tests.unit.compute_fakes import NODE, FakeDriver, FakeImages, FakeVolumes, make_deps


@pytest.fixture
def world(tmp_path):
    driver, volumes = FakeDriver(), FakeVolumes()
    return make_deps(tmp_path, driver, volumes=volumes), driver, volumes


def add_instance(deps, uuid: str, vm_state: str, task_state=None, power=states.RUNNING,
                 volumes=()) -> None:
    now = dt.datetime(2026, 1, 1)
    with transaction(deps.sessions) as session:
        instance = Instance(
            uuid=uuid, display_name=uuid, hostname=uuid, project_id="p", user_id="u",
            image_ref="img", flavor={"id": "1", "name": "m1.nano"}, vcpus=1, memory_mb=128,
            root_gb=1, ephemeral_gb=1, swap=0, vm_state=vm_state, task_state=task_state,
            power_state=power, host="h1", node="h1", domain_name=f"instance-{uuid[:8]}",
            claimed=True, reservation_id="r", created_at=now, updated_at=now)
        for attachment, secret in volumes:
            instance.block_devices.append(BlockDeviceMapping(
                volume_id=f"vol-{attachment}", device_name="vdc", attachment_id=attachment,
                secret_uuid=secret, status="attached", created_at=now))
        session.add(instance)
    (deps.instance_dir(uuid)).mkdir(parents=True, exist_ok=True)


def load(deps, uuid: str) -> Instance:
    with transaction(deps.sessions, write=False) as session:
        return repo.get_instance(session, uuid, None, include_deleted=True)


def test_an_interrupted_build_is_undone_and_error(world):
    deps, driver, volumes = world
    add_instance(deps, "building-1", states.BUILDING, states.SPAWNING,
                 volumes=[("att-1", "sec-1")])
    driver.add("building-1", states.RUNNING)
    driver.secrets["sec-1"] = f"pocketstack/{NODE}/att-1"
    report = Reconciler(deps).startup()
    assert report["interrupted_builds"] == ["building-1"]
    instance = load(deps, "building-1")
    assert (instance.vm_state, instance.task_state, instance.claimed, instance.host) == \
        ("error", None, False, None)
    assert "computed restarted while the server was being built" in instance.fault["message"]
    assert instance.block_devices == []
    assert volumes.deleted == ["att-1"] and driver.secrets == {}
    assert driver.destroyed == ["instance-building"]
    assert not deps.instance_dir("building-1").exists()


def test_an_interrupted_delete_is_finished(world):
    deps, driver, volumes = world
    add_instance(deps, "deleting-1", states.ACTIVE, states.DELETING,
                 volumes=[("att-2", "sec-2")])
    driver.add("deleting-1", states.RUNNING)
    Reconciler(deps).startup()
    instance = load(deps, "deleting-1")
    assert instance.deleted and instance.vm_state == "deleted" and not instance.claimed
    assert volumes.deleted == ["att-2"] and "deleting-1" not in driver.guests


def test_power_states_are_taken_from_libvirt(world):
    deps, driver, _ = world
    add_instance(deps, "died-1", states.ACTIVE)
    driver.add("died-1", states.SHUTDOWN)
    add_instance(deps, "gone-1", states.ACTIVE)
    add_instance(deps, "fine-1", states.ACTIVE)
    driver.add("fine-1", states.RUNNING)
    add_instance(deps, "pausing-1", states.ACTIVE, states.PAUSING)
    driver.add("pausing-1", states.PAUSED_POWER)
    Reconciler(deps).startup()
    assert load(deps, "died-1").vm_state == "stopped"
    gone = load(deps, "gone-1")
    assert gone.vm_state == "error" and "missing from libvirt" in gone.fault["message"]
    assert load(deps, "fine-1").vm_state == "active"
    pausing = load(deps, "pausing-1")
    assert (pausing.vm_state, pausing.task_state) == ("paused", None)


def test_only_this_nodes_orphans_are_removed(world):
    deps, driver, _ = world
    add_instance(deps, "kept-1", states.ACTIVE, volumes=[("att-3", "sec-3")])
    driver.add("kept-1", states.RUNNING)
    driver.add("orphan-1", states.RUNNING)
    driver.add("stranger-1", states.RUNNING, node="another-node")
    driver.secrets.update({"sec-3": f"pocketstack/{NODE}/att-3",
                           "sec-9": f"pocketstack/{NODE}/att-9",
                           "sec-x": "pocketstack/another-node/att-x", "sec-y": "someone"})
    report = Reconciler(deps).startup()
    assert report["orphan_domains"] == ["instance-orphan-1"]
    assert "stranger-1" in driver.guests and "kept-1" in driver.guests
    assert report["orphan_secrets"] == ["sec-9"]
    assert set(driver.secrets) == {"sec-3", "sec-x", "sec-y"}


def test_the_periodic_sync_skips_busy_servers(world):
    deps, driver, _ = world
    add_instance(deps, "busy-1", states.ACTIVE, states.IMAGE_UPLOADING)
    driver.add("busy-1", states.SHUTDOWN)
    assert Reconciler(deps).sync_power_states() == []
    assert load(deps, "busy-1").vm_state == "active"


class SignallingLocks(InstanceLocks):
    """Says when someone starts waiting for a server's lock."""

    def __init__(self):
        super().__init__()
        self.waiting = threading.Event()

    @contextmanager
    def hold(self, uuid: str):
        self.waiting.set()
        with super().hold(uuid):
            yield


def test_the_periodic_sync_reads_libvirt_only_under_the_servers_lock(world):
    """A hard reboot holds the lock while the domain is off for a moment:
    the sync that waited for it must see the domain running again, not the
    power-off it could have read before (the server would end SHUTOFF)."""
    deps, driver, _ = world
    deps.locks = SignallingLocks()
    add_instance(deps, "rebooted-1", states.ACTIVE)
    driver.add("rebooted-1", states.SHUTDOWN)  # between the reboot's power-off and start
    with ThreadPoolExecutor(1) as pool:
        with InstanceLocks.hold(deps.locks, "rebooted-1"):  # the reboot's turn
            sync = pool.submit(Reconciler(deps).sync_power_states)
            assert deps.locks.waiting.wait(5)
            time.sleep(0.1)
            driver.add("rebooted-1", states.RUNNING)  # the reboot starts it again
        assert sync.result(5) == []
    assert (load(deps, "rebooted-1").vm_state, load(deps, "rebooted-1").power_state) == \
        ("active", states.RUNNING)


def test_paths_are_under_the_instances_path(world):
    deps, _, _ = world
    assert deps.instance_dir("x") == Path(deps.settings.instances_path) / "x"


def snapshot_image(image_id: str, server: str, status: str = "queued") -> dict:
    return {"id": image_id, "status": status, "image_type": "snapshot",
            "instance_uuid": server}


def test_an_interrupted_snapshot_leaves_no_image_and_no_copy(tmp_path):
    driver, images = FakeDriver(), FakeImages()
    deps = make_deps(tmp_path, driver, images=images, volumes=FakeVolumes())
    add_instance(deps, "snap-1", states.ACTIVE, states.IMAGE_UPLOADING)
    driver.add("snap-1", states.RUNNING)
    images.records["img-1"] = snapshot_image("img-1", "snap-1")
    images.records["img-2"] = snapshot_image("img-2", "snap-1", status="active")
    copies = deps.settings.instances_path / "snapshots"
    copies.mkdir(parents=True)
    (copies / "img-1.qcow2").write_bytes(b"half a copy")

    reconciler = Reconciler(deps)
    report = reconciler.startup()
    assert report["snapshot_copies"] == ["img-1.qcow2"]
    assert reconciler.after_startup()["unfinished_images"] == ["img-1"]
    assert list(images.records) == ["img-2"]  # a finished snapshot is kept
    assert not list(copies.iterdir())
    assert load(deps, "snap-1").task_state is None


def test_the_periodic_pass_keeps_the_image_of_a_running_snapshot(tmp_path):
    """A snapshot whose own delete failed (imaged was down) has no task any
    more: its image goes at the next pass; one still running keeps its own."""
    driver, images = FakeDriver(), FakeImages()
    deps = make_deps(tmp_path, driver, images=images, volumes=FakeVolumes())
    add_instance(deps, "failed-1", states.ACTIVE)
    add_instance(deps, "running-1", states.ACTIVE, states.IMAGE_PENDING_UPLOAD)
    for uuid in ("failed-1", "running-1"):
        driver.add(uuid, states.RUNNING)
    images.records["img-f"] = snapshot_image("img-f", "failed-1")
    images.records["img-r"] = snapshot_image("img-r", "running-1")
    images.records["img-o"] = snapshot_image("img-o", "another-nodes-server")

    Reconciler(deps).sync_power_states()
    assert sorted(images.records) == ["img-o", "img-r"]


def test_the_domain_of_a_failed_build_goes_once_libvirt_answers(world):
    """A build failed while libvirtd was down: ERROR, no host, and the undo
    could not destroy the domain. The periodic pass destroys it; a server
    in ERROR on this host keeps its own."""
    deps, driver, _ = world
    add_instance(deps, "failed-1", states.ERROR)
    add_instance(deps, "error-2", states.ERROR)
    with transaction(deps.sessions) as session:
        repo.get_instance(session, "failed-1", None).host = None
    driver.add("failed-1", states.RUNNING)
    driver.add("error-2", states.RUNNING)
    Reconciler(deps).sync_power_states()
    assert sorted(g.uuid for g in driver.list_guests()) == ["error-2"]


def test_attaches_and_detaches_cut_short_release_their_volumes(world):
    deps, driver, volumes = world
    add_instance(deps, "vols-1", states.ACTIVE,
                 volumes=[("att-a", "sec-a"), ("att-d", "sec-d"), ("att-k", "sec-k")])
    driver.add("vols-1", states.RUNNING)
    for secret, attachment in (("sec-a", "att-a"), ("sec-d", "att-d"), ("sec-k", "att-k")):
        driver.secrets[secret] = f"pocketstack/{NODE}/{attachment}"
    with transaction(deps.sessions) as session:
        for bdm in repo.get_instance(session, "vols-1", None).block_devices:
            bdm.status = {"att-a": "attaching", "att-d": "detaching"}.get(
                bdm.attachment_id, "attached")
    report = Reconciler(deps).startup()
    assert len(report["volume_changes"]) == 2
    assert sorted(volumes.deleted) == ["att-a", "att-d"]
    assert [b.attachment_id for b in load(deps, "vols-1").volumes] == ["att-k"]
    assert set(driver.secrets) == {"sec-k"}


def test_an_attach_cut_short_after_its_plug_is_finished(world):
    """computed died after the disk was plugged (volumed may have made the
    volume in-use already): the attach is completed, not unplugged (an
    unplug can fail, and would leave a disk whose export is gone)."""
    deps, driver, volumes = world
    add_instance(deps, "plugged-1", states.ACTIVE, volumes=[("att-p", "sec-p")])
    driver.add("plugged-1", states.RUNNING)
    driver.secrets["sec-p"] = f"pocketstack/{NODE}/att-p"
    driver.volumes["instance-plugged-"] = ["vdc"]
    with transaction(deps.sessions) as session:
        repo.get_instance(session, "plugged-1", None).block_devices[0].status = "attaching"
    report = Reconciler(deps).startup()
    assert report["volume_changes"] == ["plugged-1: volume vol-att-p was attaching, "
                                        "attached (its disk was plugged)"]
    assert volumes.completed == ["att-p"] and volumes.deleted == []
    assert [(b.attachment_id, b.status) for b in load(deps, "plugged-1").volumes] == \
        [("att-p", "attached")]
    assert driver.volumes["instance-plugged-"] == ["vdc"] and set(driver.secrets) == {"sec-p"}


def test_a_detach_whose_disk_the_guest_keeps_stays_attached(world):
    """The volume is never released while its disk is plugged."""
    deps, driver, volumes = world
    add_instance(deps, "kept-2", states.ACTIVE, volumes=[("att-s", "sec-s")])
    driver.add("kept-2", states.RUNNING)
    driver.secrets["sec-s"] = f"pocketstack/{NODE}/att-s"
    driver.volumes["instance-kept-2"] = ["vdc"]
    driver.kept_volumes.add("vdc")
    with transaction(deps.sessions) as session:
        repo.get_instance(session, "kept-2", None).block_devices[0].status = "detaching"
    Reconciler(deps).startup()
    instance = load(deps, "kept-2")
    assert [(b.attachment_id, b.status) for b in instance.volumes] == [("att-s", "attached")]
    assert "Detaching volume vol-att-s failed" in instance.fault["message"]
    assert volumes.deleted == [] and set(driver.secrets) == {"sec-s"}


def test_the_periodic_pass_removes_secrets_no_mapping_names(world):
    """A build whose undo could not reach libvirtd left its volume's secret;
    the next pass removes it and keeps the secret of an attached volume."""
    deps, driver, _ = world
    add_instance(deps, "kept-1", states.ACTIVE, volumes=[("att-1", "sec-1")])
    driver.add("kept-1", states.RUNNING)
    driver.secrets["sec-1"] = f"pocketstack/{NODE}/att-1"
    driver.secrets["sec-left"] = f"pocketstack/{NODE}/att-gone"
    Reconciler(deps).sync_power_states()
    assert set(driver.secrets) == {"sec-1"}
