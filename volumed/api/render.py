"""Cinder's JSON shapes for volumes, snapshots, attachments, types.

Fields the real clients need (see the reference notes §6): `attachments`
(a list, never null), `name`, `bootable` as the strings "true"/"false",
`os-vol-tenant-attr:tenant_id`. Times are printed as Cinder prints them."""
from __future__ import annotations

import datetime as dt

from flask import request

from shared.context import RequestContext
from volumed.api import microversion
from volumed.domain import quotas
from volumed.models import Attachment, Snapshot, Volume, VolumeType


def when(value: dt.datetime | None) -> str | None:
    return value.isoformat(timespec="microseconds") if value else None


def base_url() -> str:
    return request.host_url.rstrip("/")


def links(project_id: str, collection: str, item_id: str) -> list[dict]:
    return [{"href": f"{base_url()}/v3/{project_id}/{collection}/{item_id}", "rel": "self"},
            {"href": f"{base_url()}/{project_id}/{collection}/{item_id}", "rel": "bookmark"}]


def volume_summary(volume: Volume) -> dict:
    return {"id": volume.id, "name": volume.name,
            "links": links(volume.project_id, "volumes", volume.id)}


# Admin metadata keys Cinder shows to everyone, inside the volume's metadata
# (cinder/api/api_utils.py add_visible_admin_metadata); they win over a user
# key of the same name.
VISIBLE_ADMIN_METADATA = ("readonly", "attached_mode")


def volume_detail(volume: Volume, attachments: list[Attachment], type_name: str | None,
                  ctx: RequestContext, admin_metadata: dict[str, str] | None = None) -> dict:
    body = {
        "id": volume.id, "status": volume.status, "size": volume.size,
        "availability_zone": volume.availability_zone,
        "created_at": when(volume.created_at), "updated_at": when(volume.updated_at),
        "name": volume.name, "description": volume.description,
        "volume_type": type_name, "snapshot_id": volume.snapshot_id,
        "source_volid": volume.source_volid,
        "metadata": {**(volume.metadata_ or {}),
                     **{k: v for k, v in (admin_metadata or {}).items()
                        if k in VISIBLE_ADMIN_METADATA}},
        "links": links(volume.project_id, "volumes", volume.id),
        "user_id": volume.user_id, "bootable": "true" if volume.bootable else "false",
        "encrypted": False, "replication_status": None, "consistencygroup_id": None,
        "multiattach": False,
        "attachments": [volume_attachment(a, ctx) for a in attachments
                        if a.attach_status == "attached"],
        "os-vol-tenant-attr:tenant_id": volume.project_id,
    }
    if volume.image_metadata:
        body["volume_image_metadata"] = dict(volume.image_metadata)
    if ctx.is_admin:
        body["migration_status"] = None
        body["os-vol-host-attr:host"] = "pocketstack@file#file"
        body["os-vol-mig-status-attr:migstat"] = None
        body["os-vol-mig-status-attr:name_id"] = None
    if microversion.at_least(microversion.GROUP_VOLUME):
        body["group_id"] = None
    if ctx.is_admin and microversion.at_least(microversion.VOLUME_DETAIL_PROVIDER_ID):
        body["provider_id"] = None
    return body


# Added by Cinder's API extensions (volume_tenant_attribute, volume_host_attribute,
# volume_mig_status_attribute), which extend show and detail only: the answer to
# a create does not carry them.
EXTENSION_ATTRIBUTES = ("os-vol-tenant-attr:tenant_id", "os-vol-host-attr:host",
                        "os-vol-mig-status-attr:migstat", "os-vol-mig-status-attr:name_id")


def volume_created(detail: dict) -> dict:
    """A volume as the answer to its create shows it."""
    return {key: value for key, value in detail.items() if key not in EXTENSION_ATTRIBUTES}


def volume_attachment(attachment: Attachment, ctx: RequestContext) -> dict:
    """An item of a volume's `attachments` list (needs server_id, device)."""
    return {"id": attachment.volume_id, "attachment_id": attachment.id,
            "volume_id": attachment.volume_id, "server_id": attachment.instance_uuid,
            "host_name": attachment.attached_host if (ctx.is_admin or ctx.is_service)
            else None,
            "device": attachment.mountpoint, "attached_at": when(attachment.attach_time)}


