"""The tgtd target helper: targets, LUNs, CHAP accounts and ACLs.

For an export it asks tgtd for, in order:
    target new (tid, IQN) -> logicalunit new (LUN 1 = the volume file)
    -> account new (user, password) -> account bind (to the target)
    -> target bind (ACL: the connector's initiator name, else its address)
A target without an ACL answers nobody, so the target is never reachable
before its CHAP account and its ACL are in place.

Every change runs under an exclusive file lock: volumed's worker processes
and its export watcher all share one tgtd, and two of them must not pick the
same free tid at once.
"""
from __future__ import annotations

import fcntl
import logging
import re
import threading
from contextlib import contextmanager, suppress
from pathlib import Path

from volumed.target.base import LUN, Export, ExportedTarget, Target, TargetError
from volumed.target.tgtd_ipc import (
    MODE_ACCOUNT,
    MODE_DEVICE,
    MODE_TARGET,
    OP_BIND,
    OP_DELETE,
    OP_NEW,
    OP_SHOW,
    OP_UNBIND,
    TgtdClient,
    TgtdError,
)

LOG = logging.getLogger(__name__)

TARGET_LINE = re.compile(r"^Target (\d+): (\S+)")
LUN_LINE = re.compile(r"^\s+LUN: (\d+)")
PATH_LINE = re.compile(r"^\s+Backing store path: (.+)$")
SESSION_LINE = re.compile(r"^\s+I_T nexus: \d+")


class TgtTarget(Target):
    def __init__(self, client: TgtdClient, lock_file: Path):
        self.client = client
        self.lock_file = Path(lock_file)
        self._held = threading.local()

    # --- reading ---------------------------------------------------------------
    def alive(self) -> bool:
        return self.client.alive()

    def exports(self) -> dict[str, ExportedTarget]:
        return parse_targets(self._call(MODE_TARGET, OP_SHOW, what="list targets"))

    def accounts(self) -> list[str]:
        text = self._call(MODE_ACCOUNT, OP_SHOW, what="list accounts")
        return [line.strip() for line in text.splitlines()[1:] if line.strip()]

    # --- changing --------------------------------------------------------------
    def matches(self, current: ExportedTarget, export: Export) -> bool:
        return _matches(current, export)

    def ensure_export(self, export: Export) -> None:
        with self.locked():
            current = self.exports().get(export.iqn)
            if current is not None and not _matches(current, export):
                LOG.info("target %s differs from what it should be; re-creating it", export.iqn)
                self._remove(current)
                current = None
            if current is not None:
                return
            tid = _free_tid(self.exports())
            self._call(MODE_TARGET, OP_NEW, {"targetname": export.iqn}, tid=tid,
                       what=f"create target {export.iqn}")
            try:
                self._call(MODE_DEVICE, OP_NEW, {"path": str(export.path)}, tid=tid, lun=LUN,
                           what=f"add LUN {LUN} to {export.iqn}")
                self._replace_account(export.chap_username, export.chap_password)
                self._call(MODE_ACCOUNT, OP_BIND, {"user": export.chap_username}, tid=tid,
                           what=f"bind the CHAP account to {export.iqn}")
                self._bind_initiator(tid, export)
            except TargetError:
                self._remove(ExportedTarget(tid=tid, iqn=export.iqn,
                                            accounts=[export.chap_username]))
                raise
            LOG.info("exported %s as tid %d (LUN %d, CHAP user %s)", export.iqn, tid, LUN,
                     export.chap_username)

    def remove_export(self, iqn: str) -> None:
        with self.locked():
            current = self.exports().get(iqn)
            if current is not None:
                self._remove(current)
                LOG.info("removed target %s", iqn)

    def refresh_size(self, iqn: str) -> None:
        """tgtd reads a LUN's size once, when the LUN is made, and has no
        resize: LUN 1 is deleted and made again on the same backing file
        (an idle LUN can go; the session stays logged in to the target)."""
        with self.locked():
            current = self.exports().get(iqn)
            if current is None or LUN not in current.paths:
                return
            path = current.paths[LUN]
            self._call(MODE_DEVICE, OP_DELETE, tid=current.tid, lun=LUN,
                       what=f"delete LUN {LUN} of {iqn} to resize it")
            self._call(MODE_DEVICE, OP_NEW, {"path": path}, tid=current.tid, lun=LUN,
                       what=f"make LUN {LUN} of {iqn} again at its new size")
            LOG.info("LUN %d of %s made again on %s at its new size", LUN, iqn, path)

    def remove_unbound_accounts(self) -> None:
        """Accounts are bound to their target right after they are made,
        under the lock: one bound to nothing is a leftover."""
        with self.locked():
            bound = {a for target in self.exports().values() for a in target.accounts}
            for username in self.accounts():
                if username not in bound:
                    self._call(MODE_ACCOUNT, OP_DELETE, {"user": username},
                               what=f"delete the leftover account {username}")

    # --- steps -----------------------------------------------------------------
    def _bind_initiator(self, tid: int, export: Export) -> None:
        """Restrict the target to the connector's initiator: by IQN when the
        connector names one, else by its IP address."""
        if export.initiator_name:
            self._call(MODE_TARGET, OP_BIND, {"initiator-name": export.initiator_name},
                       tid=tid, what="bind the initiator name")
        elif export.initiator_address:
            self._call(MODE_TARGET, OP_BIND, {"initiator-address": export.initiator_address},
                       tid=tid, what="bind the initiator address")
        else:
            raise TargetError("the connector names neither an initiator nor an ip")

    def _replace_account(self, username: str, password: str) -> None:
        # tgtd cannot change a password in place, and cannot show it: a stale
        # account with this name is deleted and made again.
        if username in self.accounts():
            self._call(MODE_ACCOUNT, OP_DELETE, {"user": username},
                       what=f"delete the stale account {username}")
        self._call(MODE_ACCOUNT, OP_NEW, {"user": username, "password": password},
                   what=f"create the CHAP account {username}")

    def _remove(self, target: ExportedTarget) -> None:
        for account in target.accounts:
            with suppress(TargetError):
                self._call(MODE_ACCOUNT, OP_UNBIND, {"user": account}, tid=target.tid,
                           what="unbind account")
        # force: drop the initiator's session if one is still logged in.
        try:
            self._call(MODE_TARGET, OP_DELETE, tid=target.tid, force=True,
                       what=f"delete target {target.iqn}")
        except TargetError:
            if target.iqn in self.exports():
                raise
        existing = set(self.accounts())
        for account in target.accounts:
            if account in existing:
                self._call(MODE_ACCOUNT, OP_DELETE, {"user": account},
                           what=f"delete account {account}")

    def _call(self, mode: int, op: int, params: dict | None = None, *, tid: int = -1,
              lun: int | None = None, force: bool = False, what: str) -> str:
        try:
            if lun is None:
                return self.client.request(mode, op, params, tid=tid, force=force)
            return self.client.request(mode, op, params, tid=tid, lun=lun, force=force)
        except TgtdError as exc:
            raise TargetError(f"tgtd could not {what}: {exc}") from None

    @contextmanager
    def locked(self):
        """Exclusive across processes (flock) and threads; re-entrant in a
        thread, so a caller can hold it around several steps."""
        depth = getattr(self._held, "depth", 0)
        if depth:
            self._held.depth = depth + 1
            try:
                yield
            finally:
                self._held.depth = depth
            return
        self.lock_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.lock_file, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            self._held.depth = 1
            try:
                yield
            finally:
                self._held.depth = 0
                fcntl.flock(handle, fcntl.LOCK_UN)


