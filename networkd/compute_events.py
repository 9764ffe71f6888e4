"""What networkd tells computed: a server's port was plugged or unplugged
(Neutron's neutron/notifiers/nova.py, [DEFAULT]
notify_nova_on_port_status_changes).

When the agent changes a port's status, for a port of a server (device_owner
compute:..., a device_id), computed gets an event at
POST /v2.1/os-server-external-events, tag = the port's id:

    DOWN   -> ACTIVE    network-vif-plugged     completed   (its tap is plugged)
    ACTIVE -> DOWN      network-vif-unplugged   completed   (its tap went away)

A build waits for network-vif-plugged before the guest runs; the event lets
it go on at once, where it would otherwise see the port ACTIVE only at its
next look (computed/flows/ports.py).

The events are sent from a thread of their own: the agent never waits for
computed. What queued up while a request was out goes in the next one, as
Neutron's batch notifier sends. A failed send is logged, not repeated: the
port's status is in networkd's database all the same, where computed also
looks.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

from networkd import owners
from networkd.agent import ACTIVE, DOWN, StatusChange
from shared.clients import ComputeClient, RemoteError, ServiceSession

LOG = logging.getLogger(__name__)
VIF_PLUGGED = "network-vif-plugged"
VIF_UNPLUGGED = "network-vif-unplugged"
STOP_TIMEOUT = 5.0


def events_for(changes: Iterable[StatusChange]) -> list[dict]:
    """The events computed gets for these status changes (Neutron's
    record_port_status_changed): only servers' ports, only a plug or an
    unplug."""
    events = []
    for change in changes:
        if not change.device_id or not change.device_owner.startswith(owners.COMPUTE_PREFIX):
            continue
        if change.before == ACTIVE and change.after == DOWN:
            name = VIF_UNPLUGGED
        elif change.before != ACTIVE and change.after == ACTIVE:
            name = VIF_PLUGGED
        else:
            continue
        events.append({"name": name, "server_uuid": change.device_id,
                       "tag": change.port_id, "status": "completed"})
    return events


class ComputeNotifier:
    """Sends the events of the agent's status changes to computed, found in
    identity's catalog at the first send (and again after a failed one)."""

    def __init__(self, session: ServiceSession):
        self._session = session
        self._compute: ComputeClient | None = None
        self._queue: list[dict] = []
        self._changed = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="networkd-compute-events",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._changed:
            self._stopping = True
            self._changed.notify()
        if self._thread is not None:
            self._thread.join(timeout=STOP_TIMEOUT)

    def port_statuses_changed(self, changes: list[StatusChange]) -> None:
        """The agent's hook: queue the events (never waits for computed)."""
        events = events_for(changes)
        if not events:
            return
        with self._changed:
            self._queue.extend(events)
            self._changed.notify()

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._queue or self._stopping)
                if self._stopping:
                    return
                batch, self._queue = self._queue, []
            try:
                self._send(batch)
            except Exception:  # the thread must outlive any one send
                LOG.exception("telling computed of %d port event(s) failed", len(batch))

    def _send(self, events: list[dict]) -> None:
        try:
            compute = self._compute or ComputeClient.from_catalog(self._session)
            answers = compute.external_events(events)
        except RemoteError as exc:
            self._compute = None  # look computed up again next time
            LOG.warning("could not tell computed of %d port event(s): %s", len(events),
                        exc.message)
            return
        self._compute = compute
        for answer in answers:
            if answer.get("code") != 200:  # 404: the server was deleted meanwhile
                LOG.info("computed did not take %s:%s for server %s: %s %s",
                         answer.get("name"), answer.get("tag"), answer.get("server_uuid"),
                         answer.get("code"), answer.get("status"))
