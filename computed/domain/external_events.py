"""The events other services may send (nova/objects/external_event.py).

computed speaks microversions below 2.51, where Nova adds volume-extended to
the names its schema accepts; computed accepts it at every version, because
volumed sends it after extending an in-use volume, as Cinder does.
network-vif-plugged, which networkd sends when it has plugged a port, wakes
whoever waits for that port (computed/instance_events.py). The other
network events are accepted and answered, and change nothing."""
from __future__ import annotations

VOLUME_EXTENDED = "volume-extended"
VIF_PLUGGED = "network-vif-plugged"
EVENT_NAMES = ("network-changed", VIF_PLUGGED, "network-vif-unplugged",
               "network-vif-deleted", VOLUME_EXTENDED)
COMPLETED = "completed"
EVENT_STATUSES = ("failed", COMPLETED, "in-progress")
