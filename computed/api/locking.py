"""Locked servers (`openstack server lock` / `unlock`), as Nova's 2.1:

    POST /servers/{id}/action {"lock": null}     202 (project member)
    POST /servers/{id}/action {"unlock": null}   202; a lock an admin set
                                                 only an admin lifts
                                                 (os-lock-server:unlock:unlock_override)

A lock is its project's ("owner") or an admin's of another project
("admin"), as Nova's locked_by: the owner locking a locked server changes
nothing, an admin from outside takes the lock over. Lifting a lock someone
else set needs unlock_override (Nova's is_expected_locked_by).

While a server is locked, a non-admin who deletes, stops, starts, reboots,
pauses, suspends it or attaches or detaches a volume or a port gets 409
"Instance <id> is locked" (Nova's check_instance_lock); admins pass. The
`locked` field of a server shows from 2.9 (api/server_versioned.py).
"""
from __future__ import annotations

from flask import Response

from computed.api.common import authorize, project_scope, runtime
from computed.db import repository as repo
from computed.db.models import Instance, InstanceLock
from shared.api import context
from shared.db import transaction
from shared.errors import Conflict


def require_unlocked(session, instance: Instance) -> None:
    """409 when the server is locked and the caller is no admin."""
    if context().is_admin:
        return
    if session.get(InstanceLock, instance.uuid) is not None:
        raise Conflict(f"Instance {instance.uuid} is locked")


def check_unlocked(server_id: str) -> None:
    """require_unlocked in a transaction of its own."""
    with transaction(runtime().deps.sessions, write=False) as session:
        require_unlocked(session, repo.get_instance(session, server_id, project_scope()))


def _locker(instance: Instance) -> str:
    """Who the caller locks as: "owner" from the server's project, else "admin"."""
    return "owner" if instance.project_id == context().project_id else "admin"


def lock(server_id: str) -> Response:
    ctx = context()
    with transaction(runtime().deps.sessions) as session:
        instance = repo.get_instance(session, server_id, project_scope())
        authorize("os-lock-server:lock", ctx, project_id=instance.project_id)
        held = session.get(InstanceLock, server_id)
        if held is None:
            session.add(InstanceLock(instance_uuid=server_id, locked_by=_locker(instance),
                                     created_at=repo.now()))
        elif _locker(instance) == "admin":
            held.locked_by = "admin"
    return Response(status=202)


def unlock(server_id: str) -> Response:
    ctx = context()
    with transaction(runtime().deps.sessions) as session:
        instance = repo.get_instance(session, server_id, project_scope())
        authorize("os-lock-server:unlock", ctx, project_id=instance.project_id)
        held = session.get(InstanceLock, server_id)
        if held is not None:
            if held.locked_by != _locker(instance):
                authorize("os-lock-server:unlock:unlock_override", ctx,
                          project_id=instance.project_id)
            session.delete(held)
    return Response(status=202)
