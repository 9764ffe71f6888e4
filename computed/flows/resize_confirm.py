"""Confirm or revert a resize (or cold migration) that is VERIFY_RESIZE, as
Nova's confirm_resize and revert_resize/finish_revert_resize do on one host.

    confirm
      API          vm_state resized and lock checked; the migration
                   finished -> confirming (a second confirm finds none: 400
                   "Instance has not been resized."); 202
      1. old disks <uuid>_resize removed
      2. claim     the old flavor freed; the migration confirmed
         done      ACTIVE, or SHUTOFF if the guest is off (as Nova reads the
                   power state)

    revert
      API          the same checks, and the old flavor's cores and RAM must
                   fit the quota again (a resize down went below it);
                   migration reverting, task_state resize_reverting; 202
      1. domain    the resized domain destroyed
      2. old disks the new <uuid> removed, <uuid>_resize renamed back: the
                   disks are as they were before the resize
      3. flavor    the old flavor back on the server; the new one freed
      4. domain    defined with the old vCPUs and RAM; started unless the
                   server was stopped before the resize
         done      ACTIVE (or SHUTOFF), the migration reverted

Neither has an undo: each step can be done again, and a failure leaves the
server in ERROR with the reason (after a restart reconcile.py finishes what
was begun, through recover_interrupted).
"""
from __future__ import annotations

import logging
import shutil

from sqlalchemy import select

from computed.db import repository as repo
from computed.db.models import Migration
from computed.domain import moves, states
from computed.flows import Deps, fault, respawn
from computed.flows.resize import resize_dir, set_flavor
from shared.context import RequestContext
from shared.db import transaction

LOG = logging.getLogger(__name__)


def confirm(deps: Deps, ctx: RequestContext | None, uuid: str, migration_id: int) -> None:
    with deps.locks.hold(uuid):
        try:
            respawn.event(deps, ctx, uuid, "compute.instance.resize.confirm.start")
            if resize_dir(deps, uuid).exists():
                shutil.rmtree(resize_dir(deps, uuid))                           # 1
            with transaction(deps.sessions) as session:                         # 2
                instance = repo.get_instance(session, uuid, None, include_deleted=True)
                migration = session.get_one(Migration, migration_id)
                migration.status, migration.held = moves.CONFIRMED, None
                migration.updated_at = repo.now()
                if instance.deleted or instance.vm_state != states.RESIZED:
                    return
                instance.power_state = deps.driver.power_state(instance.domain_name)
                instance.vm_state = states.STOPPED if instance.power_state in (
                    states.SHUTDOWN, states.CRASHED) else states.ACTIVE
                instance.updated_at = repo.now()
                deps.event(ctx, "compute.instance.resize.confirm.end", instance,
                           session=session)
        except Exception as exc:
            LOG.warning("confirming the resize of %s failed: %s", uuid, exc)
            _mark_error(deps, ctx, uuid, migration_id, "resize.confirm",
                        f"Confirming the resize failed: {exc}", exc)


