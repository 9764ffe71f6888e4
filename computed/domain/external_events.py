"""The events other services may send (nova/objects/external_event.py).

computed speaks microversions below 2.51, where Nova adds volume-extended to
the names its schema accepts; computed accepts it at every version, because
it is the one event it acts on (volumed sends it after extending an in-use
volume, as Cinder does). The network events are accepted and answered, and
change nothing: networkd binds ports itself."""
from __future__ import annotations

VOLUME_EXTENDED = "volume-extended"
EVENT_NAMES = ("network-changed", "network-vif-plugged", "network-vif-unplugged",
               "network-vif-deleted", VOLUME_EXTENDED)
EVENT_STATUSES = ("failed", "completed", "in-progress")
