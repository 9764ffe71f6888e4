"""A server's ports, with a fake hypervisor and networkd's calls recorded
(tests/unit/compute_fakes.FakeNetwork) but real disks and a real database:
what the launch flow makes and binds, what a failed build gives back, what
terminate deletes and unbinds, what os-interface plugs, and the checks the
API makes before anything is recorded. The same with the real networkd and
real guests: tests/compute/."""
from __future__ import annotations

import pytest

from computed import compute_api, network_api
from computed.db import repository as repo
from computed.db.models import InstanceNetworkRequest, VirtualInterface
from computed.domain import states
from computed.domain.networks import RequestedNetwork
from computed.flows import Undo, interfaces, ports
from computed.flows.launch import launch
from computed.flows.terminate import terminate
from computed.reconcile import Reconciler
from shared.clients.base import RemoteError
from shared.context import RequestContext
from shared.db import transaction
from shared.errors import ApiError, BadRequest, Conflict, Forbidden, NotFound
from tests.unit.compute_fakes import FakeDriver, FakeImages, FakeNetwork, image_record, make_deps
from tests.unit.test_compute_launch import IMAGE, UUID, add_building_server

CTX = RequestContext("req-1", project_id="p", user_id="u", roles=["member"],
                     auth_token="user-token")


def setup(tmp_path, plugs: bool = True, **settings):
    network = FakeNetwork(plugs=plugs)
    driver = FakeDriver()
    deps = make_deps(tmp_path, driver, images=FakeImages({"img-1": IMAGE}), network=network,
                     **settings)
    return deps, driver, network


def build_with(deps, *wanted: RequestedNetwork, groups: list[str] = ()) -> None:
    add_building_server(deps)
    with transaction(deps.sessions) as session:
        session.add(InstanceNetworkRequest(instance_uuid=UUID,
                                           networks=[w.as_dict() for w in wanted],
                                           security_groups=list(groups)))
    launch(deps, CTX, UUID, image_record("img-1", IMAGE))


def server(deps):
    with transaction(deps.sessions, write=False) as session:
        return repo.get_instance(session, UUID, None, include_deleted=True)


def test_a_build_makes_and_binds_a_port_and_starts_paused_until_it_is_plugged(tmp_path):
    deps, driver, network = setup(tmp_path)
    private = network.add_network("private")
    build_with(deps, RequestedNetwork(private["id"], fixed_ip="10.0.0.42"), groups=["sg-web"])
    instance = server(deps)
    assert (instance.vm_state, instance.task_state) == (states.ACTIVE, None), instance.fault
    [port] = network.ports.values()
    assert (port["device_id"], port["device_owner"], port["binding:host_id"]) == \
        (UUID, "compute:nova", "h1")
    assert port["fixed_ips"][0]["ip_address"] == "10.0.0.42"
    assert port["security_groups"] == ["sg-web"]
    [vif] = instance.vifs
    assert (vif.port_id, vif.created, vif.status) == (port["id"], True, "attached")
    [guest] = driver.spawned
    assert [(n.mac_address, n.tap) for n in guest.nics] == \
        [(port["mac_address"], "tap" + port["id"][:11])]
    # spawned paused (see FakeDriver.spawn), resumed once plugged
    assert driver.power_state(guest.domain_name) == states.RUNNING
    events = [e for e in compute_events(deps) if e.startswith("compute.instance.")]
    assert events.index("compute.instance.domain.started") < \
        events.index("compute.instance.vifs.plugged") < events.index(
            "compute.instance.create.end")


def compute_events(deps) -> list[str]:
    from sqlalchemy import text
    with deps.sessions() as session:
        return [row[0] for row in session.execute(text(
            "SELECT event_type FROM events ORDER BY timestamp, rowid"))]


def test_a_port_never_plugged_fails_the_build_and_gives_every_port_back(tmp_path):
    deps, driver, network = setup(tmp_path, plugs=False, vif_plugging_timeout=1)
    private = network.add_network("private")
    theirs = network.add_port(private, name="mine")
    build_with(deps, RequestedNetwork(private["id"]),
               RequestedNetwork(private["id"], port_id=theirs["id"]))
    instance = server(deps)
    assert instance.vm_state == states.ERROR
    assert "Virtual Interface creation failed" in instance.fault["message"]
    assert "not plugged (ACTIVE) within 1 s" in instance.fault["message"]
    # made: deleted; passed: unbound and left to its owner
    assert list(network.ports) == [theirs["id"]] and len(network.deleted) == 1
    kept = network.ports[theirs["id"]]
    assert (kept["device_id"], kept["device_owner"], kept["binding:host_id"]) == \
        ("", "", None)
    assert instance.vifs == [] and driver.guests == {}


