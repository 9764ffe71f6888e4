"""volumed's data access: the only module that queries volumed's tables."""
from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.errors import NotFound
from volumed.domain import quotas
from volumed.models import (
    Attachment,
    Backup,
    QuotaLimit,
    Snapshot,
    Volume,
    VolumeAdminMetadata,
    VolumeType,
)

ACTIVE_ATTACH_STATUSES = ("reserved", "attaching", "attached", "detaching")
EXPORTED_ATTACH_STATUSES = ("attaching", "attached")


def new_id() -> str:
    return str(uuid.uuid4())


def looks_like_id(key: str) -> bool:
    try:
        uuid.UUID(key)
        return True
    except ValueError:
        return False


# --- volumes -----------------------------------------------------------------
def get_volume(session: Session, volume_id: str, project_id: str | None) -> Volume:
    """A live volume of the project (any project when project_id is None),
    or 404. Names are not ids: the clients look names up with ?name=."""
    volume = session.get(Volume, volume_id) if looks_like_id(volume_id) else None
    if volume is None or volume.deleted or (project_id and volume.project_id != project_id):
        raise NotFound(f"Volume {volume_id} could not be found.")
    return volume


def list_volumes(session: Session, project_id: str | None) -> list[Volume]:
    query = select(Volume).where(Volume.deleted.is_(False))
    if project_id:
        query = query.where(Volume.project_id == project_id)
    return list(session.scalars(query.order_by(Volume.created_at.desc(), Volume.id)))


def live_volumes(session: Session) -> list[Volume]:
    return list(session.scalars(select(Volume).where(Volume.deleted.is_(False))))


# --- attachments ---------------------------------------------------------------
def active_attachments(session: Session, volume_id: str) -> list[Attachment]:
    return list(session.scalars(select(Attachment).where(
        Attachment.volume_id == volume_id, Attachment.deleted.is_(False),
        Attachment.attach_status.in_(ACTIVE_ATTACH_STATUSES)).order_by(Attachment.created_at)))


def attachments_of(session: Session, volume_ids: list[str]) -> dict[str, list[Attachment]]:
    result: dict[str, list[Attachment]] = {vid: [] for vid in volume_ids}
    if not volume_ids:
        return result
    for attachment in session.scalars(select(Attachment).where(
            Attachment.volume_id.in_(volume_ids), Attachment.deleted.is_(False))
            .order_by(Attachment.created_at)):
        result[attachment.volume_id].append(attachment)
    return result


def get_attachment(session: Session, attachment_id: str, project_id: str | None) -> Attachment:
    attachment = session.get(Attachment, attachment_id) if looks_like_id(attachment_id) \
        else None
    if attachment is None or attachment.deleted or \
            (project_id and attachment.project_id != project_id):
        raise NotFound(f"Attachment {attachment_id} could not be found.")
    return attachment


def list_attachments(session: Session, project_id: str | None) -> list[Attachment]:
    query = select(Attachment).where(Attachment.deleted.is_(False))
    if project_id:
        query = query.where(Attachment.project_id == project_id)
    return list(session.scalars(query.order_by(Attachment.created_at)))


def exported_attachments(session: Session) -> list[tuple[Attachment, Volume]]:
    """Attachments whose volume should be reachable over iSCSI now."""
    rows = session.execute(select(Attachment, Volume).join(
        Volume, Volume.id == Attachment.volume_id).where(
        Attachment.deleted.is_(False), Volume.deleted.is_(False),
        Attachment.attach_status.in_(EXPORTED_ATTACH_STATUSES),
        Attachment.chap_username.is_not(None)))
    return [(row[0], row[1]) for row in rows]


# --- snapshots -----------------------------------------------------------------
def get_snapshot(session: Session, snapshot_id: str, project_id: str | None) -> Snapshot:
    snapshot = session.get(Snapshot, snapshot_id) if looks_like_id(snapshot_id) else None
    if snapshot is None or snapshot.deleted or \
            (project_id and snapshot.project_id != project_id):
        raise NotFound(f"Snapshot {snapshot_id} could not be found.")
    return snapshot


def list_snapshots(session: Session, project_id: str | None) -> list[Snapshot]:
    query = select(Snapshot).where(Snapshot.deleted.is_(False))
    if project_id:
        query = query.where(Snapshot.project_id == project_id)
    return list(session.scalars(query.order_by(Snapshot.created_at.desc(), Snapshot.id)))


def snapshots_of(session: Session, volume_id: str) -> list[Snapshot]:
    return list(session.scalars(select(Snapshot).where(
        Snapshot.volume_id == volume_id, Snapshot.deleted.is_(False))))


def live_snapshots(session: Session) -> list[Snapshot]:
    return list(session.scalars(select(Snapshot).where(Snapshot.deleted.is_(False))))


# --- admin metadata ------------------------------------------------------------
def admin_metadata(session: Session, volume_id: str) -> dict[str, str]:
    return {row.key: row.value for row in session.scalars(select(VolumeAdminMetadata).where(
        VolumeAdminMetadata.volume_id == volume_id))}


def admin_metadata_of(session: Session, volume_ids: list[str]) -> dict[str, dict[str, str]]:
    result: dict[str, dict[str, str]] = {vid: {} for vid in volume_ids}
    if volume_ids:
        for row in session.scalars(select(VolumeAdminMetadata).where(
                VolumeAdminMetadata.volume_id.in_(volume_ids))):
            result[row.volume_id][row.key] = row.value
    return result


