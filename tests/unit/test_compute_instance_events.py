"""computed's wait for a server's ports (flows/ports.py wait_plugged) and
the events that end it (instance_events.py), with networkd's calls kept in
tests/unit/compute_fakes.FakeNetwork. networkd sending the events from its
agent to a real computed: tests/compute/test_server_networks.py."""
from __future__ import annotations

import threading

import pytest

from computed.flows import ports
from computed.instance_events import InstanceEvents
from tests.unit.compute_fakes import FakeDriver, FakeNetwork, make_deps

SERVER = "6f1b5d4e-8c1a-4b5e-9d0f-1a2b3c4d5e6f"


class CountingNetwork(FakeNetwork):
    """Its ports stay DOWN unless told; counts the looks (list_ports), and
    runs `before_look[n]` before it answers the n-th."""

    def __init__(self):
        super().__init__(plugs=False)
        self.looks = 0
        self.before_look: dict = {}

    def list_ports(self, caller, **filters) -> list[dict]:
        self.looks += 1
        self.before_look.get(self.looks, lambda: None)()
        return super().list_ports(caller, **filters)


def setup(tmp_path, timeout: float = 30):
    network = CountingNetwork()
    deps = make_deps(tmp_path, FakeDriver(), network=network, vif_plugging_timeout=timeout)
    port_id = network.add_port(network.add_network("private"), device_id=SERVER)["id"]
    return deps, network, port_id


def later(seconds: float, work) -> None:
    threading.Timer(seconds, work).start()


def test_events_end_the_wait_without_a_look(tmp_path):
    """One event while the domain starts (registered before its taps
    exist), one during the wait: no look at networkd (the first is
    LOOK_INTERVAL away)."""
    deps, network, first = setup(tmp_path)
    second = network.add_port(network.networks[network.ports[first]["network_id"]],
                              device_id=SERVER)["id"]
    with deps.instance_events.expect(SERVER) as heard:
        deps.instance_events.vif_plugged(SERVER, first)        # as the domain starts
        later(0.05, lambda: deps.instance_events.vif_plugged(SERVER, second))
        assert ports.wait_plugged(deps, heard, [first, second]) == [first, second]
    assert network.looks == 0


def test_without_an_event_a_look_sees_the_port_active(tmp_path, monkeypatch):
    """networkd plugged the port but did not say so (it restarted, or its
    notify_nova_on_port_status_changes is off)."""
    monkeypatch.setattr(ports, "LOOK_INTERVAL", 0.05)
    deps, network, port_id = setup(tmp_path)
    network.before_look[2] = lambda: network.ports[port_id].update(status="ACTIVE")
    with deps.instance_events.expect(SERVER) as heard:
        assert ports.wait_plugged(deps, heard, [port_id]) == []
    assert network.looks == 2


def test_a_port_never_plugged_fails_the_wait_at_the_timeout(tmp_path, monkeypatch):
    monkeypatch.setattr(ports, "LOOK_INTERVAL", 0.05)
    deps, network, port_id = setup(tmp_path, timeout=0.3)
    with deps.instance_events.expect(SERVER) as heard, \
            pytest.raises(ports.PortError, match="was not plugged"):
        ports.wait_plugged(deps, heard, [port_id])
    assert network.looks > 1   # it kept looking until the deadline


def test_an_event_of_another_server_or_port_does_not_end_the_wait(tmp_path):
    deps, network, port_id = setup(tmp_path, timeout=0.3)
    with deps.instance_events.expect(SERVER) as heard:
        deps.instance_events.vif_plugged("another-server", port_id)
        deps.instance_events.vif_plugged(SERVER, "another-port")
        with pytest.raises(ports.PortError):
            ports.wait_plugged(deps, heard, [port_id])


def test_a_delete_wakes_the_wait_which_checks_at_once(tmp_path):
    deps, network, port_id = setup(tmp_path)
    deleted = threading.Event()

    def check():
        if deleted.is_set():
            raise RuntimeError("cancelled")

    def delete():
        deleted.set()
        deps.instance_events.wake(SERVER)

    with deps.instance_events.expect(SERVER) as heard:
        later(0.05, delete)
        with pytest.raises(RuntimeError, match="cancelled"):
            ports.wait_plugged(deps, heard, [port_id], check=check)
    assert network.looks == 0   # woken before its first look


def test_an_event_nobody_waits_for_is_dropped():
    events = InstanceEvents()
    assert events.vif_plugged(SERVER, "p1") is False
    with events.expect(SERVER) as heard:
        assert heard.ports == set() and heard.wait(0) is False
        assert events.vif_plugged(SERVER, "p1") is True
        assert heard.wait(0) is True and heard.ports == {"p1"}
        assert heard.wait(0) is False   # told once
    assert events.vif_plugged(SERVER, "p2") is False   # the wait is over