def test_terminate_deletes_the_ports_it_made_and_unbinds_the_users(tmp_path):
    deps, _driver, network = setup(tmp_path)
    private = network.add_network("private")
    theirs = network.add_port(private)
    build_with(deps, RequestedNetwork(private["id"]),
               RequestedNetwork(private["id"], port_id=theirs["id"]))
    [made, passed] = server(deps).vifs
    assert (made.created, passed.created) == (True, False)
    assert network.ports[theirs["id"]]["device_id"] == UUID
    terminate(deps, CTX, UUID)
    assert network.deleted == [made.port_id]
    assert network.ports[theirs["id"]]["device_id"] == ""
    assert server(deps).deleted and server(deps).vifs == []


def test_a_port_made_but_never_recorded_is_deleted_at_terminate(tmp_path):
    deps, _driver, network = setup(tmp_path)
    private = network.add_network("private")
    build_with(deps)
    orphan = network.add_port(private, device_id=UUID, device_owner="compute:nova")
    hand_set = network.add_port(private, device_id=UUID, device_owner="")
    terminate(deps, CTX, UUID)
    assert orphan["id"] not in network.ports
    assert network.ports[hand_set["id"]]["device_id"] == ""


# --- the API's checks ----------------------------------------------------------------------
def plan(deps, networks, groups=(), ctx=CTX):
    from computed.domain.networks import parse_networks
    request = parse_networks(networks, (2, 1), networks is not None)
    return network_api.plan_networks(deps, ctx, request, list(groups), UUID)


def test_no_network_named_takes_the_projects_only_one(tmp_path):
    deps, _driver, network = setup(tmp_path)
    assert plan(deps, None).networks == []  # none at all: a server without a NIC
    network.add_network("public", project_id="admin", **{"router:external": True,
                                                          "shared": False})
    private = network.add_network("private")
    network.add_network("theirs", project_id="q")
    assert plan(deps, []).networks == [RequestedNetwork(private["id"])]
    network.add_network("shared", project_id="q", shared=True)
    with pytest.raises(Conflict, match="Multiple possible networks found"):
        plan(deps, None)


def test_networks_and_ports_are_checked_before_anything_is_made(tmp_path):
    deps, _driver, network = setup(tmp_path)
    private = network.add_network("private")
    bare = network.add_network("bare", subnets=False)
    public = network.add_network("public", project_id="admin", **{"router:external": True})
    busy = network.add_port(private, device_id="another-server")
    foreign = network.add_port(private, project_id="q")
    free = network.add_port(private)
    unknown = "6d0cc6b4-9999-4000-8000-000000000009"
    cases = [
        ([{"uuid": unknown}], BadRequest, f"Network {unknown} could not be found."),
        ([{"uuid": bare["id"]}], BadRequest, "requires a subnet in order to boot"),
        ([{"uuid": public["id"]}], Forbidden, "not allowed to create an interface on "
                                              "external network"),
        ([{"port": unknown}], BadRequest, f"Port id {unknown} could not be found."),
        ([{"port": busy["id"]}], Conflict, f"Port {busy['id']} is still in use."),
        ([{"port": foreign["id"]}], BadRequest, f"not usable for instance {UUID}"),
        ([{"uuid": private["id"], "fixed_ip": free["fixed_ips"][0]["ip_address"]}],
         BadRequest, "is already in use on instance"),
    ]
    for networks, error, message in cases:
        with pytest.raises(error, match=message):
            plan(deps, networks)
    assert plan(deps, [{"port": free["id"]}]).networks == [
        RequestedNetwork(private["id"], free["id"])]
    assert not network.deleted and all(p["binding:host_id"] is None
                                       for p in network.ports.values())


def test_security_groups_are_resolved_in_the_project(tmp_path):
    deps, _driver, network = setup(tmp_path)
    network.groups = [{"id": "g1", "name": "default", "tenant_id": "p"},
                      {"id": "g2", "name": "web", "tenant_id": "p"},
                      {"id": "g3", "name": "web", "tenant_id": "q"}]
    assert plan(deps, None, ["default"]).security_groups == []  # networkd's own default
    assert plan(deps, None, ["web", "default"]).security_groups == ["g2", "g1"]
    with pytest.raises(BadRequest, match="Unable to find security_group with name or id "
                                         "'db'"):
        plan(deps, None, ["db"])


def test_create_servers_answers_409_when_the_choice_is_ambiguous(tmp_path):
    deps, _driver, network = setup(tmp_path)
    with transaction(deps.sessions) as session:
        repo.seed_flavors(session)
    network.add_network("a")
    network.add_network("b")
    body = {"server": {"name": "x", "imageRef": "img-1", "flavorRef": "1"}}
    with pytest.raises(Conflict) as raised:
        compute_api.create_servers(deps, CTX, body)
    assert raised.value.message == ("Multiple possible networks found, use a Network ID to "
                                    "be more specific.")
    with transaction(deps.sessions, write=False) as session:
        assert repo.live_instances(session) == []  # nothing kept of it
    deps.builds.shutdown(wait=True)


