"""The real data plane: Linux bridges, dnsmasq and nftables in the stack's
network namespace.

    apply(state)
      0. policy     the state compiled into firewall and NAT terms (every
                    address checked before anything is touched)
      1. bridges    one per network, with its MTU; the others removed
      2. addresses  DHCP, router interface and gateway addresses, floating
                    IPs; the others removed; 169.254.169.254/32 on `lo`,
                    where networkd's metadata proxy listens
      3. external   the namespace's end of the external veth enslaved to
                    the external network's bridge
      4. nftables   the whole ruleset, in one transaction (skipped when it
                    is the one this object loaded last)
      5. conntrack  flows the new ruleset refuses are ended
      6. dhcp       one dnsmasq per network with DHCP subnets
    plug(state)     taps libvirt is done with moved in, enslaved, up
    watch(appeared) the machine's new taps reported as libvirt makes them
    teardown()      dnsmasq stopped, tables deleted, bridges and the
                    metadata address removed

Every step compares with what the kernel has, so a new object (after a
restart, even a kill -9) rebuilds from the same state without duplicates.
The namespace itself is made by `pocketstack up` (namespace.py); without
it, apply and plug raise DataPlaneError.

The netlink socket inside the namespace is kept from one call to the next:
pyroute2 opens one by forking a helper into the namespace, and a fork of
the whole service process (tens of milliseconds, every thread stopped) at
each plug would land in the middle of a guest's start. It is opened again
when the namespace was made anew (another inode under /run/netns) or after
an error.
"""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from networkd.dataplane import bridges, conntrack, nftables, taps
from networkd.dataplane.contract import DataPlane, DataPlaneError
from networkd.dataplane.dhcp import DhcpServers
from networkd.dataplane.model import DesiredState
from networkd.dataplane.namespace import exists
from networkd.dataplane.policy import compile_policy, local_addresses
from networkd.dataplane.tapwatch import TapWatch
from shared.metadata_proxy import METADATA_ADDRESS
from shared.netnames import EXTERNAL_VETH_NS_END

LOG = logging.getLogger(__name__)
AF_INET = 2
NETNS_RUN_DIR = Path("/run/netns")  # where `ip netns` (and pyroute2) bind named namespaces


