"""Which port status changes networkd tells computed of, and as which
events (Neutron's notifiers/nova.py record_port_status_changed). Sent for
real to a real computed: tests/compute/test_server_networks.py."""
from __future__ import annotations

import pytest

from networkd.agent import StatusChange
from networkd.compute_events import events_for

SERVER = "6f1b5d4e-8c1a-4b5e-9d0f-1a2b3c4d5e6f"


@pytest.mark.parametrize("owner, device_id, before, after, name", [
    ("compute:nova", SERVER, "DOWN", "ACTIVE", "network-vif-plugged"),
    ("compute:az-1", SERVER, "BUILD", "ACTIVE", "network-vif-plugged"),
    ("compute:nova", SERVER, "ACTIVE", "DOWN", "network-vif-unplugged"),
    ("compute:nova", SERVER, "DOWN", "DOWN", None),
    ("compute:nova", "", "DOWN", "ACTIVE", None),               # no server to tell of
    ("network:dhcp", "dhcp-agent", "DOWN", "ACTIVE", None),     # networkd's own port
    ("", SERVER, "DOWN", "ACTIVE", None),                       # not a server's port
])
def test_only_a_servers_plug_and_unplug_become_events(owner, device_id, before, after, name):
    events = events_for([StatusChange("port-1", owner, device_id, before, after)])
    expected = [] if name is None else [
        {"name": name, "server_uuid": device_id, "tag": "port-1", "status": "completed"}]
    assert events == expected
