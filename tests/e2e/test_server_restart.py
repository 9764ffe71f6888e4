"""computed restarts without losing anything: at start it reconciles its
database with what libvirt reports (a domain that died shows SHUTOFF, a
server whose domain is missing is ERROR), and while it runs, a guest that
powers off behind its back is noticed by the periodic power sync."""
from __future__ import annotations

import pytest

from pocketstack import processes
from tests.support.compute import virsh, wait_for

LIBVIRT_SOCKET = "/run/libvirt/libvirt-sock"  # qemu:///system's, as root

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


def test_computed_starts_while_libvirt_is_away_and_reconciles_once_back(stack, demo, admin,
                                                                       tmp_path):
    """As nova-compute: computed serves while libvirtd cannot be reached
    (what needs no hypervisor answers, an action on a guest gets 503 and the
    hypervisor is down), and once libvirtd answers it reconciles: a guest
    that died meanwhile is SHUTOFF, and can be started. libvirtd "comes
    back" for this computed alone: its URI names a socket path that exists
    only once the test links it to libvirtd's (the machine's libvirtd is
    never stopped)."""
    server = demo.wait_status(demo.create()["id"], "ACTIVE")
    away = tmp_path / "libvirt-sock"
    stop_computed(stack)
    virsh("destroy", server["id"])  # behind computed's back
    stack.set_option("computed.conf", "libvirt", "uri", f"qemu+unix:///system?socket={away}")
    try:
        result = stack.up()
        assert result.returncode == 0, result.stdout + result.stderr
        assert "computed         started" in result.stdout
        assert demo.call("GET", f"/servers/{server['id']}").status_code == 200
        assert demo.call("GET", "/flavors").status_code == 200
        refused = demo.action(server["id"], "os-start")
        assert refused.status_code == 503, refused.text
        assert "not connected to its hypervisor" in \
            refused.json()["serviceUnavailable"]["message"]
        hypervisors = admin.call("GET", "/os-hypervisors").json()["hypervisors"]
        assert [h["state"] for h in hypervisors] == ["down"]
        assert compute_service(admin)["available"] is False

        away.symlink_to(LIBVIRT_SOCKET)  # libvirtd is back
        shut_off = wait_for(lambda: (s := demo.show(server["id"]))["status"] == "SHUTOFF"
                            and s, timeout=60, what="the reconcile once libvirt answers")
        assert shut_off["OS-EXT-STS:power_state"] == 4
        assert [h["state"] for h in admin.call("GET", "/os-hypervisors").json()[
            "hypervisors"]] == ["up"]
        assert compute_service(admin)["available"] is True
        assert demo.action(server["id"], "os-start").status_code == 202
        demo.wait_status(server["id"], "ACTIVE", task_state=None)
    finally:
        stop_computed(stack)
        stack.set_option("computed.conf", "libvirt", "uri", "qemu:///system")
        result = stack.up()
        assert result.returncode == 0, result.stdout + result.stderr
    demo.delete(server["id"])


def stop_computed(stack) -> None:
    pid = processes.running_pid(stack.state_dir / "run" / "computed.pid", "computed.app")
    assert pid
    processes.stop(pid)


def compute_service(admin) -> dict:
    """nova-compute in os-availability-zone/detail (one zone, one host)."""
    zones = admin.call("GET", "/os-availability-zone/detail").json()["availabilityZoneInfo"]
    hosts = next(zone["hosts"] for zone in zones if zone["hosts"])
    return next(iter(hosts.values()))["nova-compute"]
