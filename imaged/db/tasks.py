"""Import tasks: what imaged remembers about each import, and the one door
to the tasks table (the image tables have theirs in repository.py/sql.py).

A task is Glance's record of background work: created pending with the
import request, processing while the data is fetched, checked, converted
and stored, then success (result names the image) or failure (message says
why). Each change is one short transaction, recorded with its task.* event.
"""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import sessionmaker

from imaged.db.sql import changed_rows
from imaged.db.task_models import TaskRow
from imaged.domain.image import utcnow
from shared.db import transaction
from shared.events import Notifier

PENDING, PROCESSING, SUCCESS, FAILURE = "pending", "processing", "success", "failure"
COLUMNS = ("type", "status", "owner", "image_id", "user_id", "request_id", "input", "result",
           "message", "expires_at", "created_at", "updated_at")


@dataclass
class Task:
    type: str
    owner: str | None
    image_id: str | None
    input: dict
    user_id: str | None = None
    request_id: str | None = None
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    status: str = PENDING
    result: dict | None = None
    message: str = ""
    expires_at: dt.datetime | None = None
    created_at: dt.datetime = field(default_factory=utcnow)
    updated_at: dt.datetime = field(default_factory=utcnow)


class StaleTask(Exception):
    """The task was no longer in the expected status."""


class TaskRepository:
    def __init__(self, sessions: sessionmaker, notifier: Notifier):
        self._sessions = sessions
        self._notifier = notifier

    def _notify(self, session, task: Task, event_type: str, context: Any) -> None:
        self._notifier.notify(context, event_type, resource_type="task", resource_id=task.id,
                              project_id=task.owner, session=session, payload={
                                  "task_id": task.id, "type": task.type,
                                  "status": task.status, "image_id": task.image_id,
                                  "message": task.message, "result": task.result})

    def create(self, task: Task, context: Any = None) -> Task:
        with transaction(self._sessions) as session:
            session.execute(insert(TaskRow).values(
                id=task.id, **{name: getattr(task, name) for name in COLUMNS}))
            self._notify(session, task, "task.create", context)
        return task

    def get(self, task_id: str) -> Task | None:
        with transaction(self._sessions, write=False) as session:
            row = session.get(TaskRow, task_id)
            return _task(row) if row is not None else None

    def list_tasks(self, owner: str | None, image_id: str | None = None, limit: int = 1000,
                   now: dt.datetime | None = None) -> list[Task]:
        """Newest first; owner None means every project (admins). Tasks past
        their expires_at are left out (Glance's task_time_to_live)."""
        query = select(TaskRow)
        if owner is not None:
            query = query.where(TaskRow.owner == owner)
        if image_id is not None:
            query = query.where(TaskRow.image_id == image_id)
        query = query.where((TaskRow.expires_at.is_(None))
                            | (TaskRow.expires_at > (now or utcnow())))
        query = query.order_by(TaskRow.created_at.desc(), TaskRow.id.desc()).limit(limit)
        with transaction(self._sessions, write=False) as session:
            return [_task(row) for row in session.scalars(query)]

    def unfinished(self) -> list[Task]:
        """Tasks still pending or processing (at start: left by a stopped
        imaged-api, see imports/recovery.py)."""
        query = select(TaskRow).where(TaskRow.status.in_([PENDING, PROCESSING]))
        with transaction(self._sessions, write=False) as session:
            return [_task(row) for row in session.scalars(query)]

    def advance(self, task: Task, expected: Sequence[str], status: str, context: Any = None,
                **values) -> Task:
        """Compare-and-set the task's status (and result/message/expires_at)."""
        changed = replace(task, status=status, updated_at=utcnow(), **values)
        with transaction(self._sessions) as session:
            result = session.execute(update(TaskRow).where(
                TaskRow.id == task.id, TaskRow.status.in_(list(expected))).values(
                status=status, updated_at=changed.updated_at, **values))
            if changed_rows(result) != 1:
                raise StaleTask(task.id)
            self._notify(session, changed, f"task.{status}", context)
        return changed


def _task(row: TaskRow) -> Task:
    return Task(id=row.id, **{name: getattr(row, name) for name in COLUMNS})
