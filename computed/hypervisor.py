"""computed's link to libvirt at start: serve first, connect when libvirtd
answers.

Nova's nova-compute does not give up when libvirtd is down at its start: it
keeps retrying the connection, and the compute service reports itself down
until it is connected. computed does the same. Its API starts whatever
libvirt does; what needs no hypervisor keeps answering (servers are shown as
the database last knew them, flavors, key pairs, quotas...), and a request
that would have to act on a guest gets 503 in Nova's error format while
computed is not connected, instead of a half-done action. A thread retries
every RETRY_INTERVAL seconds; once libvirtd answers, the reconcile pass that
a start owes (computed/reconcile.py: what died with the old process is
settled) runs, and then the periodic tasks start. Only then is the link
ready: no request acts on a guest the reconcile has not looked at yet.

Once ready, it stays so: a libvirtd that goes away later is met by each
call's own error (the driver connects again at the next call).
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from computed.virt.driver import HypervisorError
from shared.errors import ApiError

LOG = logging.getLogger(__name__)
RETRY_INTERVAL = 5.0


class HypervisorLink:
    """Whether computed is connected to libvirt and has reconciled since it
    started; why not, while it is not."""

    def __init__(self, ready: bool = False):
        self._ready = threading.Event()
        if ready:
            self._ready.set()
        self.reason = "computed is starting"

    @classmethod
    def connected(cls) -> HypervisorLink:
        return cls(ready=True)

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def wait(self, timeout: float) -> bool:
        return self._ready.wait(timeout)

    def require(self) -> None:
        """503 unless connected: for a request that acts on a guest."""
        if not self.ready:
            raise ApiError(f"The compute service is not connected to its hypervisor yet "
                           f"({self.reason}); try again later.", 503)

    def connect(self, start: Callable[[], None], retry_interval: float = RETRY_INTERVAL) -> None:
        """Run `start` (connect to libvirt, reconcile, start the periodic
        tasks) now; if it fails, again every retry_interval seconds in a
        thread of its own, until it succeeds. Ready once it has."""
        if self._attempt(start, first=True):
            return
        thread = threading.Thread(target=self._retry, args=(start, retry_interval),
                                  name="hypervisor-connect", daemon=True)
        thread.start()

    def _retry(self, start: Callable[[], None], interval: float) -> None:
        while not self._ready.wait(interval):
            self._attempt(start, first=False)

    def _attempt(self, start: Callable[[], None], first: bool) -> bool:
        try:
            start()
        except HypervisorError as exc:
            reason = f"libvirt cannot be reached: {exc}"
            if first or reason != self.reason:
                LOG.warning("%s; trying again every %.0f s", reason, RETRY_INTERVAL)
            self.reason = reason
            return False
        except Exception as exc:  # the reconcile failed: tried again too
            LOG.exception("the start with libvirt failed; trying again every %.0f s",
                          RETRY_INTERVAL)
            self.reason = f"its start failed: {exc}"
            return False
        if not first:
            LOG.info("connected to libvirt; reconciled")
        self._ready.set()
        return True
