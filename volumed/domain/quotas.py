"""Quotas: how much a project may have, and the check before each create.

Five resources, as in Cinder: volumes (count), snapshots (count),
gigabytes (the sizes of volumes and snapshots added up: a snapshot is a full
copy on the file backend, so it uses as much space as its volume did),
backups (count) and backup_gigabytes (the sizes of the backed-up volumes,
whatever the repository actually stores). A limit of -1 means no limit.
Going over answers 413 with Cinder's words."""
from __future__ import annotations

from dataclasses import dataclass

from shared.errors import RequestEntityTooLarge

RESOURCES = ("volumes", "gigabytes", "snapshots", "backups", "backup_gigabytes")
UNLIMITED = -1


@dataclass(frozen=True)
class Usage:
    volumes: int = 0
    gigabytes: int = 0
    snapshots: int = 0
    backups: int = 0
    backup_gigabytes: int = 0

    def __getitem__(self, name: str) -> int:
        return getattr(self, name)


def check(limits: dict[str, int], usage: Usage, *, volumes: int = 0, gigabytes: int = 0,
          snapshots: int = 0, backups: int = 0, backup_gigabytes: int = 0) -> None:
    """Raise 413 if adding these amounts would go over any limit."""
    if gigabytes and _over(limits["gigabytes"], usage.gigabytes, gigabytes):
        raise RequestEntityTooLarge(
            f"VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds "
            f"allowed gigabytes quota. Requested {gigabytes}G, quota is "
            f"{limits['gigabytes']}G and {usage.gigabytes}G has been consumed.")
    if volumes and _over(limits["volumes"], usage.volumes, volumes):
        raise RequestEntityTooLarge(
            f"VolumeLimitExceeded: Maximum number of volumes allowed "
            f"({limits['volumes']}) exceeded for quota 'volumes'.")
    if snapshots and _over(limits["snapshots"], usage.snapshots, snapshots):
        raise RequestEntityTooLarge(
            f"SnapshotLimitExceeded: Maximum number of snapshots allowed "
            f"({limits['snapshots']}) exceeded for quota 'snapshots'.")
    if backup_gigabytes and _over(limits["backup_gigabytes"], usage.backup_gigabytes,
                                  backup_gigabytes):
        raise RequestEntityTooLarge(
            f"VolumeBackupSizeExceedsAvailableQuota: Requested backup exceeds allowed Backup "
            f"gigabytes quota. Requested {backup_gigabytes}G, quota is "
            f"{limits['backup_gigabytes']}G and {usage.backup_gigabytes}G has been consumed.")
    if backups and _over(limits["backups"], usage.backups, backups):
        raise RequestEntityTooLarge(
            f"BackupLimitExceeded: Maximum number of backups allowed ({limits['backups']}) "
            f"exceeded")


def _over(limit: int, used: int, wanted: int) -> bool:
    return limit != UNLIMITED and used + wanted > limit
