"""networkd's resource functions and its agent over a real SQLite
database, without HTTP and without a kernel: one request is one
transaction (a refusal leaves nothing), the DesiredState the data plane is
given, and the agent's port statuses from plug()'s answer.

The data plane here is a recording implementation of the DataPlane
contract: what is tested is the agent's side of the seam (what it asks,
what it does with the answer); the kernel side has its own tests
(tests/dataplane)."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from networkd import networks, ports, security_groups, seed, subnets
from networkd.access import Access
from networkd.agent import Agent, StatusChange
from networkd.call import Call
from networkd.config import QUOTA_DEFAULTS
from networkd.dataplane.contract import DataPlane, DataPlaneError
from networkd.dataplane.model import DesiredState
from networkd.db.models import IPAllocation, Port, SecurityGroupRule
from networkd.desired import build
from networkd.errors import IpAddressAlreadyAllocated
from networkd.policies import RULES
from networkd.settings import Settings
from shared.context import RequestContext
from shared.db import transaction
from shared.events import Notifier
from shared.netnames import bridge_name, tap_name
from shared.policy import PolicyEnforcer
from tests.unit.networkd_db import networkd_database


class RecordingDataPlane(DataPlane):
    """Records each state applied; plug() answers the taps it is told exist."""

    def __init__(self):
        self.applied: list[DesiredState] = []
        self.thorough: list[bool] = []
        self.taps: set[str] = set()
        self.fail = False

    def apply(self, state: DesiredState, thorough: bool = True) -> None:
        if self.fail:
            raise DataPlaneError("no namespace")
        self.applied.append(state)
        self.thorough.append(thorough)

    def plug(self, state: DesiredState) -> set[str]:
        return {port.id for port in state.ports if port.tap in self.taps}

    def teardown(self) -> None:
        self.applied.clear()


@pytest.fixture
def sessions(tmp_path):
    yield from networkd_database(tmp_path)


@pytest.fixture
def policy(tmp_path) -> PolicyEnforcer:
    return PolicyEnforcer(RULES, tmp_path / "networkd-policy.yaml")


def member(project: str = "p1") -> RequestContext:
    return RequestContext(request_id="req-1", user_id="u1", project_id=project,
                          roles=["member", "reader"])


def admin() -> RequestContext:
    return RequestContext(request_id="req-1", user_id="u0", project_id="admin-project",
                          roles=["admin", "member", "reader"])


def run(sessions, policy, work, ctx: RequestContext | None = None):
    """One request: its function in one transaction."""
    with transaction(sessions) as session:
        call = Call(session, Access(policy, ctx or member()),
                    Settings(quota_defaults=dict(QUOTA_DEFAULTS)), Notifier("networkd", sessions))
        return work(call)


def make_network(sessions, policy, cidr: str = "10.9.0.0/24") -> tuple[str, str]:
    def work(call: Call):
        network = networks.create(call, {"network": {"name": "n"}})
        subnet = subnets.create(call, {"subnet": {"network_id": network.id, "cidr": cidr,
                                                  "ip_version": 4}})
        return network.id, subnet.id
    return run(sessions, policy, work)


def make_port(sessions, policy):
    """A guest port on a new network (its tap not plugged yet)."""
    network_id, _ = make_network(sessions, policy)
    return run(sessions, policy, lambda call: ports.create(call, {"port": {
        "network_id": network_id}}))


def test_a_refused_request_leaves_nothing(sessions, policy):
    network_id, subnet_id = make_network(sessions, policy)
    run(sessions, policy, lambda call: ports.create(call, {"port": {
        "network_id": network_id, "fixed_ips": [{"ip_address": "10.9.0.50"}]}}))
    with pytest.raises(IpAddressAlreadyAllocated):
        run(sessions, policy, lambda call: ports.create(call, {"port": {
            "network_id": network_id,
            "fixed_ips": [{"ip_address": "10.9.0.60"}, {"ip_address": "10.9.0.50"}]}}))
    with transaction(sessions, write=False) as session:
        addresses = set(session.scalars(select(IPAllocation.ip_address)))
        count = len(list(session.scalars(select(Port))))
    assert addresses == {"10.9.0.2", "10.9.0.50"}   # the DHCP port's and the first port's
    assert count == 2


def test_the_desired_state_has_networks_dhcp_and_guest_ports(sessions, policy):
    network_id, subnet_id = make_network(sessions, policy)
    port = run(sessions, policy, lambda call: ports.create(call, {"port": {
        "network_id": network_id, "device_owner": "compute:nova"}}))
    with transaction(sessions, write=False) as session:
        state = build(session)
    [network] = state.networks
    assert (network.id, network.bridge, network.external) == \
        (network_id, bridge_name(network_id), False)
    [subnet] = network.subnets
    assert (subnet.id, subnet.cidr, subnet.gateway_ip, subnet.dhcp_ip) == \
        (subnet_id, "10.9.0.0/24", "10.9.0.1", "10.9.0.2")
    [guest] = state.ports  # the DHCP port is networkd's own: not a guest port
    assert (guest.id, guest.tap, guest.fixed_ips, guest.hostname) == \
        (port.id, tap_name(port.id), ((subnet_id, "10.9.0.3"),), "host-10-9-0-3")
    assert guest.mac_address.startswith("fa:16:3e:") and len(guest.security_group_ids) == 1


def test_the_agent_sets_ports_active_once_their_tap_is_plugged(sessions, policy):
    port = make_port(sessions, policy)
    dataplane = RecordingDataPlane()
    agent = Agent(sessions, dataplane, interval=0.5)

    def statuses() -> dict[str, str]:
        with transaction(sessions, write=False) as session:
            return {p.device_owner: p.status for p in session.scalars(select(Port))}

    agent.run_once()
    assert len(dataplane.applied) == 1
    assert statuses() == {"network:dhcp": "ACTIVE", "": "DOWN"}
    dataplane.taps.add(tap_name(port.id))
    agent.run_once(force_apply=False)
    assert statuses()[""] == "ACTIVE"
    assert len(dataplane.applied) == 1   # same state, not signalled: not applied again
    dataplane.taps.clear()
    agent.run_once(force_apply=False)
    assert statuses()[""] == "DOWN"

    dataplane.fail = True
    with pytest.raises(DataPlaneError):
        agent.run_once()
    dataplane.fail = False
    run(sessions, policy, lambda call: ports.create(call, {"port": {
        "network_id": port.network_id}}))
    agent.wake()                        # as the API signals its change
    agent.run_once(force_apply=False)   # the state changed: applied again
    assert len(dataplane.applied) == 2 and len(dataplane.applied[-1].ports) == 2


def test_the_agent_says_which_statuses_it_changed(sessions, policy):
    """What networkd.compute_events turns into network-vif-plugged and
    network-vif-unplugged for computed: each change once, with whom the
    port is for."""
    network_id, _ = make_network(sessions, policy)
    port = run(sessions, policy, lambda call: ports.create(call, {"port": {
        "network_id": network_id, "device_owner": "compute:nova", "device_id": "server-1"}}))
    told: list[list[StatusChange]] = []
    dataplane = RecordingDataPlane()
    agent = Agent(sessions, dataplane, interval=0.5, on_status_changes=told.append)
    agent.run_once()
    assert [(c.device_owner, c.before, c.after) for c in told[0]] == \
        [("network:dhcp", "DOWN", "ACTIVE")]   # the guest's port was DOWN already
    dataplane.taps.add(tap_name(port.id))
    agent.run_once(force_apply=False)
    agent.run_once(force_apply=False)   # nothing changed: nothing said
    dataplane.taps.clear()
    agent.run_once(force_apply=False)
    assert told[1:] == [
        [StatusChange(port.id, "compute:nova", "server-1", "DOWN", "ACTIVE")],
        [StatusChange(port.id, "compute:nova", "server-1", "ACTIVE", "DOWN")]]


def test_only_a_changed_state_is_applied_and_a_thorough_apply_comes_back(sessions, policy):
    """A pass applies what changed since the last apply; a change that
    leaves the state as it was (a port bound to a host) applies nothing.
    Everything is compared with the kernel at the first pass, after a
    failed one and every `resync` seconds. The database is read again
    after a change is signalled (as the API signals each one: wake()) and
    at a thorough pass, not at every pass."""
    port = make_port(sessions, policy)
    dataplane = RecordingDataPlane()
    agent = Agent(sessions, dataplane, interval=0.5, resync=3600)
    agent.run_once(force_apply=False)
    assert dataplane.thorough == [True]           # nothing applied yet
    run(sessions, policy, lambda call: ports.update(call, port.id, {"port": {
        "binding:host_id": "compute-1"}}), ctx=admin())
    agent.wake()
    agent.run_once(force_apply=False)
    assert dataplane.thorough == [True]           # the same state: nothing to do
    run(sessions, policy, lambda call: ports.create(call, {"port": {
        "network_id": port.network_id}}))
    agent.run_once(force_apply=False)
    assert dataplane.thorough == [True]           # not signalled: not read
    agent.wake()
    agent.run_once(force_apply=False)
    assert dataplane.thorough == [True, False]    # a port more: what changed
    assert len(dataplane.applied[-1].ports) == 2
    dataplane.fail = True
    run(sessions, policy, lambda call: ports.create(call, {"port": {
        "network_id": port.network_id}}))
    agent.wake()
    with pytest.raises(DataPlaneError):
        agent.run_once(force_apply=False)
    dataplane.fail = False
    agent.run_once(force_apply=False)
    assert dataplane.thorough[-1] is True         # after a failure: everything
    assert len(dataplane.applied[-1].ports) == 3
    run(sessions, policy, lambda call: ports.create(call, {"port": {
        "network_id": port.network_id}}))
    agent._resync = 0.0
    agent.run_once(force_apply=False)
    assert dataplane.thorough[-1] is True         # resync: everything, read again
    assert len(dataplane.applied[-1].ports) == 4


def test_the_agent_thread_applies_after_a_wake(sessions, policy):
    make_network(sessions, policy)
    dataplane = RecordingDataPlane()
    agent = Agent(sessions, dataplane, interval=30)
    agent.start()
    try:
        assert wait_for(lambda: agent.passes >= 1) and dataplane.applied  # at start
        before = agent.passes
        agent.wake()
        assert wait_for(lambda: agent.passes > before)   # long before the 30 s interval
    finally:
        agent.stop()


def test_the_changes_of_one_moment_come_in_one_pass_after_it(sessions, policy):
    # As a build makes its port and binds it a few milliseconds later: one
    # pass, once the moment went by, reads both.
    port = make_port(sessions, policy)
    dataplane = RecordingDataPlane()
    agent = Agent(sessions, dataplane, interval=30, settle=0.5)
    agent.start()
    try:
        assert wait_for(lambda: agent.passes >= 1)  # at start, without waiting
        before = agent.passes
        agent.wake()                                                  # the port made
        time.sleep(0.1)
        run(sessions, policy, lambda call: ports.create(call, {"port": {
            "network_id": port.network_id}}))
        agent.wake()                                                  # another change
        time.sleep(0.2)
        assert agent.passes == before                 # still settling
        assert wait_for(lambda: agent.passes > before)
        time.sleep(0.2)
        assert agent.passes == before + 1             # one pass for both
        assert len(dataplane.applied[-1].ports) == 2  # which read the second change
    finally:
        agent.stop()


class WatchingDataPlane(RecordingDataPlane):
    """Hands the agent's `appeared` callback to the test, as the kernel's
    notice of a new tap would call it."""

    def __init__(self):
        super().__init__()
        self.appeared = None
        self.watching = False

    def watch(self, appeared):
        self.appeared, self.watching = appeared, True

        def stop():
            self.watching = False
        return stop


def test_a_tap_notice_plugs_at_once_without_applying_again(sessions, policy):
    port = make_port(sessions, policy)
    dataplane = WatchingDataPlane()
    agent = Agent(sessions, dataplane, interval=30)
    agent.start()
    try:
        assert wait_for(lambda: agent.passes >= 1) and dataplane.watching
        applied = len(dataplane.applied)
        dataplane.taps.add(tap_name(port.id))
        dataplane.appeared()
        assert wait_for(lambda: port_status(sessions, port.id) == "ACTIVE")  # not in 30 s
        assert len(dataplane.applied) == applied   # the state did not change: a plug only
    finally:
        agent.stop()
    assert not dataplane.watching


def test_a_tap_notice_ends_the_settling_at_once(sessions, policy):
    """The build's port made, then its domain started within the settling
    moment: the tap is plugged as soon as it appears, with the change."""
    port = make_port(sessions, policy)
    dataplane = WatchingDataPlane()
    agent = Agent(sessions, dataplane, interval=30, settle=30)
    agent.start()
    try:
        assert wait_for(lambda: agent.passes >= 1) and dataplane.watching
        before = agent.passes
        agent.wake()                                  # the port made: settling for 30 s
        time.sleep(0.1)
        assert agent.passes == before
        dataplane.taps.add(tap_name(port.id))
        dataplane.appeared()
        assert wait_for(lambda: port_status(sessions, port.id) == "ACTIVE")
        assert agent.passes == before + 1             # one pass: the change and the plug
    finally:
        agent.stop()


def wait_for(condition, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def port_status(sessions, port_id: str) -> str:
    with transaction(sessions, write=False) as session:
        return session.get_one(Port, port_id).status


def test_each_pass_ends_with_the_after_pass_functions(sessions, policy):
    make_network(sessions, policy)
    dataplane = RecordingDataPlane()
    seen: list[int] = []
    agent = Agent(sessions, dataplane, interval=30,
                  after_pass=[lambda: seen.append(len(dataplane.applied))])
    agent.run_once()
    agent.run_once(force_apply=False)
    assert seen == [1, 1]          # after the apply, at every pass
    dataplane.fail = True
    with pytest.raises(DataPlaneError):
        agent.run_once()
    assert seen == [1, 1]          # a failed pass does not get that far


def test_the_first_start_opens_ssh_and_ping_in_the_default_group(sessions, policy):
    # A rule the group has already (here: ssh, added by hand) is kept, not doubled.
    def ssh_by_hand(call: Call):
        group = security_groups.ensure_default(call.session, "p1")
        security_groups.create_rule(call, {"security_group_rule": {
            "security_group_id": group.id, "direction": "ingress", "protocol": "tcp",
            "port_range_min": 22, "port_range_max": 22, "remote_ip_prefix": "0.0.0.0/0"}})
    run(sessions, policy, ssh_by_hand)
    run(sessions, policy, lambda call: seed.open_default_group(call, "p1"), ctx=admin())
    with transaction(sessions, write=False) as session:
        rules = [(r.direction, r.protocol, r.port_range_min, r.remote_ip_prefix)
                 for r in session.scalars(select(SecurityGroupRule))]
    assert sorted(r for r in rules if r[3] == "0.0.0.0/0") == [
        ("ingress", "icmp", None, "0.0.0.0/0"), ("ingress", "tcp", 22, "0.0.0.0/0")]
