"""Waiting for another service's word on a server (Nova's InstanceEvents in
nova/compute/manager.py).

networkd tells computed when it has plugged a server's port, with the event
network-vif-plugged (tag: the port) sent to os-server-external-events, as
Neutron's nova notifier does. A build registers before the domain starts
(before its taps exist, so no event can come too early), then waits:

    with events.expect(server_uuid) as heard:
        ... start the domain (libvirt makes its taps) ...
        heard.wait(seconds)                          # True: something came
        heard.ports                                  # the ports said plugged

An event for a server nobody waits for is dropped. A delete wakes the
server's waiters (`wake`), which then find the build cancelled.

Events reach only the process that took them ([api] workers = 1 for
computed, the default, is the process of the builds too); with more
workers, or with networkd's notify_nova_on_port_status_changes off, a build
sees its ports plugged at its next look at networkd (flows/ports.py).
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Heard:
    """What one waiter has been told: the ports networkd said it plugged."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._news = False
        self.ports: set[str] = set()

    def port_plugged(self, port_id: str) -> None:
        with self._condition:
            self.ports.add(port_id)
        self.poke()

    def poke(self) -> None:
        """Something changed that the waiter must check (a port plugged, a
        delete)."""
        with self._condition:
            self._news = True
            self._condition.notify_all()

    def wait(self, seconds: float) -> bool:
        """Until an event comes or `seconds` pass; True if one came since
        the last wait."""
        with self._condition:
            self._condition.wait_for(lambda: self._news, timeout=max(seconds, 0.0))
            news, self._news = self._news, False
            return news


class InstanceEvents:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[str, list[Heard]] = {}

    @contextmanager
    def expect(self, server_uuid: str) -> Iterator[Heard]:
        heard = Heard()
        with self._lock:
            self._waiting.setdefault(server_uuid, []).append(heard)
        try:
            yield heard
        finally:
            with self._lock:
                waiters = self._waiting.get(server_uuid, [])
                waiters.remove(heard)
                if not waiters:
                    self._waiting.pop(server_uuid, None)

    def vif_plugged(self, server_uuid: str, port_id: str) -> bool:
        """networkd plugged `port_id` of the server; whether anyone waited."""
        waiters = self._waiters(server_uuid)
        for heard in waiters:
            heard.port_plugged(port_id)
        return bool(waiters)

    def wake(self, server_uuid: str) -> None:
        """The server is being deleted: its waiters look at it again."""
        for heard in self._waiters(server_uuid):
            heard.poke()

    def _waiters(self, server_uuid: str) -> list[Heard]:
        with self._lock:
            return list(self._waiting.get(server_uuid, ()))
