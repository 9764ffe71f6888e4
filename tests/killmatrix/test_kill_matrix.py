"""kill -9 anywhere: each flow, held at each of its steps, while one daemon of
the stack is killed with SIGKILL; then `pocketstack up`, and the stack must
tell the truth again.

A case (one cell: flow x step x daemon):
    1. the flow's starting point is made (a queued image, a server...)
    2. the step is armed and the flow started; the daemon that records the
       step's event holds the flow right after it (shared/stephold.py)
    3. the daemon of the case is killed (SIGKILL), then the hold released:
       the flow goes on without it, or died with it
    4. `pocketstack up` starts again what is gone
    5. the stack settles: no server in BUILD or with a task, no volume
       attaching (or in any transient status), no image saving or importing
    6. the flow is done or cleanly undone (each flow says what that means),
       and no orphan is left anywhere (tests/support/orphans.py)

Not part of `make test` (hundreds of cases, several with a guest booting
under TCG): `make kill-matrix`, with KILL_MATRIX_ARGS='-k "launch and computed"'
for a slice. The counts are printed at the end (conftest.py). Two runs at
once need their own POCKETSTACK_TEST_PORT_BASE each (and share the
machine's libvirtd, which the libvirtd cases kill).
"""
from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass

import pytest
import requests

from shared.host import libvirt_host
from tests.killmatrix import daemons
from tests.killmatrix.flows import CLIENT_MIDSTREAM, FLOWS, Case, Flow, Step
from tests.support import orphans

pytestmark = pytest.mark.e2e
SETTLE_TIMEOUT = 300.0
ORPHAN_GRACE = 30.0  # networkd's agent and volumed's export check run every few seconds


@dataclass(frozen=True)
class Cell:
    flow: Flow
    step: Step
    daemon: str

    def __str__(self) -> str:
        return f"{self.flow.name}-{self.step.name.replace(' ', '_')}-{self.daemon}"


CELLS = [Cell(flow, step, daemon) for flow in FLOWS for step in flow.steps
         for daemon in daemons.ALL]