# --- os-interface --------------------------------------------------------------------------
def test_an_interface_is_hot_plugged_then_unplugged_and_its_port_deleted(tmp_path):
    deps, driver, network = setup(tmp_path)
    private = network.add_network("private")
    other = network.add_network("other")
    build_with(deps, RequestedNetwork(private["id"]))
    domain = server(deps).domain_name
    port_id = interfaces.attach(deps, CTX, UUID, "p", RequestedNetwork(other["id"]))
    port = network.ports[port_id]
    assert (port["device_id"], port["status"]) == (UUID, "ACTIVE")
    assert driver.nics[domain] == [server(deps).vifs[0].mac_address, port["mac_address"]]

    interfaces.begin_detach(deps, CTX, UUID, "p", port_id)
    with pytest.raises(Conflict, match="is detaching"):
        interfaces.begin_detach(deps, CTX, UUID, "p", port_id)
    interfaces.detach(deps, CTX, UUID, port_id)
    assert port_id in network.deleted and len(driver.nics[domain]) == 1
    with pytest.raises(NotFound, match=f"Port {port_id} is not attached"):
        interfaces.begin_detach(deps, CTX, UUID, "p", port_id)


def test_a_users_port_attached_then_detached_is_only_unbound(tmp_path):
    deps, _driver, network = setup(tmp_path)
    private = network.add_network("private")
    build_with(deps, RequestedNetwork(private["id"]))
    theirs = network.add_port(private)
    interfaces.attach(deps, CTX, UUID, "p", RequestedNetwork(private["id"], theirs["id"]))
    interfaces.begin_detach(deps, CTX, UUID, "p", theirs["id"])
    interfaces.detach(deps, CTX, UUID, theirs["id"])
    assert network.ports[theirs["id"]]["device_id"] == ""
    with transaction(deps.sessions, write=False) as session:
        assert [v.port_id for v in session.query(VirtualInterface)] == \
            [server(deps).vifs[0].port_id]


def test_an_attach_that_is_not_plugged_in_time_is_undone_and_is_a_500(tmp_path):
    deps, driver, network = setup(tmp_path, vif_plugging_timeout=1)
    private = network.add_network("private")
    build_with(deps, RequestedNetwork(private["id"]))
    network.plugs = False
    domain = server(deps).domain_name
    with pytest.raises(ApiError) as raised:
        interfaces.attach(deps, CTX, UUID, "p", RequestedNetwork(private["id"]))
    assert raised.value.status == 500
    assert raised.value.message == f"Failed to attach network adapter device to {UUID}"
    assert len(network.ports) == 1 and len(driver.nics[domain]) == 1
    assert "not plugged" in server(deps).fault["message"]


def test_interfaces_need_a_server_that_may_take_them(tmp_path):
    deps, _driver, network = setup(tmp_path)
    private = network.add_network("private")
    add_building_server(deps)
    with pytest.raises(Conflict, match="in vm_state building"):
        interfaces.attach(deps, CTX, UUID, "p", RequestedNetwork(private["id"]))
    assert network.ports == {}


def test_a_build_interrupted_by_a_restart_gives_its_ports_back(tmp_path):
    """computed died after the network step: reconcile at start deletes the
    port it made and unbinds the one the user passed."""
    deps, _driver, network = setup(tmp_path)
    private = network.add_network("private")
    theirs = network.add_port(private)
    add_building_server(deps)
    with transaction(deps.sessions) as session:
        instance = repo.get_instance(session, UUID, None)
        instance.task_state, instance.host = states.SPAWNING, "h1"
    caller = deps.caller(CTX)
    made = ports.allocate(deps, caller, UUID, RequestedNetwork(private["id"]), [], Undo())
    ports.allocate(deps, caller, UUID, RequestedNetwork(private["id"], theirs["id"]), [],
                   Undo())
    report = Reconciler(deps).startup()
    assert report["interrupted_builds"] == [UUID]
    assert network.deleted == [made.port_id]
    assert network.ports[theirs["id"]]["device_id"] == ""
    instance = server(deps)
    assert instance.vm_state == states.ERROR and instance.vifs == []


class BrieflyUnavailable(FakeNetwork):
    """networkd answering `status` to the first `times` looks at ports made
    by the build (as it answers 503 while identity restarts)."""

    def __init__(self, status: int, times: int):
        super().__init__()
        self.status, self.times = status, times

    def list_ports(self, caller, **filters):
        if "id" in filters and self.times > 0:
            self.times -= 1
            raise RemoteError("networkd", self.status, "The Keystone service is "
                              "temporarily unavailable." if self.status == 503 else "Denied")
        return super().list_ports(caller, **filters)


@pytest.mark.parametrize(("status", "vm_state"), [(503, states.ACTIVE), (403, states.ERROR)])
def test_the_wait_for_plugged_ports_outlasts_a_networkd_briefly_unavailable(
        tmp_path, status, vm_state):
    network = BrieflyUnavailable(status, times=2)
    deps = make_deps(tmp_path, FakeDriver(), images=FakeImages({"img-1": IMAGE}),
                     network=network, vif_plugging_timeout=5)
    private = network.add_network("private")
    build_with(deps, RequestedNetwork(private["id"]))
    instance = server(deps)
    assert instance.vm_state == vm_state, instance.fault
    if vm_state == states.ERROR:
        assert "networkd refused to show the ports: Denied" in instance.fault["message"]
