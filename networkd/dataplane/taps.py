"""Plugging guests' taps into their networks.

libvirtd, and so QEMU, run in the machine's namespace: libvirt creates a
guest's tap there (named by shared.netnames.tap_name). A tap keeps working
when moved to another namespace, so plugging is: move it into the stack's
namespace, give it its network's MTU, enslave it to the network's bridge,
bring it up. Only the taps of the ports asked about are ever touched, and
only once libvirt has finished with them (LibvirtHandoff).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from networkd.dataplane.bridges import IFF_UP, enslave
from networkd.dataplane.contract import DataPlaneError

LOG = logging.getLogger(__name__)
LIBVIRT_QDISC = "noqueue"   # what libvirt gives a tap at its last step with it
PATIENCE_SECONDS = 3.0      # a tap up this long is taken, noqueue or not


@dataclass(frozen=True)
class Plug:
    port_id: str
    tap: str
    bridge: str
    mtu: int


class LibvirtHandoff:
    """Tells when libvirt is done with a tap it made, so that moving it
    away cannot fail the domain's start.

    While it starts a domain (or hot-plugs a NIC), libvirt works on the
    tap by name in the machine's namespace: it creates it, sets its MAC
    address, brings it up, looks up its index (for systemd's machine
    registration: a start fails with 'Unable to get index for interface'
    if the tap is gone by then), and last gives it the `noqueue` qdisc
    (running `tc`; qemuDomainInterfaceSetDefaultQDisc in libvirt 9). A
    tap is taken once it is up with that qdisc. A guest's XML names no
    <mtu>: libvirt would set it by name after the qdisc; the data plane
    gives the tap its network's MTU as it plugs it.

    Should `tc` fail (libvirt only logs it), the qdisc never comes: a tap
    up for `patience` seconds is taken anyway, with a warning."""

    def __init__(self, patience: float = PATIENCE_SECONDS,
                 clock: Callable[[], float] = time.monotonic):
        self._patience = patience
        self._clock = clock
        self._up_since: dict[int, float] = {}   # ifindex: first seen up, not handed off

    def done(self, link) -> bool:
        """Whether libvirt is done with the tap `link` (its message, as the
        kernel gives it now)."""
        if not link["flags"] & IFF_UP:
            return False
        index = link["index"]
        if link.get_attr("IFLA_QDISC") == LIBVIRT_QDISC:
            self._up_since.pop(index, None)
            return True
        now = self._clock()
        since = self._up_since.setdefault(index, now)
        if now - since < self._patience:
            return False
        LOG.warning("%s has been up %.1f s without libvirt's %s qdisc: taking it",
                    link.get_attr("IFLA_IFNAME"), now - since, LIBVIRT_QDISC)
        del self._up_since[index]
        return True

    def forget_all_but(self, indexes: set[int]) -> None:
        """Drop what is known of taps no longer waiting (gone, or taken)."""
        for index in set(self._up_since) - indexes:
            del self._up_since[index]


def plug(machine: IPRoute, inside: IPRoute, namespace: str, plugs: list[Plug],
         handoff: LibvirtHandoff) -> set[str]:
    """Plug each tap found in either namespace; returns the ids of the
    ports whose tap is in the stack's namespace (plugged before or now).
    A tap whose bridge does not exist yet, or that libvirt still works on,
    is left where it is."""
    plugged = set()
    waiting = set()
    for item in plugs:
        bridge = _link_named(inside, item.bridge)
        if bridge is None:
            continue
        link = _link_named(inside, item.tap)
        if link is None:   # still in the machine's namespace, if made yet
            found = _link_named(machine, item.tap)
            if found is None:   # not made yet, or gone meanwhile
                continue
            if not handoff.done(found):
                waiting.add(found["index"])
                continue
            LOG.info("moving %s (port %s) into %s", item.tap, item.port_id, namespace)
            try:
                machine.link("set", index=found["index"], net_ns_fd=namespace)
            except Exception as error:  # NetlinkError: gone meanwhile, or refused
                if machine.link_lookup(ifname=item.tap):
                    raise DataPlaneError(f"cannot move {item.tap} into {namespace}: "
                                         f"{error}") from error
                continue
            link = _link_named(inside, item.tap)   # as it is in its new namespace
            if link is None:   # the guest went away meanwhile
                continue
        try:
            enslave(inside, link, bridge["index"], mtu=item.mtu)
        except Exception as error:  # the guest went away meanwhile, or the kernel refused
            if not inside.link_lookup(ifname=item.tap):
                continue
            raise DataPlaneError(f"cannot plug {item.tap} into {item.bridge}: "
                                 f"{error}") from error
        plugged.add(item.port_id)
    handoff.forget_all_but(waiting)
    return plugged


def _link_named(ipr: IPRoute, name: str):
    """The link called `name`, with its flags and attributes (one netlink
    request), or None."""
    try:
        [link] = ipr.link("get", ifname=name)
    except NetlinkError:
        return None
    return link