def attachment_summary(attachment: Attachment) -> dict:
    return {"id": attachment.id, "status": attachment.attach_status,
            "instance": attachment.instance_uuid, "volume_id": attachment.volume_id}


def attachment_detail(attachment: Attachment, connection_info: dict | None) -> dict:
    body = attachment_summary(attachment)
    body.update(attached_at=when(attachment.attach_time) or "",
                detached_at=when(attachment.detach_time) or "",
                attach_mode=attachment.attach_mode, connection_info=connection_info)
    return body


def snapshot_summary(snapshot: Snapshot) -> dict:
    """A snapshot in GET /snapshots."""
    return {"id": snapshot.id, "name": snapshot.name, "description": snapshot.description,
            "status": snapshot.status, "size": snapshot.size,
            "volume_id": snapshot.volume_id, "metadata": dict(snapshot.metadata_ or {}),
            "created_at": when(snapshot.created_at), "updated_at": when(snapshot.updated_at)}


def snapshot_detail(snapshot: Snapshot, extended: bool = True) -> dict:
    """A snapshot in show and GET /snapshots/detail; create and update
    answer it without the extended-snapshot-attributes fields
    (extended=False), which Cinder's extension adds to show and detail only."""
    body = snapshot_summary(snapshot)
    if microversion.at_least(microversion.SNAPSHOT_GROUP):
        body["group_snapshot_id"] = None
    if microversion.at_least(microversion.SNAPSHOT_USER_ID):
        body["user_id"] = snapshot.user_id
    if extended:
        body["os-extended-snapshot-attributes:project_id"] = snapshot.project_id
        body["os-extended-snapshot-attributes:progress"] = \
            "100%" if snapshot.status == "available" else "0%"
    return body


def volume_type(vtype: VolumeType) -> dict:
    return {"id": vtype.id, "name": vtype.name, "description": vtype.description,
            "is_public": vtype.is_public, "extra_specs": dict(vtype.extra_specs or {}),
            "qos_specs_id": None, "os-volume-type-access:is_public": vtype.is_public}


def volumes_summary(volumes: list[Volume]) -> dict:
    """GET /volumes/summary: how many, how big, and every metadata value
    seen for each key (each value once, in the order first seen)."""
    metadata: dict[str, list] = {}
    for volume in volumes:
        for key, value in (volume.metadata_ or {}).items():
            seen = metadata.setdefault(key, [])
            if value not in seen:
                seen.append(value)
    body: dict = {"total_count": len(volumes), "total_size": sum(v.size for v in volumes)}
    if microversion.at_least(microversion.VOLUME_SUMMARY_METADATA):
        body["metadata"] = metadata
    return body


# Resources Cinder lists that volumed does not have: always 0 allowed.
ABSENT_QUOTAS = {"groups": 0}


def quota_set(limits: dict[str, int], usage: quotas.Usage | None, project_id: str | None,
              per_volume_gigabytes: int) -> dict:
    """A quota set: each resource's limit, or with usage each resource's
    {limit, in_use, reserved, allocated}."""
    def entry(limit: int, in_use: int) -> int | dict:
        if usage is None:
            return limit
        return {"limit": limit, "in_use": in_use, "reserved": 0, "allocated": 0}

    body: dict = {"id": project_id} if project_id else {}
    for resource in quotas.RESOURCES:
        body[resource] = entry(limits[resource], usage[resource] if usage else 0)
    body["per_volume_gigabytes"] = entry(per_volume_gigabytes, 0)
    for resource, value in ABSENT_QUOTAS.items():
        body[resource] = entry(value, 0)
    return body


def absolute_limits(limits: dict[str, int], used: quotas.Usage) -> dict:
    """GET /limits: the project's limits and usage in Cinder's names."""
    return {"rate": [], "absolute": {
        "maxTotalVolumes": limits["volumes"], "maxTotalSnapshots": limits["snapshots"],
        "maxTotalVolumeGigabytes": limits["gigabytes"],
        "maxTotalBackups": limits["backups"],
        "maxTotalBackupGigabytes": limits["backup_gigabytes"],
        "totalVolumesUsed": used.volumes, "totalSnapshotsUsed": used.snapshots,
        "totalGigabytesUsed": used.gigabytes, "totalBackupsUsed": used.backups,
        "totalBackupGigabytesUsed": used.backup_gigabytes}}
