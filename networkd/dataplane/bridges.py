"""The bridges of the stack's namespace and the addresses it holds on them.

One Linux bridge per network (named by shared.netnames.bridge_name), with
the network's MTU, STP off and no forwarding delay (guests get DHCP the
moment their tap is plugged), and a fixed MAC derived from the network's
id: a bridge otherwise takes the lowest MAC of its ports, and a guest's
ARP entry for its gateway would go stale whenever a tap comes or goes.

Only bridges whose names carry the bridge prefix are ever removed, and only
addresses on those bridges: anything else in the namespace is left alone.
"""
from __future__ import annotations

import hashlib
import ipaddress
import logging
from collections.abc import Iterable

from pyroute2 import IPRoute

from networkd.dataplane.contract import DataPlaneError
from networkd.dataplane.model import Network
from shared.netnames import BRIDGE_PREFIX

LOG = logging.getLogger(__name__)
IFF_UP = 0x1
AF_INET = 2


def bridge_mac(network_id: str) -> str:
    """A stable, locally administered unicast MAC for a network's bridge
    (fa:16:3f:.., next to Neutron's fa:16:3e: port MACs, never equal)."""
    digest = hashlib.sha256(network_id.encode()).digest()
    return "fa:16:3f:" + ":".join(f"{byte:02x}" for byte in digest[:3])


def managed(ipr: IPRoute) -> dict[str, int]:
    """The namespace's network bridges, by name."""
    return {link.get("ifname"): link["index"] for link in ipr.get_links()
            if link.get(("linkinfo", "kind")) == "bridge"
            and str(link.get("ifname")).startswith(BRIDGE_PREFIX)}


def sync(ipr: IPRoute, networks: Iterable[Network]) -> None:
    """One bridge per network, up, with its MTU; other network bridges removed."""
    wanted = {network.bridge: network for network in networks}
    present = managed(ipr)
    for name, index in present.items():
        if name not in wanted:
            LOG.info("removing bridge %s", name)
            ipr.link("del", index=index)
    for name, network in sorted(wanted.items()):
        if name not in present:
            LOG.info("creating bridge %s (network %s)", name, network.id)
            _call(ipr.link, "add", ifname=name, kind="bridge", br_stp_state=0,
                  br_forward_delay=0)
        [link] = ipr.get_links(ipr.link_lookup(ifname=name)[0])
        changes: dict[str, object] = {}
        if link.get("mtu") != network.mtu:
            changes["mtu"] = network.mtu
        if link.get("address") != bridge_mac(network.id):
            changes["address"] = bridge_mac(network.id)
        if not link["flags"] & IFF_UP:
            changes["state"] = "up"
        if changes:
            _call(ipr.link, "set", index=link["index"], **changes)


def sync_addresses(ipr: IPRoute, wanted: dict[str, set[tuple[str, int]]]) -> None:
    """Each bridge holds exactly the (address, prefix) pairs of `wanted`
    (bridges not in `wanted` are left as they are)."""
    present = managed(ipr)
    for name, addresses in sorted(wanted.items()):
        index = present.get(name)
        if index is None:
            raise DataPlaneError(f"bridge {name} is missing")
        held = {(a.get("address"), a["prefixlen"])
                for a in ipr.get_addr(index=index, family=AF_INET)}
        for address, prefix in sorted(held - addresses):
            LOG.info("removing %s/%s from %s", address, prefix, name)
            ipr.addr("del", index=index, address=address, prefixlen=prefix)
        # Subnet addresses before /32s, lowest first: the first address of a
        # subnet on a bridge is the one the kernel prefers as a source.
        for address, prefix in sorted(addresses - held,
                                      key=lambda a: (a[1] == 32, ipaddress.IPv4Address(a[0]))):
            LOG.info("adding %s/%s to %s", address, prefix, name)
            _call(ipr.addr, "add", index=index, address=address, prefixlen=prefix)


def attach(ipr: IPRoute, ifname: str, bridge: str | None) -> bool:
    """Enslave `ifname` to `bridge` (None: to no bridge) and bring it up.
    Returns False when `ifname` does not exist."""
    found = ipr.link_lookup(ifname=ifname)
    if not found:
        return False
    [link] = ipr.get_links(found[0])
    master = 0
    if bridge is not None:
        masters = ipr.link_lookup(ifname=bridge)
        if not masters:
            raise DataPlaneError(f"bridge {bridge} is missing")
        master = masters[0]
    enslave(ipr, link, master)
    return True


def enslave(ipr: IPRoute, link, master: int, mtu: int | None = None) -> None:
    """The link `link` (its message, as just read) on the bridge of index
    `master` (0: on none), up, with `mtu` if given: one request for what
    differs, none when nothing does."""
    changes: dict[str, object] = {}
    if mtu is not None and link.get("mtu") != mtu:
        changes["mtu"] = mtu
    if (link.get("master") or 0) != master:
        changes["master"] = master
    if not link["flags"] & IFF_UP:
        changes["state"] = "up"
    if changes:
        _call(ipr.link, "set", index=link["index"], **changes)


def remove_all(ipr: IPRoute) -> None:
    for name, index in managed(ipr).items():
        LOG.info("removing bridge %s", name)
        ipr.link("del", index=index)


def _call(method, *args, **kwargs):
    try:
        return method(*args, **kwargs)
    except Exception as error:  # pyroute2's NetlinkError and friends
        raise DataPlaneError(f"{args[0]} {kwargs}: {error}") from error
