"""Restart safety: make tgtd and the database tell the truth again.

At start-up (before serving, once, in the main process):
  - temporary files of operations that never finished are deleted (they are
    never a volume: a volume file only appears, complete, at the very end);
  - backups cut short are settled as Cinder's backup manager settles them
    (flows/backups.py reconcile_backups), with their volumes;
  - attachment deletes cut short (attachment detaching) are finished;
  - a volume or snapshot caught in a transient status (creating,
    downloading, extending, uploading, deleting) gets its true status from
    what is on disk (domain.status.status_after_unfinished): data that exists
    is kept;
  - then the exports are synchronised.

Then, every export_check_interval seconds, `sync_exports` (below), and
`release_abandoned`: an attachment left reserved, attaching or detaching for
more than ABANDONED_AFTER seconds whose server computed says no longer holds
the volume (or no longer exists) is deleted, as its caller would have done:
the caller's own undo could not reach volumed when volumed was down (a
launch, an attach or a detach cut short), and nobody else ever would.

Then, every export_check_interval seconds, `sync_exports`: every attachment
that should be exported (attaching or attached, with its CHAP secrets) has its
target in tgtd with the same IQN, the same LUN file, the same CHAP account and
the same ACL; targets and accounts that should not exist are removed. After a
tgtd restart (which forgets everything), exports come back within one
interval; after a volumed restart they are checked before the first request.

The database is read while the target lock is held, so a concurrent attach
or detach in a worker is never undone by a stale view.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable

from shared.context import RequestContext
from shared.db import transaction
from shared.request_ids import new_request_id
from volumed import repo
from volumed.domain import sizes, status
from volumed.flows import Deps, now
from volumed.flows.attach import export_for
from volumed.flows.backups import reconcile_backups
from volumed.flows.detach import delete_attachment
from volumed.target.base import TargetError

LOG = logging.getLogger(__name__)
ABANDONED_AFTER = 120.0   # seconds a caller has to finish an attachment it began
UNFINISHED = ("reserved", "attaching", "detaching")


class Reconciler:
    def __init__(self, deps: Deps, ensure_daemon: Callable[[], object] | None = None):
        self.deps = deps
        self.sessions = deps.sessions
        self.backend = deps.backend
        self.target = deps.target
        self.ensure_daemon = ensure_daemon  # starts tgtd again if it is gone

    # --- once, at start-up ---------------------------------------------------------
    def startup(self) -> None:
        for name in self.backend.remove_leftovers():
            LOG.info("removed %s, left by an operation that did not finish", name)
        reconcile_backups(self.deps)
        self.finish_detaches()
        self.fix_transient_statuses()
        self.sync_exports()

    def finish_detaches(self) -> list[str]:
        """The attachment deletes that died with the old process (attachment
        detaching) are finished: their caller asked for them, and has let
        the volume go before asking (computed unplugs the disk first, and
        asks again while volumed is away). Left detaching, the export would
        be removed by the export check while the volume stayed reserved."""
        with transaction(self.sessions, write=False) as session:
            left = [a.id for a in repo.list_attachments(session, None)
                    if a.attach_status == "detaching"]
        finished = []
        for attachment_id in left:
            try:
                delete_attachment(self.deps, RequestContext(request_id=new_request_id()),
                                  None, attachment_id)
            except Exception as exc:
                LOG.warning("attachment %s stays detaching: %s", attachment_id, exc)
                continue
            LOG.warning("attachment %s was being deleted when volumed stopped; deleted",
                        attachment_id)
            finished.append(attachment_id)
        return finished

    def fix_transient_statuses(self) -> None:
        with transaction(self.sessions) as session:
            for volume in repo.live_volumes(session):
                if volume.status not in status.TRANSIENT:
                    continue
                exists = self.backend.exists(volume.id)
                attachments = len(repo.active_attachments(session, volume.id))
                true_status = status.status_after_unfinished(
                    volume.status, exists, volume.previous_status, attachments)
                LOG.warning("volume %s was %s when volumed stopped; it is now %s",
                            volume.id, volume.status, true_status or "deleted")
                if true_status is None:
                    volume.deleted, volume.deleted_at, volume.status = True, now(), "deleted"
                    continue
                if exists and volume.status == status.EXTENDING:
                    volume.size = sizes.gib_ceil(self.backend.size_bytes(volume.id))
                volume.status = true_status
                volume.updated_at = now()
            for snapshot in repo.live_snapshots(session):
                exists = self.backend.snapshot_exists(snapshot.id)
                true_status = status.snapshot_status_after_unfinished(snapshot.status, exists)
                if true_status == snapshot.status:
                    continue
                LOG.warning("snapshot %s was %s when volumed stopped; it is now %s",
                            snapshot.id, snapshot.status, true_status or "deleted")
                if true_status is None:
                    snapshot.deleted, snapshot.deleted_at, snapshot.status = \
                        True, now(), "deleted"
                else:
                    snapshot.status = true_status

    # --- again and again -------------------------------------------------------------
    def sync_exports(self) -> int:
        """Make tgtd's targets what the database says; return how many were
        (re)created or removed."""
        if not self.target.alive():
            if self.ensure_daemon is None:
                LOG.warning("tgtd is not running; exports will be restored when it is back")
                return 0
            self.ensure_daemon()
        changed = 0
        with self.target.locked():
            with transaction(self.sessions, write=False) as session:
                wanted = {}
                for attachment, volume in repo.exported_attachments(session):
                    if not self.deps.backend.needs_target(volume.id):
                        continue  # reached without iSCSI (rbd)
                    export = export_for(self.deps, attachment, volume)
                    wanted[export.iqn] = export
            present = self.target.exports()
            for iqn in present:
                if iqn not in wanted:
                    LOG.info("removing target %s: no attachment needs it", iqn)
                    self.target.remove_export(iqn)
                    changed += 1
            for iqn, export in wanted.items():
                current = present.get(iqn)
                if current is None or not self.target.matches(current, export):
                    LOG.info("restoring the export of %s", iqn)
                    self.target.ensure_export(export)
                    changed += 1
            self.target.remove_unbound_accounts()
        return changed

    def release_abandoned(self) -> list[str]:
        """Delete the unfinished attachments no server holds any more;
        returns their ids. computed is asked about each (a server that still
        maps the volume keeps it, whatever its state); when it cannot answer,
        the attachment waits for the next pass."""
        compute = self.deps.compute
        if compute is None:
            return []
        cutoff = now() - dt.timedelta(seconds=ABANDONED_AFTER)
        with transaction(self.sessions, write=False) as session:
            candidates = [(a.id, a.instance_uuid, a.volume_id)
                          for a in repo.list_attachments(session, None)
                          if a.attach_status in UNFINISHED and a.instance_uuid
                          and a.created_at < cutoff]
        released = []
        for attachment_id, server_uuid, volume_id in candidates:
            if compute.server_holds(server_uuid, volume_id) is not False:
                continue
            LOG.warning("attachment %s of volume %s: server %s no longer holds it; "
                        "deleting it", attachment_id, volume_id, server_uuid)
            try:
                delete_attachment(self.deps, RequestContext(request_id=new_request_id()),
                                  None, attachment_id)
            except Exception as exc:
                LOG.warning("cannot delete attachment %s yet: %s", attachment_id, exc)
                continue
            released.append(attachment_id)
        return released

    def watch(self, interval: float, stop: threading.Event) -> None:
        while not stop.wait(interval):
            try:
                self.sync_exports()
                self.release_abandoned()
            except TargetError as exc:
                LOG.warning("export check failed: %s", exc)
            except Exception:
                LOG.exception("export check failed")