def _free_tid(targets: dict[str, ExportedTarget]) -> int:
    used = {target.tid for target in targets.values()}
    tid = 1
    while tid in used:
        tid += 1
    return tid


def _matches(current: ExportedTarget, export: Export) -> bool:
    wanted_acl = export.initiator_name or export.initiator_address
    return (current.paths.get(LUN) == str(export.path)
            and current.accounts == [export.chap_username]
            and current.acls == [wanted_acl])


def parse_targets(text: str) -> dict[str, ExportedTarget]:
    """Read `tgtadm --mode target --op show` output."""
    targets: dict[str, ExportedTarget] = {}
    current: ExportedTarget | None = None
    section, lun = None, None
    for line in text.splitlines():
        match = TARGET_LINE.match(line)
        if match:
            current = ExportedTarget(tid=int(match.group(1)), iqn=match.group(2))
            targets[current.iqn] = current
            section, lun = None, None
            continue
        if current is None:
            continue
        stripped = line.strip()
        if stripped in ("System information:", "I_T nexus information:",
                        "LUN information:", "Account information:", "ACL information:"):
            section = stripped
            continue
        if section == "I_T nexus information:" and SESSION_LINE.match(line):
            current.sessions += 1
        elif section == "LUN information:":
            match = LUN_LINE.match(line)
            if match:
                lun = int(match.group(1))
            match = PATH_LINE.match(line)
            if match and lun is not None and match.group(1) != "None":
                current.paths[lun] = match.group(1).strip()
        elif section == "Account information:" and stripped:
            current.accounts.append(stripped.removesuffix(" (outgoing)"))
        elif section == "ACL information:" and stripped:
            current.acls.append(stripped)
    return targets
