"""A test-only hook: hold a flow right after one of its steps, so that a test
can kill a daemon of the stack at exactly that step.

Off by default: it does nothing unless the daemon was started with
POCKETSTACK_STEP_HOLD_DIR in its environment (the kill matrix,
tests/killmatrix/, starts its stack so). It never changes what a flow does,
only when it goes on: every step of a flow records an event (the flows'
docstrings list them), and the hook waits at the end of the transaction
that committed the event, when the step's changes are in the database.

The handshake, through files in that directory:

    arm              the test writes the event type to wait at
                     (e.g. compute.instance.disks.created)
    held-<pid>       the first thread to commit that event renames `arm` to
                     claimed-<pid> (one rename: only one thread ever holds),
                     writes the event type and the resource id into it,
                     renames it to this, and waits
    (release)        the test removes held-<pid>; the thread goes on

A hold ends by itself after HOLD_LIMIT seconds, so a test that dies never
leaves a daemon waiting for ever. The test usually kills a daemon while the
flow is held: the held one (the flow dies with it, as in a crash), or
another (the flow then goes on without it).
"""
from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

LOG = logging.getLogger(__name__)

ENVIRONMENT = "POCKETSTACK_STEP_HOLD_DIR"
HOLD_LIMIT = 600.0

_pending = threading.local()


def _directory() -> Path | None:
    value = os.environ.get(ENVIRONMENT)
    return Path(value) if value else None


def event_recorded(event_type: str, resource_id: str | None) -> None:
    """An event was written in the current thread's transaction: hold after
    its commit if the test armed this event type."""
    directory = _directory()
    if directory is None:
        return
    try:
        armed = (directory / "arm").read_text().strip()
    except OSError:
        return
    if armed == event_type:
        _pending.hold = (event_type, resource_id)


def transaction_ended(committed: bool) -> None:
    """The current thread's transaction is over: hold now if one of its
    events was armed and it committed (a rolled back step is no step)."""
    pending = getattr(_pending, "hold", None)
    if pending is None:
        return
    _pending.hold = None
    if committed:
        _hold(*pending)


def _hold(event_type: str, resource_id: str | None) -> None:
    directory = _directory()
    if directory is None:
        return
    name = f"{os.getpid()}-{threading.get_ident()}"
    claimed, held = directory / f"claimed-{name}", directory / f"held-{name}"
    try:
        os.rename(directory / "arm", claimed)  # only the first to get here holds
        claimed.write_text(f"{event_type} {resource_id or '-'}\n")
        # held- appears whole, in one rename: a test that releases it at
        # once never races the write (which would make it again, and hold
        # for HOLD_LIMIT)
        os.rename(claimed, held)
    except OSError:
        return
    LOG.warning("test hook: holding after %s (%s) until %s is removed",
                event_type, resource_id, held.name)
    deadline = time.monotonic() + HOLD_LIMIT
    while held.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    LOG.warning("test hook: going on after %s", event_type)
