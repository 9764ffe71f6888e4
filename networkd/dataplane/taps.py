"""Plugging guests' taps into their networks.

libvirtd, and so QEMU, run in the machine's namespace: libvirt creates a
guest's tap there (named by shared.netnames.tap_name). A tap keeps working
when moved to another namespace, so plugging is: move it into the stack's
namespace, give it its network's MTU, enslave it to the network's bridge,
bring it up. Only the taps of the ports asked about are ever touched, and
only once libvirt has finished with them: it creates a tap, sets its MAC
address, then brings it up, each by name in the machine's namespace; a tap
moved away before that would fail the domain's start.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from networkd.dataplane.bridges import IFF_UP, attach
from networkd.dataplane.contract import DataPlaneError

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class Plug:
    port_id: str
    tap: str
    bridge: str
    mtu: int


def plug(machine: IPRoute, inside: IPRoute, namespace: str, plugs: list[Plug]) -> set[str]:
    """Plug each tap found in either namespace; returns the ids of the
    ports whose tap is in the stack's namespace (plugged before or now).
    A tap whose bridge does not exist yet is left where it is."""
    plugged = set()
    for item in plugs:
        if not inside.link_lookup(ifname=item.bridge):
            continue
        if not inside.link_lookup(ifname=item.tap):
            found = machine.link_lookup(ifname=item.tap)
            if not found or not _set_up_by_libvirt(machine, found[0]):
                continue
            LOG.info("moving %s (port %s) into %s", item.tap, item.port_id, namespace)
            try:
                machine.link("set", index=found[0], net_ns_fd=namespace)
            except Exception as error:  # NetlinkError: gone meanwhile, or refused
                if machine.link_lookup(ifname=item.tap):
                    raise DataPlaneError(f"cannot move {item.tap} into {namespace}: "
                                         f"{error}") from error
                continue
        try:
            [link] = inside.get_links(inside.link_lookup(ifname=item.tap)[0])
            if link.get("mtu") != item.mtu:
                inside.link("set", index=link["index"], mtu=item.mtu)
            attach(inside, item.tap, item.bridge)
        except Exception as error:  # the guest went away meanwhile, or the kernel refused
            if not inside.link_lookup(ifname=item.tap):
                continue
            raise DataPlaneError(f"cannot plug {item.tap} into {item.bridge}: "
                                 f"{error}") from error
        plugged.add(item.port_id)
    return plugged


def _set_up_by_libvirt(machine: IPRoute, index: int) -> bool:
    """Whether libvirt has brought the tap up (its last step with it)."""
    try:
        [link] = machine.get_links(index)
    except NetlinkError:   # gone meanwhile: the domain's start failed or was undone
        return False
    return bool(link["flags"] & IFF_UP)
