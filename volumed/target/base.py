"""What an iSCSI target helper does for volumed.

One target per exported volume, named by the volume's IQN, with the volume as
LUN 1, reachable only with the attachment's CHAP account and only from the
connector's initiator. `ensure_export` is idempotent: called again with the
same Export (after a tgtd restart, say) it re-creates whatever is missing."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

LUN = 1


class TargetError(Exception):
    """The target daemon refused or could not be reached."""


@dataclass(frozen=True)
class Export:
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
    @abstractmethod
    def alive(self) -> bool:
        """Does the target daemon answer?"""

    @abstractmethod
    def ensure_export(self, export: Export) -> None: ...

    @abstractmethod
    def remove_export(self, iqn: str) -> None:
        """Remove the target (dropping any session) and its CHAP accounts."""

    @abstractmethod
    def exports(self) -> dict[str, ExportedTarget]:
        """Every target the daemon has, by IQN."""

    @abstractmethod
    def matches(self, current: ExportedTarget, export: Export) -> bool:
        """Is the daemon's target exactly the export we want?"""

    @abstractmethod
    def remove_unbound_accounts(self) -> None:
        """Delete CHAP accounts that no target uses (left by a crash)."""

    @abstractmethod
    def locked(self):
        """A context manager: no other process changes targets meanwhile."""
