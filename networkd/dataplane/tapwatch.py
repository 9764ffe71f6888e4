"""Watching the machine's namespace for guests' taps as libvirt creates them.

libvirt creates a guest's tap while it starts the domain, and computed's
build waits until networkd has plugged it (ACTIVE port). Without a watch the
agent would find the tap at its next pass, up to `sync_interval` later; with
it, the kernel's own link notification wakes the agent at once (Neutron's
agents learn of a new port the same way, from an OVSDB monitor or the
kernel's netlink events).

The watch is a plain NETLINK_ROUTE socket bound to the link group (every
RTM_NEWLINK of the namespace it was opened in): each message is read as
the kernel sends it, with no library buffering between the socket and the
decision. Only the name matters here (shared.netnames.TAP_PREFIX); what the
pass does with the tap is taps.py's business.
"""
from __future__ import annotations

import errno
import logging
import select
import socket
import struct
import threading
from collections.abc import Callable, Iterator

from pyroute2.netlink.rtnl import RTM_NEWLINK, RTMGRP_LINK
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg

from shared.netnames import TAP_PREFIX

LOG = logging.getLogger(__name__)
HEADER = struct.Struct("=LHHLL")   # struct nlmsghdr: length, type, flags, seq, pid
STOP_CHECK = 1.0                   # seconds between two looks at the stop flag


class TapWatch:
    """A thread that calls `appeared()` whenever a link whose name starts
    with the tap prefix is created or changes in the namespace this object
    is started in (the machine's: where libvirt makes taps)."""

    def __init__(self, appeared: Callable[[], None]):
        self._appeared = appeared
        self._stop = threading.Event()
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Open the socket here (so a refusal shows in the caller) and
        start reading it in a thread."""
        self._socket = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW,
                                     socket.NETLINK_ROUTE)
        self._socket.bind((0, RTMGRP_LINK))
        self._thread = threading.Thread(target=self._run, name="networkd-tapwatch",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=STOP_CHECK * 3)
        if self._socket is not None:
            self._socket.close()

    def _run(self) -> None:
        assert self._socket is not None
        while not self._stop.is_set():
            try:
                readable, _, _ = select.select([self._socket], [], [], STOP_CHECK)
                if not readable:
                    continue
                data = self._socket.recv(1 << 16)
            except OSError as error:
                if error.errno != errno.ENOBUFS or self._stop.is_set():
                    LOG.warning("tap watch stopped: %s (the agent's passes still find "
                                "taps, at their interval)", error)
                    return
                self._appeared()   # the kernel dropped messages: one may have been a tap
                continue
            if any(name.startswith(TAP_PREFIX) for name in new_link_names(data)):
                self._appeared()


def new_link_names(data: bytes) -> Iterator[str]:
    """The interface names of the RTM_NEWLINK messages in one datagram."""
    offset = 0
    while offset + HEADER.size <= len(data):
        length, kind, _flags, _seq, _pid = HEADER.unpack_from(data, offset)
        if length < HEADER.size:
            return                         # malformed: nothing more to read
        if kind == RTM_NEWLINK:
            message = ifinfmsg(data[offset:offset + length])
            message.decode()
            name = message.get_attr("IFLA_IFNAME")
            if name:
                yield name
        offset += (length + 3) & ~3        # messages are 4-byte aligned
