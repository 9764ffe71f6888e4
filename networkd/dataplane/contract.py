"""The seam between networkd's API and the kernel: one abstract class.

The real implementation (linux.py) builds bridges with pyroute2, runs one
dnsmasq per DHCP subnet and writes nftables rules, all inside the stack's
network namespace. Tests of the API layer may use a fake implementing the
same class; tests of the data plane use the real one.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

from networkd.dataplane.model import DesiredState


class DataPlaneError(RuntimeError):
    """The kernel refused a change; the message says what and why."""


class DataPlane(ABC):

    @abstractmethod
    def apply(self, state: DesiredState, thorough: bool = True) -> None:
        """Make the namespace match `state`: create what is missing, change
        what differs, remove what `state` no longer has (bridges, addresses,
        dnsmasq processes and their host files, routes, NAT and firewall
        rules, conntrack entries of removed floating IPs and rules). The
        namespace also holds the metadata address 169.254.169.254/32 on its
        `lo`, whatever `state` says (networkd's metadata proxy listens there;
        every DHCP subnet routes guests to it).
        `thorough`: compare everything with the kernel (at start, after a
        failure, every few seconds, for what someone else changed). Not
        thorough: the kernel still holds what the last apply made, and
        only the parts `state` changes since are written (a port more: its
        host line and its rules, not every bridge and address again).
        Idempotent: applying the same state twice changes nothing, and after
        a restart (even a kill -9) applying the database's state rebuilds
        everything without duplicates. Raises DataPlaneError."""

    @abstractmethod
    def plug(self, state: DesiredState) -> set[str]:
        """Plug the taps of `state`'s ports that libvirt has created in the
        machine's namespace: move each into the stack's namespace, attach it
        to its network's bridge and bring it up. Taps already plugged are
        left alone. Returns the ids of the ports whose tap is now plugged
        (the API layer sets those ports ACTIVE and the others DOWN)."""

    def watch(self, appeared: Callable[[], None]) -> Callable[[], None]:
        """Call `appeared()` whenever a tap may have appeared for plug() to
        take, so that it is plugged at once rather than at the agent's next
        interval (a build waits for it). Returns the function that stops the
        watch. This default watches nothing: the agent's passes, every
        interval, still find every tap."""
        return lambda: None

    @abstractmethod
    def teardown(self) -> None:
        """Stop the dnsmasq processes and remove the rules, bridges and the
        metadata address this data plane made (the namespace itself belongs
        to `pocketstack up` / `down`)."""
