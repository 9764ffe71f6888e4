"""Shelve's pure pieces and its offload over the fake hypervisor: the states
Nova allows, what an offload gives back (domain, files, claim, the port's
host binding, the volume's connection) and keeps (the port, the volume's
mapping), the recovery after a restart, and the actions as Nova names
them. Real guests: tests/e2e/test_server_shelve.py."""
from __future__ import annotations

import datetime as dt

import pytest

from computed.db import repository as repo
from computed.db.models import BlockDeviceMapping, Instance, InstanceShelved, VirtualInterface
from computed.domain import states
from computed.domain.instance_actions import RecordedEvent, actions_of
from computed.flows import shelve
from computed.reconcile import Reconciler
from shared.db import transaction
from tests.unit.compute_fakes import FakeDriver, FakeNetwork, FakeVolumes, make_deps

UUID = "5a0cc6b4-0000-4000-8000-000000000001"
T0 = dt.datetime(2026, 12, 1, 12, 0)


@pytest.mark.parametrize(("action", "vm_state", "allowed"), [
    ("shelve", states.ACTIVE, True), ("shelve", states.STOPPED, True),
    ("shelve", states.PAUSED, True), ("shelve", states.SUSPENDED, True),
    ("shelve", states.SHELVED, False), ("shelve", states.ERROR, False),
    ("shelveOffload", states.SHELVED, True), ("shelveOffload", states.SHELVED_OFFLOADED, False),
    ("unshelve", states.SHELVED, True), ("unshelve", states.SHELVED_OFFLOADED, True),
    ("unshelve", states.ACTIVE, False),
    ("createBackup", states.ACTIVE, True), ("createBackup", states.SHELVED, False)])
def test_the_states_nova_allows(action, vm_state, allowed):
    try:
        rule = states.check(action, UUID, vm_state, None, None if action == "unshelve"
                            else "h1")
    except states.InvalidState as exc:
        assert not allowed
        assert str(exc) == f"Cannot '{action}' instance {UUID} while it is in vm_state " \
                           f"{vm_state}"
    else:
        assert allowed and rule.task


def test_the_statuses_users_see():
    assert states.api_status(states.SHELVED, None) == "SHELVED"
    assert states.api_status(states.SHELVED_OFFLOADED, states.SPAWNING) == "SHELVED_OFFLOADED"
    assert states.api_status(states.ACTIVE, states.SHELVING) == "ACTIVE"


@pytest.fixture
def world(tmp_path):
    driver, volumes, network = FakeDriver(), FakeVolumes(), FakeNetwork()
    deps = make_deps(tmp_path, driver, volumes=volumes, network=network)
    net = network.add_network("private")
    port = network.add_port(net, device_id=UUID, device_owner="compute:nova")
    network.ports[port["id"]]["binding:host_id"] = "h1"
    with transaction(deps.sessions) as session:
        instance = Instance(
            uuid=UUID, display_name="s", hostname="s", project_id="p", user_id="u",
            image_ref="img", flavor={"id": "1"}, vcpus=1, memory_mb=128, root_gb=1,
            ephemeral_gb=1, swap=0, vm_state=states.SHELVED,
            task_state=states.SHELVING_OFFLOADING, power_state=states.SHUTDOWN, host="h1",
            node="h1", domain_name="instance-5a0cc6b4", claimed=True, reservation_id="r",
            created_at=T0, updated_at=T0)
        instance.block_devices.append(BlockDeviceMapping(
            volume_id="vol-1", device_name="vdc", attachment_id="att-1", secret_uuid="sec-1",
            connection={"target_iqn": "iqn"}, status="attached", created_at=T0))
        instance.vifs.append(VirtualInterface(
            port_id=port["id"], network_id=net["id"], mac_address=port["mac_address"],
            created=True, status="attached", created_at=T0))
        session.add(instance)
        session.add(InstanceShelved(instance_uuid=UUID, image_id="img-shelved",
                                    shelved_host="h1", shelved_at=T0))
    driver.add(UUID, states.SHUTDOWN)
    driver.secrets["sec-1"] = "pocketstack/node-1/att-1"
    deps.instance_dir(UUID).mkdir(parents=True)
    (deps.instance_dir(UUID) / "disk").write_bytes(b"root")
    return deps, driver, volumes, network, port["id"]


