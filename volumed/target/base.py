"""What an iSCSI target helper does for volumed (the seam between the flows
and the target daemon; tgt.py fills it in with tgtd).

One target per exported volume, named by the volume's IQN, with the volume as
LUN 1, reachable only with the attachment's CHAP account and only from the
connector's initiator. `ensure_export` is idempotent: called again with the
same Export (after a tgtd restart, say) it re-creates whatever is missing.

Every operation that fails raises TargetError. No operation ever leaves a
target reachable without its CHAP account and its ACL in place.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

LUN = 1


class TargetError(Exception):
    """The target daemon refused or could not be reached."""


@dataclass(frozen=True)
class Export:
    """A volume as it should be exported for one attachment."""
    iqn: str
    path: Path
    chap_username: str
    chap_password: str = field(repr=False)  # never in a log line
    initiator_name: str | None = None
    initiator_address: str | None = None


@dataclass
class ExportedTarget:
    """A target as the daemon reports it."""
    tid: int
    iqn: str
    paths: dict[int, str] = field(default_factory=dict)  # lun -> backing path
    accounts: list[str] = field(default_factory=list)
    acls: list[str] = field(default_factory=list)
    sessions: int = 0


class Target(ABC):
    """The iSCSI target daemon, as volumed uses it."""

    @abstractmethod
    def alive(self) -> bool:
        """Whether the target daemon answers. Raises nothing: a daemon that
        cannot be reached is simply not alive."""

    @abstractmethod
    def ensure_export(self, export: Export) -> None:
        """Make the daemon serve exactly `export`: the target named
        export.iqn with export.path as LUN 1, its CHAP account (a stale
        account of that name is replaced, as its password may differ) and an
        ACL for the initiator's name, else its address. A target of that IQN
        that differs from `export` is re-created; one that matches is left
        alone (sessions stay up).

        Raises TargetError if the daemon refuses a step or the export names
        neither an initiator name nor an address. On failure everything this
        call created (target, LUN, account) is removed again, so no
        half-made target is ever reachable."""

    @abstractmethod
    def remove_export(self, iqn: str) -> None:
        """Remove the target `iqn` (dropping any session still logged in) and
        its CHAP accounts. A target that does not exist is not an error.

        Raises TargetError if the daemon refuses and the target is still
        there afterwards."""

    @abstractmethod
    def refresh_size(self, iqn: str) -> None:
        """Make the target `iqn` report its LUN's new size after the volume
        behind it has grown (Cinder's extend_target). The target, its
        account, its ACL and the initiator's session stay; the initiator
        reads the new capacity at its next READ CAPACITY. A target that does
        not exist is not an error (nothing is exported to tell).

        Raises TargetError if the daemon refuses; a target left without its
        LUN no longer matches its Export, and the next ensure_export (the
        reconciler's) makes it again whole."""

    @abstractmethod
    def exports(self) -> dict[str, ExportedTarget]:
        """Every target the daemon has, by IQN (the reconciler compares them
        with what the database says). Raises TargetError if the daemon
        cannot be asked."""

    @abstractmethod
    def matches(self, current: ExportedTarget, export: Export) -> bool:
        """Whether the daemon's target `current` is exactly `export` (path of
        LUN 1, the one CHAP account, the one ACL). Asks the daemon nothing;
        raises nothing."""

    @abstractmethod
    def remove_unbound_accounts(self) -> None:
        """Delete CHAP accounts that no target uses (left by a crash between
        creating an account and binding it). Raises TargetError if the
        daemon refuses; accounts already deleted stay deleted."""

    @abstractmethod
    def locked(self) -> AbstractContextManager[None]:
        """A context manager: while it is held, no other process or thread
        of this volumed changes targets (so two cannot pick the same free
        target id). Re-entrant within a thread. Raises OSError if the lock
        cannot be taken."""
