"""The notification bus: every service records what happened.

An event has a type in OpenStack's notation (image.create,
compute.instance.create.end, identity.project.created...), the resource it is
about, the project, the request id that caused it, a time and a payload.
Each service writes its events into its own database (in the same place as
the change itself), logs them, and serves them back through
GET /pocketstack/v1/events, which the dashboard and the labs read.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from typing import Any

from sqlalchemy import JSON, DateTime, Index, String, insert, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from shared import stephold
from shared.context import RequestContext
from shared.db import create_all, transaction

LOG = logging.getLogger(__name__)


class EventBase(DeclarativeBase):
    pass


class Event(EventBase):
    __tablename__ = "events"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(255))
    resource_type: Mapped[str | None] = mapped_column(String(64))
    resource_id: Mapped[str | None] = mapped_column(String(64))
    project_id: Mapped[str | None] = mapped_column(String(64))
    user_id: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))
    publisher: Mapped[str] = mapped_column(String(64))
    timestamp: Mapped[dt.datetime] = mapped_column(DateTime)
    payload: Mapped[dict] = mapped_column(JSON)

    __table_args__ = (
        Index("ix_events_type_time", "event_type", "timestamp"),
        Index("ix_events_resource", "resource_id"),
        Index("ix_events_time", "timestamp"),
    )

    def to_json(self) -> dict:
        return {"id": self.id, "event_type": self.event_type,
                "resource_type": self.resource_type, "resource_id": self.resource_id,
                "project_id": self.project_id, "user_id": self.user_id,
                "request_id": self.request_id, "publisher": self.publisher,
                "timestamp": self.timestamp.isoformat() + "Z", "payload": self.payload}


INSERT_EVENT = insert(Event)


def create_tables(engine) -> None:
    create_all(engine, EventBase.metadata)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Notifier:
    """Records events for one service (the publisher)."""

    def __init__(self, publisher: str, sessions: sessionmaker):
        self.publisher = publisher
        self._sessions = sessions

    def notify(self, context: RequestContext | None, event_type: str, *,
               resource_type: str | None = None, resource_id: str | None = None,
               project_id: str | None = None, payload: dict[str, Any] | None = None,
               session: Session | None = None) -> None:
        """Record an event. Pass the caller's session to record it in the same
        transaction as the change it describes."""
        row = dict(id=str(uuid.uuid4()), event_type=event_type,
                   resource_type=resource_type, resource_id=resource_id,
                   project_id=project_id or (context.project_id if context else None),
                   user_id=context.user_id if context else None,
                   request_id=context.request_id if context else None,
                   publisher=self.publisher, timestamp=utcnow(),
                   payload=json.loads(json.dumps(payload or {}, default=str)))
        # A plain INSERT: an ORM object would cost a unit-of-work flush for a
        # row nobody reads back in this transaction.
        if session is not None:
            session.execute(INSERT_EVENT, row)
            stephold.event_recorded(event_type, resource_id)  # test-only, off by default
        else:
            with transaction(self._sessions) as own:
                own.execute(INSERT_EVENT, row)
                stephold.event_recorded(event_type, resource_id)
        LOG.info("event %s resource=%s project=%s", event_type, resource_id, row["project_id"])


def parse_time(value: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed


def query_events(session: Session, *, project_id: str | None, event_type: str | None = None,
                 resource_id: str | None = None, since: dt.datetime | None = None,
                 until: dt.datetime | None = None, limit: int = 100) -> list[Event]:
    """Events, newest first. project_id=None means every project (admins).
    An event_type ending in '*' matches a prefix (image.* or compute.instance.*)."""
    query = select(Event)
    if project_id is not None:
        query = query.where(Event.project_id == project_id)
    if event_type:
        if event_type.endswith("*"):
            query = query.where(Event.event_type.startswith(event_type[:-1]))
        else:
            query = query.where(Event.event_type == event_type)
    if resource_id:
        query = query.where(Event.resource_id == resource_id)
    if since:
        query = query.where(Event.timestamp >= since)
    if until:
        query = query.where(Event.timestamp <= until)
    query = query.order_by(Event.timestamp.desc()).limit(limit)
    return list(session.scalars(query))


def request_id_of(sessions: sessionmaker, resource_id: str, event_type: str) -> str | None:
    """The id of the request that caused the latest `event_type` event about
    the resource (for work done later on its behalf, such as the scrubber's
    removal of the data a DELETE left pending), or None if none is recorded."""
    with transaction(sessions, write=False) as session:
        return session.scalar(select(Event.request_id)
                              .where(Event.resource_id == resource_id,
                                     Event.event_type == event_type)
                              .order_by(Event.timestamp.desc()).limit(1))
