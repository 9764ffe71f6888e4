"""What every resource module does with the database: ids, Neutron's
standard attributes, tags, quota limits and counts. Each function takes the
caller's session, so a whole request stays one transaction (see
shared.db.transaction); none of them commits."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from networkd.db.models import Quota, Standard, Tag
from shared.events import utcnow


def new_id() -> str:
    return str(uuid.uuid4())


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        return False
    return True


def get(session: Session, model: type, resource_id: str) -> Any | None:
    """The row with this id, or None (also for an id that is not a UUID)."""
    return session.get(model, resource_id) if is_uuid(resource_id) else None


def touch(row: Standard) -> None:
    """A resource changed: a new revision (Neutron's revision_number, which
    clients send back in If-Match) and updated_at."""
    row.revision_number = (row.revision_number or 0) + 1
    row.updated_at = utcnow()


def timestamp(value: dt.datetime | None) -> str | None:
    """Neutron's time format: 2024-05-01T12:00:00Z."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def standard_fields(row: Any) -> dict:
    """The fields every resource shows: its project (also as tenant_id),
    description, times and revision."""
    return {"project_id": row.project_id, "tenant_id": row.project_id,
            "description": row.description or "",
            "created_at": timestamp(row.created_at), "updated_at": timestamp(row.updated_at),
            "revision_number": row.revision_number or 0}


# --- tags ------------------------------------------------------------------------------
def tags_of(session: Session, resource_type: str, ids: list[str]) -> dict[str, list[str]]:
    """Every resource's tags (sorted), [] for those without."""
    result: dict[str, list[str]] = {resource_id: [] for resource_id in ids}
    if not ids:
        return result
    for row in session.scalars(select(Tag).where(Tag.resource_type == resource_type,
                                                 Tag.resource_id.in_(ids))
                               .order_by(Tag.tag)):
        result.setdefault(row.resource_id, []).append(row.tag)
    return result


def set_tags(session: Session, resource_type: str, resource_id: str, tags: list[str]) -> None:
    delete_tags(session, resource_type, resource_id)
    for tag in sorted(set(tags)):
        session.add(Tag(resource_type=resource_type, resource_id=resource_id, tag=tag))


def add_tag(session: Session, resource_type: str, resource_id: str, tag: str) -> None:
    if session.get(Tag, (resource_type, resource_id, tag)) is None:
        session.add(Tag(resource_type=resource_type, resource_id=resource_id, tag=tag))


def remove_tag(session: Session, resource_type: str, resource_id: str, tag: str) -> bool:
    """False when the resource did not have the tag."""
    row = session.get(Tag, (resource_type, resource_id, tag))
    if row is None:
        return False
    session.delete(row)
    return True


def delete_tags(session: Session, resource_type: str, resource_id: str) -> None:
    session.execute(delete(Tag).where(Tag.resource_type == resource_type,
                                      Tag.resource_id == resource_id))


# --- quotas ----------------------------------------------------------------------------
def quota_limits(session: Session, project_id: str, defaults: dict[str, int]) -> dict[str, int]:
    """The project's limits: its own where set, the defaults elsewhere."""
    limits = dict(defaults)
    for row in session.scalars(select(Quota).where(Quota.project_id == project_id)):
        if row.resource in limits:
            limits[row.resource] = row.limit
    return limits


def set_quota_limit(session: Session, project_id: str, resource: str, limit: int) -> None:
    row = session.get(Quota, (project_id, resource))
    if row is None:
        session.add(Quota(project_id=project_id, resource=resource, limit=limit))
    else:
        row.limit = limit


def clear_quota_limits(session: Session, project_id: str) -> None:
    session.execute(delete(Quota).where(Quota.project_id == project_id))


def projects_with_quotas(session: Session) -> list[str]:
    return list(session.scalars(select(Quota.project_id).distinct().order_by(Quota.project_id)))


def count(session: Session, model: type, project_id: str, *conditions) -> int:
    """How many rows of `model` the project owns (a quota's usage)."""
    owner = model.project_id  # type: ignore[attr-defined]  # every resource model has one
    query = select(func.count()).select_from(model).where(owner == project_id, *conditions)
    return session.scalar(query) or 0
