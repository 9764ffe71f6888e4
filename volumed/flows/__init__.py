"""The flows: what volumed does for each request, each one readable top to
bottom in one file (create.py, delete.py, attach.py, detach.py, ...).

Every flow has the same shape:
  1. one short database transaction that checks the rules (status, quota)
     and moves the volume into a transient status, with an event;
  2. the slow work on files or on tgtd, outside any transaction (in a
     background thread when it can take long, as Cinder does);
  3. one short transaction recording the outcome, with an event.
A crash between 1 and 3 leaves a transient status that reconcile.py turns
into a true one at the next start.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import sessionmaker

from shared.context import RequestContext
from shared.errors import Unauthorized
from shared.events import Notifier, utcnow
from shared.request_ids import carried
from volumed.backend.base import VolumeBackend
from volumed.backup.service import BackupService
from volumed.compute import ComputeEvents
from volumed.images import VolumeImages
from volumed.models import Snapshot, Volume
from volumed.target.base import Target

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settings:
    iqn_prefix: str
    portal: str
    default_type: str
    quota_defaults: dict[str, int]
    per_volume_gigabytes: int


@dataclass
class Deps:
    """Everything a flow needs, built once per worker process by app.py."""
    sessions: sessionmaker
    notifier: Notifier
    backend: VolumeBackend
    target: Target
    images: VolumeImages
    settings: Settings
    backups: BackupService | None = None
    compute: ComputeEvents | None = None  # volume-extended to computed (in-use extend)
    threads: list[threading.Thread] = field(default_factory=list)

    def iqn(self, volume_id: str) -> str:
        return f"{self.settings.iqn_prefix}volume-{volume_id}"

    def event(self, ctx: RequestContext | None, event_type: str, volume: Volume | Snapshot,
              session=None, **extra) -> None:
        if isinstance(volume, Snapshot):
            resource_type, payload = "snapshot", snapshot_payload(volume)
        else:
            resource_type, payload = "volume", volume_payload(volume)
        payload.update(extra)
        self.notifier.notify(ctx, event_type, resource_type=resource_type,
                             resource_id=volume.id, project_id=volume.project_id,
                             payload=payload, session=session)

    def background(self, name: str, work: Callable[[], None]) -> None:
        """Run slow work after the response, in this worker process."""
        def run():
            try:
                work()
            except Exception:  # the work records its own failure; this is the last net
                LOG.exception("background work %s failed", name)
        thread = threading.Thread(target=carried(run), name=name, daemon=True)
        self.threads = [t for t in self.threads if t.is_alive()] + [thread]
        thread.start()


def volume_payload(volume: Volume) -> dict:
    return {"volume_id": volume.id, "display_name": volume.name, "size": volume.size,
            "status": volume.status, "tenant_id": volume.project_id,
            "user_id": volume.user_id, "availability_zone": volume.availability_zone,
            "created_at": iso(volume.created_at)}


def snapshot_payload(snapshot: Snapshot) -> dict:
    return {"snapshot_id": snapshot.id, "volume_id": snapshot.volume_id,
            "display_name": snapshot.name, "volume_size": snapshot.size,
            "status": snapshot.status, "tenant_id": snapshot.project_id,
            "user_id": snapshot.user_id, "created_at": iso(snapshot.created_at)}


def user_token(ctx: RequestContext) -> str:
    """The caller's own token: imaged is asked with it, so a user reaches only
    the images they may see. Every request that reaches a flow has one."""
    if not ctx.auth_token:
        raise Unauthorized("This operation needs the caller's token.")
    return ctx.auth_token


def iso(value: dt.datetime | None) -> str | None:
    return value.isoformat(timespec="microseconds") if value else None


def now() -> dt.datetime:
    return utcnow()