def revert(deps: Deps, ctx: RequestContext | None, uuid: str, migration_id: int) -> None:
    with deps.locks.hold(uuid):
        try:
            instance = respawn.current(deps, uuid, states.RESIZE_REVERTING)
            respawn.event(deps, ctx, uuid, "compute.instance.resize.revert.start")
            deps.driver.destroy(instance.domain_name)                           # 1
            _restore_directory(deps, uuid)                                      # 2
            migration = _set_old_flavor(deps, uuid, migration_id)               # 3
            instance = respawn.current(deps, uuid, states.RESIZE_REVERTING)
            hw = respawn.hardware(deps, instance, respawn.image_record(deps, instance))
            disks = respawn.local_disk_files(deps, instance, hw) + \
                respawn.existing_config_drive(deps, instance, hw)
            power_on = migration.old_vm_state != states.STOPPED
            respawn.start(deps, respawn.guest_spec(deps, instance, hw, disks),
                          power_on)                                             # 4
            with transaction(deps.sessions) as session:
                instance = repo.get_instance(session, uuid, None, include_deleted=True)
                if instance.deleted or instance.task_state != states.RESIZE_REVERTING:
                    return
                instance.vm_state = states.ACTIVE if power_on else states.STOPPED
                instance.task_state = None
                instance.power_state = deps.driver.power_state(instance.domain_name)
                instance.updated_at = repo.now()
                row = session.get_one(Migration, migration_id)
                row.status, row.held, row.updated_at = moves.REVERTED, None, repo.now()
                deps.event(ctx, "compute.instance.resize.revert.end", instance,
                           session=session)
        except respawn.Gone:
            LOG.info("server %s was deleted during its revert", uuid)
        except Exception as exc:
            LOG.warning("reverting the resize of %s failed: %s", uuid, exc)
            _mark_error(deps, ctx, uuid, migration_id, "resize.revert",
                        f"Reverting the resize failed: {exc}", exc)


def _restore_directory(deps: Deps, uuid: str) -> None:
    """The old directory back in place (nothing to do when it already is)."""
    directory, aside = deps.instance_dir(uuid), resize_dir(deps, uuid)
    if aside.exists():
        shutil.rmtree(directory, ignore_errors=True)
        aside.rename(directory)


def _set_old_flavor(deps: Deps, uuid: str, migration_id: int) -> Migration:
    with transaction(deps.sessions) as session:
        migration = session.get_one(Migration, migration_id)
        set_flavor(session, repo.get_instance(session, uuid, None, include_deleted=True),
                   migration.old_flavor)
        migration.held = None
        return migration


def _mark_error(deps: Deps, ctx, uuid: str, migration_id: int, stem: str, message: str,
                exc: Exception | None) -> None:
    with transaction(deps.sessions) as session:
        instance = repo.get_instance(session, uuid, None, include_deleted=True)
        migration = session.get_one(Migration, migration_id)
        migration.status, migration.updated_at = moves.ERROR, repo.now()
        if instance.deleted or instance.task_state == states.DELETING:
            return
        instance.vm_state, instance.task_state = states.ERROR, None
        instance.power_state = deps.driver.power_state(instance.domain_name)
        instance.fault = fault(message, exc)
        instance.updated_at = repo.now()
        deps.event(ctx, f"compute.instance.{stem}.error", instance, session=session,
                   reason=message)


def recover_interrupted(deps: Deps, uuid: str, task_state: str | None) -> str:
    """After a restart, a move that was under way on this server: one still
    before VERIFY_RESIZE is rolled back (the old directory, flavor and
    domain back, as Nova's _init_instance reverts an interrupted
    resize_migrating), a revert is finished, a confirm is finished.
    Returns what was done."""
    with transaction(deps.sessions, write=False) as session:
        migration = session.scalars(select(Migration).where(
            Migration.instance_uuid == uuid, Migration.status.in_(moves.IN_PROGRESS))
            .order_by(Migration.id.desc())).first()
        migration_id = migration.id if migration is not None else None
        status = migration.status if migration is not None else None
    if migration_id is None:
        return "no migration"
    if status == moves.CONFIRMING:
        confirm(deps, None, uuid, migration_id)
        return "confirmed"
    if task_state in states.RESIZE_TASKS:
        with transaction(deps.sessions) as session:
            instance = repo.get_instance(session, uuid, None)
            instance.task_state = states.RESIZE_REVERTING   # revert() takes it from here
            session.get_one(Migration, migration_id).status = moves.REVERTING
        revert(deps, None, uuid, migration_id)
        with transaction(deps.sessions) as session:
            row = session.get_one(Migration, migration_id)
            if row.status == moves.REVERTED:
                row.status = moves.ERROR   # it never finished: Nova's migration error
        return "rolled back"
    if task_state == states.RESIZE_REVERTING:
        revert(deps, None, uuid, migration_id)
        return "reverted"
    return "left as it is"
