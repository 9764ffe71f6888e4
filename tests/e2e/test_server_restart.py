"""computed restarts without losing anything: at start it reconciles its
database with what libvirt reports (a domain that died shows SHUTOFF, a
server whose domain is missing is ERROR), and while it runs, a guest that
powers off behind its back is noticed by the periodic power sync."""
from __future__ import annotations

import pytest

from pocketstack import processes
from tests.support.compute import virsh, wait_for

pytestmark = pytest.mark.e2e


def test_restart_reconciles_with_libvirt(stack, demo):
    died = demo.wait_status(demo.create()["id"], "ACTIVE")
    vanished = demo.wait_status(demo.create()["id"], "ACTIVE")
    kept = demo.wait_status(demo.create()["id"], "ACTIVE")

    pid_file = stack.state_dir / "run" / "computed.pid"
    pid = processes.running_pid(pid_file, "computed.app")
    assert pid
    processes.stop(pid)
    # Behind computed's back: one guest dies, one domain disappears entirely.
    virsh("destroy", died["id"])
    virsh("destroy", vanished["id"])
    virsh("undefine", vanished["id"])
    result = stack.up()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "computed         started" in result.stdout

    assert demo.show(died["id"])["status"] == "SHUTOFF"
    error = demo.show(vanished["id"])
    assert error["status"] == "ERROR"
    assert "is missing from libvirt" in error["fault"]["message"]
    assert demo.show(kept["id"])["status"] == "ACTIVE"

    # The dead one starts again; nothing was lost.
    assert demo.action(died["id"], "os-start", None).status_code == 202
    demo.wait_status(died["id"], "ACTIVE", task_state=None)
    for server in (died, vanished, kept):
        demo.delete(server["id"])


def test_a_guest_that_stops_behind_computeds_back_becomes_shutoff(demo):
    server = demo.wait_status(demo.create()["id"], "ACTIVE")
    virsh("destroy", server["id"])
    stopped = wait_for(lambda: (s := demo.show(server["id"]))["status"] == "SHUTOFF" and s,
                       timeout=60, what="the power sync")
    assert stopped["OS-EXT-STS:power_state"] == 4
    assert "compute.instance.power.synced" in demo.events(server["id"])
    demo.delete(server["id"])