@pytest.mark.parametrize("cell", CELLS, ids=str)
def test_kill(world, cell: Cell):
    stack = world.stack
    # Whatever an earlier case left stopped is started again first.
    result = stack.up(check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    world.refresh()
    world.hold.clear()
    case = Case(cell.flow.name, cell.step, cell.daemon)
    try:
        run_case(world, cell, case)
    finally:
        # what the case made goes, whatever happened (else a failure would
        # use up the project's quota for the cases after it)
        if not case.made.get("cleaned"):
            with contextlib.suppress(Exception):
                world.refresh()
                cell.flow.cleanup(world, case)
            with contextlib.suppress(Exception):
                world.forget_server()  # it may carry what the case left


def run_case(world, cell: Cell, case: Case) -> None:
    stack = world.stack
    # What an earlier case left wrong is that case's failure, not this one's.
    before = orphans.Truth.read(stack)
    left_before = set(orphans.find_all(stack, before))
    busy_before = set(before.busy())
    untrue_before = set(untrue_states(stack, before))
    cell.flow.prepare(world, case)

    # 2. armed, started, held at the step
    errors: list[BaseException] = []

    def run():
        try:
            cell.flow.start(world, case)
        except Exception as exc:  # a request cut by the kill
            errors.append(exc)
    if cell.step.event != CLIENT_MIDSTREAM:
        world.hold.arm(cell.step.event)
    runner = threading.Thread(target=run, name=f"flow {cell}", daemon=True)
    runner.start()
    if cell.step.event == CLIENT_MIDSTREAM:
        reached = case.midstream.wait(cell.flow.hold_timeout)
    else:
        # (not the request's end: most flows go on in the background after it)
        reached = world.hold.wait_held(cell.flow.hold_timeout) is not None
        if not reached:
            world.hold.clear()
    assert reached, f"the flow never reached {cell.step.event!r} ({errors})"

    # 3. killed, released (released whatever happens: a daemon left holding
    # would wait for stephold.HOLD_LIMIT, the server's lock with it)
    try:
        daemons.kill(stack, cell.daemon)
    finally:
        world.hold.clear()
        case.go_on.set()
    runner.join(timeout=180)

    # 4. up again
    result = stack.up(check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    if cell.daemon == "libvirtd" and not daemons.pids(stack, "libvirtd"):
        # No service starts it again (volumed does its tgtd, networkd its
        # dnsmasqs): up must. Started here all the same: it is the machine's,
        # and every later case would find none to kill.
        libvirt_host.ensure_running(stack.state_dir)
        raise AssertionError(f"pocketstack up did not start libvirtd again: {result.stdout}")
    world.refresh()

    # 5. settled: every resource in a true state
    truth = settle(stack, busy_before)

    # 6. done or cleanly undone, and nothing left behind
    outcome = cell.flow.outcome(world, case)
    assert outcome in ("done", "undone")
    untrue, left = converged(stack, truth, untrue_before, left_before)
    assert not untrue, "; ".join(untrue)
    assert not left, "orphans: " + "; ".join(left)
    cell.flow.cleanup(world, case)
    case.made["cleaned"] = True


def settle(stack, busy_before: set[str]) -> orphans.Truth:
    """Wait until nothing is transient any more (but what already was
    before the case); the last truth read."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while True:
        try:
            truth = orphans.Truth.read(stack)
        except requests.ConnectionError as exc:  # a service still starting its workers
            assert time.monotonic() < deadline, f"a service does not answer: {exc}"
            time.sleep(1.0)
            continue
        busy = [b for b in truth.busy() if b not in busy_before]
        if not busy:
            return truth
        assert time.monotonic() < deadline, f"still transient after " \
                                            f"{SETTLE_TIMEOUT:.0f} s: {busy}"
        time.sleep(1.0)


def untrue_states(stack, truth: orphans.Truth) -> list[str]:
    """Statuses the host contradicts: a server ACTIVE whose domain does not
    run (or any server but ERROR and shelved ones without a domain), a
    volume in-use without an attachment, or available with one."""
    domains = orphans.stack_domains(stack)
    found = []
    for server_id, server in truth.servers.items():
        state = domains.get(server_id)
        if server["status"] == "ACTIVE" and state != "running":
            found.append(f"server {server_id} ACTIVE, its domain {state or 'missing'}")
        elif server["status"] not in ("ERROR", "SHELVED_OFFLOADED") and state is None:
            found.append(f"server {server_id} {server['status']} without a domain")
    for volume_id, volume in truth.volumes.items():
        live = [a for a in truth.attachments.values() if a["volume_id"] == volume_id
                and a["status"] in orphans.EXPORTED]
        if volume["status"] == "in-use" and not live:
            found.append(f"volume {volume_id} in-use without an attachment")
        if volume["status"] == "available" and live:
            found.append(f"volume {volume_id} available with attachment {live[0]['id']}")
    dhcp = stack.state_dir / "lib" / "networkd" / "dhcp"
    for network_id in truth.networks:
        if (dhcp / network_id).is_dir() and not daemons.dnsmasq_runs(stack, network_id):
            found.append(f"network {network_id}: its dnsmasq does not run")
    return found


def converged(stack, truth: orphans.Truth, untrue_before: set[str],
              left_before: set[str]) -> tuple[list[str], list[str]]:
    """The new untrue states and orphans left once the periodic passes
    (networkd's agent, volumed's export check, computed's sync) had their
    chance."""
    deadline = time.monotonic() + ORPHAN_GRACE
    while True:
        untrue = [u for u in untrue_states(stack, truth) if u not in untrue_before]
        left = [o for o in orphans.find_all(stack, truth) if o not in left_before]
        if not (untrue or left) or time.monotonic() > deadline:
            return untrue, left
        time.sleep(2.0)
        truth = orphans.Truth.read(stack)