def test_an_offload_interrupted_by_a_restart_is_done_again(world):
    deps, driver, volumes, network, port_id = world
    report = Reconciler(deps).startup()
    assert report["shelve_recovered"] == [f"{UUID}: offloaded"]
    with transaction(deps.sessions, write=False) as session:
        instance = repo.get_instance(session, UUID, None)
        assert (instance.vm_state, instance.task_state) == (states.SHELVED_OFFLOADED, None)
        assert (instance.host, instance.node, instance.claimed) == (None, None, False)
        [bdm] = instance.volumes                 # kept, its connection given back
        assert (bdm.attachment_id, bdm.secret_uuid, bdm.connection) == ("att-new-1", None,
                                                                        None)
        assert session.get(InstanceShelved, UUID).image_id == "img-shelved"
        assert [vif.port_id for vif in instance.vifs] == [port_id]
    assert driver.destroyed == ["instance-5a0cc6b4"] and driver.secrets == {}
    assert volumes.deleted == ["att-1"] and volumes.reserved == [("vol-1", UUID)]
    assert network.ports[port_id]["binding:host_id"] is None          # unbound ...
    assert network.ports[port_id]["device_id"] == UUID                # ... but kept
    assert not deps.instance_dir(UUID).exists()


def test_a_restart_during_unshelving_leaves_it_shelved(world):
    deps, *_ = world
    with transaction(deps.sessions) as session:
        instance = repo.get_instance(session, UUID, None)
        instance.vm_state, instance.task_state = states.SHELVED_OFFLOADED, states.UNSHELVING
    assert shelve.recover(deps, UUID, states.SHELVED_OFFLOADED, states.UNSHELVING) == \
        "task cleared"
    with transaction(deps.sessions, write=False) as session:
        assert repo.get_instance(session, UUID, None).task_state is None


def test_deleting_a_shelved_server_deletes_its_image(world):
    deps, *_ = world
    deleted = []
    deps.images = type("Images", (), {"delete": lambda self, caller, image_id:
                                      deleted.append(image_id)})()
    shelve.delete_shelved_image(deps, deps.service_caller(), UUID)
    assert deleted == ["img-shelved"]
    with transaction(deps.sessions, write=False) as session:
        assert session.get(InstanceShelved, UUID) is None


def event(kind: str, request: str, seconds: int) -> RecordedEvent:
    return RecordedEvent(f"compute.instance.{kind}", request, "u1", "p1",
                         T0 + dt.timedelta(seconds=seconds))


def test_a_shelve_and_its_offload_are_one_event_as_in_nova():
    actions = actions_of(UUID, [
        event("shelve.start", "req-1", 0), event("shelve.end", "req-1", 5),
        event("shelve_offload.start", "req-1", 5), event("shelve_offload.end", "req-1", 8),
        event("unshelve.start", "req-2", 20), event("unshelve.image_info.start", "req-2", 21),
        event("unshelve.image_info.end", "req-2", 21), event("unshelve.schedule.start",
                                                             "req-2", 22),
        event("unshelve.schedule.end", "req-2", 22), event("unshelve.end", "req-2", 30),
        event("shelve_offload.start", "req-3", 40), event("shelve_offload.end", "req-3", 41),
        event("backup.start", "req-4", 50), event("backup.end", "req-4", 55)])
    by_action = {a["action"]: a for a in actions}
    assert set(by_action) == {"shelve", "unshelve", "shelveOffload", "createBackup"}
    assert by_action["shelve"]["events"] == [{
        "event": "compute_shelve_instance", "start_time": "2026-12-01T12:00:00.000000",
        "finish_time": "2026-12-01T12:00:08.000000", "result": "Success", "traceback": None}]
    assert [e["event"] for e in by_action["unshelve"]["events"]] == [
        "compute_unshelve_instance", "get_image_info", "schedule_instances"]
    assert [e["event"] for e in by_action["shelveOffload"]["events"]] == [
        "compute_shelve_offload_instance"]
    assert [e["event"] for e in by_action["createBackup"]["events"]] == [
        "compute_backup_instance"]
