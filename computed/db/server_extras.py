"""What a server shows beyond its instances row, from microversions 2.3 to
2.26: its description (2.19), tags (2.26), whether it is locked (2.9) and
its root device name (2.3). Each lives in a table of its own (models.py
says why); these read and write them in the caller's session."""
from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from computed.db.models import (
    InstanceDescription,
    InstanceDeviceNames,
    InstanceLock,
    InstanceTag,
)


def description(session: Session, uuid: str) -> str | None:
    row = session.get(InstanceDescription, uuid)
    return row.description if row is not None else None


def set_description(session: Session, uuid: str, value: str | None) -> None:
    row = session.get(InstanceDescription, uuid)
    if row is None:
        session.add(InstanceDescription(instance_uuid=uuid, description=value))
    else:
        row.description = value


def tags(session: Session, uuid: str) -> list[str]:
    return list(session.scalars(select(InstanceTag.tag)
                                .where(InstanceTag.instance_uuid == uuid)
                                .order_by(InstanceTag.tag)))


def set_tags(session: Session, uuid: str, wanted: list[str]) -> list[str]:
    """Replace the server's tags (duplicates asked for count once)."""
    session.execute(delete(InstanceTag).where(InstanceTag.instance_uuid == uuid))
    session.flush()
    for tag in dict.fromkeys(wanted):
        session.add(InstanceTag(instance_uuid=uuid, tag=tag))
    session.flush()
    return tags(session, uuid)


def add_tag(session: Session, uuid: str, tag: str) -> None:
    session.add(InstanceTag(instance_uuid=uuid, tag=tag))


def remove_tag(session: Session, uuid: str, tag: str) -> bool:
    """False when the server has no such tag."""
    row = session.get(InstanceTag, (uuid, tag))
    if row is None:
        return False
    session.delete(row)
    return True


def tagged(session: Session) -> dict[str, set[str]]:
    """Every server's tags (for the listing's tag filters)."""
    result: dict[str, set[str]] = {}
    for uuid, tag in session.execute(select(InstanceTag.instance_uuid, InstanceTag.tag)):
        result.setdefault(uuid, set()).add(tag)
    return result


def locked(session: Session, uuid: str) -> bool:
    return session.get(InstanceLock, uuid) is not None


def root_device_name(session: Session, uuid: str) -> str | None:
    row = session.get(InstanceDeviceNames, uuid)
    return row.root_device_name if row is not None else None  # "/dev/vda"