class LinuxDataPlane(DataPlane):
    """The data plane of one stack.

    namespace      the stack's network namespace (made by `pocketstack up`)
    state_dir      networkd's own directory (<state>/lib/networkd); DHCP
                   files go to <state_dir>/dhcp/<network id>/
    external_veth  the namespace's end of the veth to the machine
    """

    def __init__(self, namespace: str, state_dir: Path,
                 external_veth: str = EXTERNAL_VETH_NS_END):
        self.namespace = namespace
        self.state_dir = Path(state_dir)
        self.external_veth = external_veth
        self.dhcp = DhcpServers(namespace, self.state_dir / "dhcp")
        self._ruleset: tuple | None = None   # the text this object loaded last, and where
        self._links: tuple | None = None     # what the bridges and addresses were made from
        self._lock = threading.Lock()          # one call at a time, on the kept socket
        self._socket: IPRoute | None = None    # in the namespace, kept between calls
        self._socket_of: tuple[int, int] | None = None  # the namespace it is in
        self._machine_socket: IPRoute | None = None      # in the machine's, kept too
        self._handoff = taps.LibvirtHandoff()   # which taps libvirt is done with

    def apply(self, state: DesiredState, thorough: bool = True) -> None:
        with self._lock, _kernel_errors("apply"):
            policy = compile_policy(state)
            addresses = local_addresses(state)
            # The machine's veth joins the first external network (a stack has one).
            external = next((n.bridge for n in state.networks if n.external), None)
            # What the links were made from, in which namespace (one made anew
            # under the same name is empty); the same for the rules.
            namespace = self._namespace_identity()
            links = (namespace, state.networks, addresses, external)
            if thorough or links != self._links:
                self._links = None  # until they are all in place
                with self._inside() as ipr:
                    bridges.sync(ipr, state.networks)
                    bridges.sync_addresses(ipr, addresses)
                    _hold_metadata_address(ipr, True)
                    bridges.attach(ipr, self.external_veth, external)
                self._links = links
            ruleset = (namespace, nftables.render(policy))
            if ruleset != self._ruleset or (thorough and not nftables.loaded(self.namespace)):
                self._ruleset = None  # until it is loaded
                nftables.apply(self.namespace, ruleset[1])
                self._ruleset = ruleset
                conntrack.sweep(self.namespace, policy)
            self.dhcp.sync(state)

    def plug(self, state: DesiredState) -> set[str]:
        networks = {network.id: network for network in state.networks}
        plugs = [taps.Plug(port.id, port.tap, networks[port.network_id].bridge,
                           networks[port.network_id].mtu)
                 for port in state.ports if port.network_id in networks]
        with self._lock, _kernel_errors("plug"), self._inside() as inside, \
                self._on_machine() as machine:
            return taps.plug(machine, inside, self.namespace, plugs, self._handoff)

    def watch(self, appeared: Callable[[], None]) -> Callable[[], None]:
        """The kernel's link notifications in the machine's namespace, where
        libvirt creates taps (tapwatch.py)."""
        watch = TapWatch(appeared)
        watch.start()
        return watch.stop

    def teardown(self) -> None:
        with self._lock, _kernel_errors("teardown"):
            try:
                self.dhcp.stop_all()
                if not exists(self.namespace):
                    return
                nftables.delete(self.namespace)
                self._ruleset = self._links = None
                with self._inside() as ipr:
                    bridges.remove_all(ipr)
                    _hold_metadata_address(ipr, False)
            finally:
                self._close_socket()  # nothing of the namespace is kept alive
                self._close_machine_socket()

    @contextmanager
    def _inside(self) -> Iterator[IPRoute]:
        """A netlink socket in the stack's namespace (never creating it),
        the kept one while the namespace is the same; dropped on an error,
        so that the next call starts from a new one. The caller holds
        self._lock."""
        identity = self._namespace_identity()
        if self._socket is None or self._socket_of != identity:
            self._close_socket()
            try:
                self._socket = IPRoute(netns=self.namespace, flags=0)
            except OSError as error:
                raise DataPlaneError(f"network namespace {self.namespace} cannot be "
                                     f"entered: {error}") from error
            self._socket_of = identity
        try:
            yield self._socket
        except BaseException:
            self._close_socket()
            raise

    @contextmanager
    def _on_machine(self) -> Iterator[IPRoute]:
        """A netlink socket in the machine's namespace, where libvirt makes
        the taps: kept between passes (opening one sets up an event loop of
        pyroute2's, at every pass), dropped on an error. The caller holds
        self._lock."""
        if self._machine_socket is None:
            self._machine_socket = IPRoute()
        try:
            yield self._machine_socket
        except BaseException:
            self._close_machine_socket()
            raise

    def _close_machine_socket(self) -> None:
        if self._machine_socket is not None:
            self._machine_socket.close()
        self._machine_socket = None

    def _namespace_identity(self) -> tuple[int, int]:
        """The stack's namespace as the kernel knows it (its file under
        /run/netns): another one once it was removed and made again."""
        try:
            made = os.stat(NETNS_RUN_DIR / self.namespace)
        except OSError as error:
            self._close_socket()
            raise DataPlaneError(f"network namespace {self.namespace} is missing "
                                 f"(`pocketstack up` creates it): {error}") from error
        return made.st_dev, made.st_ino

    def _close_socket(self) -> None:
        if self._socket is not None:
            self._socket.close()
        self._socket, self._socket_of = None, None


def _hold_metadata_address(ipr: IPRoute, held: bool) -> None:
    """Add (or remove) 169.254.169.254/32 on the namespace's `lo`: guests
    route to it through their subnet's DHCP address (dhcp.py), and the
    namespace delivers it locally, to the metadata proxy listening there.
    On `lo`, it is no bridge's, so it is the same address for every network."""
    [lo] = ipr.link_lookup(ifname="lo")
    present = any(a.get("address") == METADATA_ADDRESS and a["prefixlen"] == 32
                  for a in ipr.get_addr(index=lo, family=AF_INET))
    if held and not present:
        LOG.info("adding %s/32 to lo", METADATA_ADDRESS)
        ipr.addr("add", index=lo, address=METADATA_ADDRESS, prefixlen=32)
    elif present and not held:
        ipr.addr("del", index=lo, address=METADATA_ADDRESS, prefixlen=32)


@contextmanager
def _kernel_errors(operation: str) -> Iterator[None]:
    """Netlink and OS errors as the contract's DataPlaneError."""
    try:
        yield
    except (NetlinkError, OSError) as error:
        raise DataPlaneError(f"{operation}: {error}") from error
