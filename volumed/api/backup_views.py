"""Cinder's JSON shapes for backups (cinder/api/views/backups.py and
cinder/api/v3/views/backups.py): a summary is id, links and name; the details
add what the microversion asks for (metadata from 3.43, the project for
admins from 3.18)."""
from __future__ import annotations

from volumed.api import microversion
from volumed.api.render import links, when
from volumed.models import Backup


def summary(backup: Backup) -> dict:
    return {"id": backup.id, "name": backup.name,
            "links": links(backup.project_id, "backups", backup.id)}


def detail(backup: Backup, dependents: int, show_project: bool) -> dict:
    body = {
        "id": backup.id, "status": backup.status, "size": backup.size,
        "object_count": backup.object_count, "availability_zone": backup.availability_zone,
        "container": backup.container, "created_at": when(backup.created_at),
        "updated_at": when(backup.updated_at), "name": backup.name,
        "description": backup.description, "fail_reason": backup.fail_reason,
        "volume_id": backup.volume_id, "links": links(backup.project_id, "backups", backup.id),
        "is_incremental": backup.parent_id is not None,
        "has_dependent_backups": dependents > 0,
        "snapshot_id": backup.snapshot_id, "data_timestamp": when(backup.data_timestamp),
    }
    if microversion.at_least(microversion.BACKUP_METADATA):
        body["metadata"] = dict(backup.metadata_ or {})
    if show_project and microversion.at_least(microversion.BACKUP_PROJECT):
        body["os-backup-project-attr:project_id"] = backup.project_id
    return body


def restore(answer: dict) -> dict:
    return {"restore": {"backup_id": answer["backup_id"], "volume_id": answer["volume_id"],
                        "volume_name": answer["volume_name"]}}
