"""The agent: one thread that keeps the kernel in line with the database.

It runs a pass shortly after every change the API signals (`wake()`: once
`settle` seconds went by, so that the changes of one user action come in
one pass), right after the data plane reports a new tap (`taps_appeared()`:
libvirt creates a guest's tap as computed starts the domain, and the build
waits until it is plugged), and every `interval` seconds anyway (a tap
whose notice was lost is still found).

Why settle: a server's build makes its port, then binds it, then starts the
domain. A pass right after the port is made would build and apply the
state while the build's next requests are served, in the same process
(pocketstack.conf [services] one_process), and delay them; a moment later,
one pass takes both changes. Measured on warm launches, both ways
alternating in one stack (15 each, three times): the domain started 17 ms
to 46 ms sooner. The moment ends as soon as a tap appears (libvirt made the
domain's): the pass that plugs it is what the build waits for. Once the
domain's start took only a tenth of a second, a settling that went on past
the tap made the builds wait (15 launches each way, alternating: ports
plugged 33 ms later than with a settle of 0.02 s).

A pass:

    1. builds the DesiredState from the database (networkd.desired) when
       the API signalled a change since the last build, and at every
       thorough pass (below); otherwise the last one is still true (every
       change to networkd's database goes through its API, which signals
       it), and a pass for a tap or at the interval costs no reading,
    2. DataPlane.apply(state) when the state differs from the last one
       applied: only what changed is written (a new port: its DHCP host
       line and its rules); a thorough apply, comparing everything with
       the kernel, at the first pass, after a failed one and when `resync`
       seconds went by (so a dnsmasq that died or a bridge someone removed
       comes back). A change the API signals that leaves the state as it
       was (a port bound to a host) applies nothing,
    3. DataPlane.plug(state): taps found are moved into the namespace,
    4. sets each guest port ACTIVE (its tap is plugged) or DOWN, and the
       ports networkd owns (DHCP, router) ACTIVE once applied, and gives
       the changes to `on_status_changes` (networkd.compute_events tells
       computed: network-vif-plugged),
    5. calls each `after_pass` function (the metadata proxy listens again
       if the namespace was made anew: networkd.metadata.listener).

A failing pass is logged and tried again at the next one: the API never
waits for the kernel, and computed waits for ACTIVE.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from networkd import desired, owners
from networkd.dataplane.contract import DataPlane
from networkd.dataplane.model import DesiredState
from networkd.db.models import Port
from shared.db import transaction

LOG = logging.getLogger(__name__)
RESYNC_SECONDS = 10.0
SETTLE_SECONDS = 0.1
ACTIVE, DOWN = "ACTIVE", "DOWN"


@dataclass(frozen=True)
class StatusChange:
    """A port's status as a pass changed it, with whom the port is for."""
    port_id: str
    device_owner: str
    device_id: str
    before: str
    after: str


class Agent:
    def __init__(self, sessions: sessionmaker, dataplane: DataPlane, interval: float,
                 resync: float = RESYNC_SECONDS,
                 after_pass: Sequence[Callable[[], None]] = (),
                 settle: float = SETTLE_SECONDS,
                 on_status_changes: Callable[[list[StatusChange]], None] | None = None):
        self._sessions = sessions
        self._after_pass = tuple(after_pass)
        self._on_status_changes = on_status_changes
        self.dataplane = dataplane
        self._interval = interval
        self._resync = resync
        self._settle = settle
        self._wake = threading.Event()
        self._hurry = threading.Event()   # a tap waits, or the agent stops: no settling
        self._unwatch: Callable[[], None] = lambda: None
        self._stop = threading.Event()
        self._state: DesiredState | None = None   # as the database said at the last build
        self._changed = True                        # the API signalled a change since
        self._applied: DesiredState | None = None
        self._applied_at = 0.0   # when the last thorough apply was
        self._thread: threading.Thread | None = None
        self.passes = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="networkd-agent", daemon=True)
        self._thread.start()
        self._unwatch = self.dataplane.watch(self.taps_appeared)

    def wake(self) -> None:
        """The database changed: a pass now, which reads it again."""
        self._changed = True
        self._wake.set()

    def taps_appeared(self) -> None:
        """A tap may be waiting: plug now (a pass that applies only what
        differs, as at the interval), settling or not."""
        self._hurry.set()
        self._wake.set()

    def stop(self) -> None:
        self._unwatch()
        self._stop.set()
        self._hurry.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        self.wake()  # a first pass at start: nothing applied yet, so a thorough one
        while not self._stop.is_set():
            self._wake.wait(self._interval)
            if self._changed and self.passes:  # not the first: nothing is served yet
                self._hurry.wait(self._settle)  # what the API changes meanwhile comes too
            self._wake.clear()
            self._hurry.clear()
            if self._stop.is_set():
                return
            try:
                self.run_once(force_apply=False)
            except Exception:
                LOG.exception("data plane pass failed; trying again")
                self._applied = None

    def run_once(self, force_apply: bool = True) -> None:
        """One pass; `force_apply`: a thorough apply whatever the state."""
        now = time.monotonic()
        thorough = force_apply or self._applied is None or \
            now - self._applied_at > self._resync
        state = self._desired(thorough)
        if thorough or state != self._applied:
            self._applied = None  # until it is applied
            self.dataplane.apply(state, thorough=thorough)
            self._applied = state
            if thorough:
                self._applied_at = now
        plugged = self.dataplane.plug(state)
        self._set_statuses(state, plugged)
        for follow_up in self._after_pass:
            follow_up()
        self.passes += 1

    def _desired(self, thorough: bool) -> DesiredState:
        """The state to apply: built again after a signalled change or for
        a thorough pass, else the last one built."""
        if thorough or self._changed or self._state is None:
            self._changed = False  # a change signalled from now on is read at the next pass
            with transaction(self._sessions, write=False) as session:
                self._state = desired.build(session)
        return self._state

    def _set_statuses(self, state: DesiredState, plugged: set[str]) -> None:
        """Write only what changed (a pass every half second must not take
        the write lock for nothing), then say what changed."""
        guests = {port.id for port in state.ports}
        changes: list[StatusChange] = []
        with transaction(self._sessions, write=False) as session:
            for port_id, owner, device_id, status in session.execute(
                    select(Port.id, Port.device_owner, Port.device_id, Port.status)):
                if port_id in guests:
                    target = ACTIVE if port_id in plugged else DOWN
                elif owners.is_network_owned(owner):
                    target = ACTIVE if owner in desired.SERVED_OWNERS else status
                else:
                    target = DOWN
                if target != status:
                    changes.append(StatusChange(port_id, owner or "", device_id or "",
                                                status, target))
        if not changes:
            return
        with transaction(self._sessions) as session:
            for change in changes:
                port = session.get(Port, change.port_id)
                if port is not None:
                    port.status = change.after
        if self._on_status_changes is not None:
            self._on_status_changes(changes)