def set_admin_metadata(session: Session, volume_id: str, key: str, value: str, *,
                       update: bool = True) -> str:
    """Set one key (update=False: only if absent); returns its value now."""
    row = session.get(VolumeAdminMetadata, (volume_id, key))
    if row is None:
        session.add(VolumeAdminMetadata(volume_id=volume_id, key=key, value=value))
        return value
    if update:
        row.value = value
    return row.value


def delete_admin_metadata(session: Session, volume_id: str, key: str) -> None:
    row = session.get(VolumeAdminMetadata, (volume_id, key))
    if row is not None:
        session.delete(row)


# --- backups -------------------------------------------------------------------
def get_backup(session: Session, backup_id: str, project_id: str | None) -> Backup:
    backup = session.get(Backup, backup_id) if looks_like_id(backup_id) else None
    if backup is None or backup.deleted or (project_id and backup.project_id != project_id):
        raise NotFound(f"Backup {backup_id} could not be found.")
    return backup


def list_backups(session: Session, project_id: str | None) -> list[Backup]:
    query = select(Backup).where(Backup.deleted.is_(False))
    if project_id:
        query = query.where(Backup.project_id == project_id)
    return list(session.scalars(query.order_by(Backup.created_at.desc(), Backup.id)))


def backups_of_volume(session: Session, volume_id: str, project_id: str) -> list[Backup]:
    return list(session.scalars(select(Backup).where(
        Backup.volume_id == volume_id, Backup.project_id == project_id,
        Backup.deleted.is_(False))))


def dependent_counts(session: Session, backup_ids: list[str]) -> dict[str, int]:
    """How many live incremental backups build on each of these backups."""
    if not backup_ids:
        return {}
    rows = session.execute(select(Backup.parent_id, func.count(Backup.id)).where(
        Backup.parent_id.in_(backup_ids), Backup.deleted.is_(False))
        .group_by(Backup.parent_id))
    return {parent: count for parent, count in rows if parent is not None}


def live_backups(session: Session) -> list[Backup]:
    return list(session.scalars(select(Backup).where(Backup.deleted.is_(False))))


# --- volume types --------------------------------------------------------------
def get_type(session: Session, key: str) -> VolumeType:
    """By id or by name (Cinder accepts both in volume create)."""
    found = session.get(VolumeType, key)
    if found is None:
        found = session.scalars(select(VolumeType).where(VolumeType.name == key)).first()
    if found is None:
        raise NotFound(f"Volume type {key} could not be found.")
    return found


def list_types(session: Session) -> list[VolumeType]:
    return list(session.scalars(select(VolumeType).order_by(VolumeType.name)))


def ensure_type(session: Session, name: str, description: str) -> VolumeType:
    found = session.scalars(select(VolumeType).where(VolumeType.name == name)).first()
    if found is None:
        found = VolumeType(id=new_id(), name=name, description=description, is_public=True,
                           extra_specs={})
        session.add(found)
    return found


def count_volumes_of_type(session: Session, type_id: str) -> int:
    return session.scalar(select(func.count(Volume.id)).where(
        Volume.volume_type_id == type_id, Volume.deleted.is_(False))) or 0


def type_names(session: Session) -> dict[str, str]:
    return {t.id: t.name for t in session.scalars(select(VolumeType))}


# --- quotas --------------------------------------------------------------------
def usage(session: Session, project_id: str) -> quotas.Usage:
    volumes, volume_gb = session.execute(select(func.count(Volume.id),
                                                func.coalesce(func.sum(Volume.size), 0))
                                         .where(Volume.project_id == project_id,
                                                Volume.deleted.is_(False))).one()
    snapshots, snapshot_gb = session.execute(select(func.count(Snapshot.id),
                                                    func.coalesce(func.sum(Snapshot.size), 0))
                                             .where(Snapshot.project_id == project_id,
                                                    Snapshot.deleted.is_(False))).one()
    backups, backup_gb = session.execute(select(func.count(Backup.id),
                                                func.coalesce(func.sum(Backup.size), 0))
                                         .where(Backup.project_id == project_id,
                                                Backup.deleted.is_(False))).one()
    return quotas.Usage(volumes=volumes, gigabytes=int(volume_gb) + int(snapshot_gb),
                        snapshots=snapshots, backups=backups,
                        backup_gigabytes=int(backup_gb))


def limits(session: Session, project_id: str, defaults: dict[str, int]) -> dict[str, int]:
    result = dict(defaults)
    for row in session.scalars(select(QuotaLimit).where(QuotaLimit.project_id == project_id)):
        result[row.resource] = row.hard_limit
    return result


def set_limit(session: Session, project_id: str, resource: str, hard_limit: int) -> None:
    row = session.get(QuotaLimit, (project_id, resource))
    if row is None:
        session.add(QuotaLimit(project_id=project_id, resource=resource, hard_limit=hard_limit))
    else:
        row.hard_limit = hard_limit


def clear_limits(session: Session, project_id: str) -> None:
    for row in session.scalars(select(QuotaLimit).where(QuotaLimit.project_id == project_id)):
        session.delete(row)
