"""Resize and cold migration on one host: the server moved to a new flavor
(or, for a migration, to the same one), as Nova's prep_resize,
resize_instance and finish_resize do with allow_resize_to_same_host.

    API (the request)     state (active or stopped, no task) and lock checked;
                          a resize: the new flavor exists, differs, keeps a
                          root disk, fits the image and the project's quota;
                          a migration record (pre-migrating); task_state
                          resize_prep; 202
    1. claim              resize_prep: the new flavor must fit beside the old
                          one (both stay claimed until confirm or revert),
                          else "No valid host was found"; a disk that would
                          shrink is refused (libvirt's "Unable to resize disk
                          down.")
                          undo: the claim freed
    2. power off          resize_migrating (migration: migrating): the guest
                          shut down, its domain undefined
                          undo: the old domain defined again (and started)
    3. set aside          <uuid> renamed <uuid>_resize (Nova's), a new <uuid>
                          with copies of disk and disk.local (the swap is made
                          anew, as Nova does)
                          undo: the new directory removed, the old renamed back
    4. grow               resize_migrated, then resize_finish: the flavor
                          switched; vda grown to the new root disk, vdb to
                          the new ephemeral size, swap and config drive anew
    5. domain             defined with the new vCPUs and RAM and started; a
                          stopped server is only defined (it stays stopped)
                          undo: the domain destroyed, the old flavor back
       done               VERIFY_RESIZE (vm_state resized), migration
                          finished; <uuid>_resize kept for a revert

A failure undoes what was done and puts the server back as it was (active
or stopped) with the reason as its fault, the migration in error, as Nova's
InstanceFaultRollback does for its pre-checks; if the undo itself leaves
problems, the server goes to ERROR. resize_confirm.py confirms or reverts.
"""
from __future__ import annotations

import logging
import shutil
from pathlib import Path

from computed.db import repository as repo
from computed.db.models import Instance, Migration
from computed.domain import moves, states
from computed.domain.claims import no_valid_host_message, shortfall
from computed.domain.image_properties import GuestHardware
from computed.flows import Deps, Undo, fault, respawn
from computed.virt import qemu_img
from computed.virt.imagebackend import EPHEMERAL, SWAP
from shared.context import RequestContext
from shared.db import transaction
from shared.units import GiB, MiB

LOG = logging.getLogger(__name__)
COPIED = ("disk", "disk.local")        # the swap and config drive are made anew


class ResizeFailed(Exception):
    """A step failed; the message is the server's fault."""


def resize_dir(deps: Deps, uuid: str) -> Path:
    return deps.instance_dir(uuid).with_name(f"{uuid}_resize")


def run(deps: Deps, ctx: RequestContext, uuid: str, migration_id: int) -> None:
    """Resize or migrate the server (in a background thread)."""
    with deps.locks.hold(uuid):
        undo = Undo()
        old_vm_state = states.ACTIVE
        try:
            instance = respawn.current(deps, uuid, states.RESIZE_PREP)
            old_vm_state = instance.vm_state
            migration = _migration(deps, migration_id)
            hw = respawn.hardware(deps, instance, respawn.image_record(deps, instance))
            respawn.event(deps, ctx, uuid, "compute.instance.resize.prep.start")
            _claim(deps, instance, migration, undo)                         # 1
            respawn.event(deps, ctx, uuid, "compute.instance.resize.prep.end",
                          new_flavor=migration.new_flavor["name"])
            _next(deps, uuid, states.RESIZE_PREP, states.RESIZE_MIGRATING,
                  migration_id, moves.MIGRATING)
            respawn.event(deps, ctx, uuid, "compute.instance.resize.start")
            _power_off(deps, instance, hw, old_vm_state, undo)               # 2
            _set_aside(deps, uuid, undo)                                     # 3
            _next(deps, uuid, states.RESIZE_MIGRATING, states.RESIZE_MIGRATED,
                  migration_id, moves.POST_MIGRATING)
            respawn.event(deps, ctx, uuid, "compute.instance.resize.end")
            respawn.next_task(deps, uuid, states.RESIZE_MIGRATED, states.RESIZE_FINISH)
            respawn.event(deps, ctx, uuid, "compute.instance.finish_resize.start")
            instance = _switch_flavor(deps, uuid, migration, undo)          # 4
            hw = respawn.hardware(deps, instance, respawn.image_record(deps, instance))
            disks = _grow_disks(deps, instance, migration, hw)
            disks += respawn.config_drive(deps, instance, hw)
            _start_domain(deps, instance, hw, disks, old_vm_state, undo)     # 5
            _mark_resized(deps, ctx, uuid, migration_id)
        except respawn.Gone:
            LOG.info("server %s was deleted during its resize: undoing it", uuid)
            undo.run()
            _set_migration(deps, migration_id, moves.ERROR)
        except Exception as exc:
            LOG.warning("resizing server %s failed: %s", uuid, exc)
            problems = undo.run()
            _rolled_back(deps, ctx, uuid, migration_id, old_vm_state, exc, problems)


# --- the steps ---------------------------------------------------------------------------
def _claim(deps: Deps, instance: Instance, migration: Migration, undo: Undo) -> None:
    """The new flavor claimed beside the old one, in one write transaction."""
    if moves.disk_down(migration.old_flavor, migration.new_flavor):
        raise ResizeFailed(moves.DISK_DOWN)
    wanted = moves.flavor_claim(migration.new_flavor)
    inventory = deps.inventory()
    with transaction(deps.sessions) as session:
        reason = shortfall(inventory, repo.claimed_usage(session), wanted)
        if reason:
            raise ResizeFailed(no_valid_host_message(reason))
        session.get_one(Migration, migration.id).held = moves.held(wanted)
    undo.push("free the new flavor's claim", lambda: _hold(deps, migration.id, None))


def _power_off(deps: Deps, instance: Instance, hw: GuestHardware, old_vm_state: str,
               undo: Undo) -> None:
    """resize_migrating: a clean shutdown, then the domain undefined."""
    disks = respawn.local_disk_files(deps, instance, hw) + \
        respawn.existing_config_drive(deps, instance, hw)
    guest = respawn.guest_spec(deps, instance, hw, disks)
    try:
        if deps.driver.power_state(instance.domain_name) == states.RUNNING:
            deps.driver.power_off(instance.domain_name, deps.settings.shutdown_timeout)
        deps.driver.destroy(instance.domain_name)
    except Exception as exc:
        raise ResizeFailed(f"Powering off the server failed: {exc}") from exc
    undo.push("start the old domain again", lambda: respawn.start(
        deps, guest, old_vm_state != states.STOPPED))


def _set_aside(deps: Deps, uuid: str, undo: Undo) -> None:
    """<uuid> -> <uuid>_resize, and a new <uuid> with copies of the disks
    (each a qcow2 overlay on the same base in _base: a copy is small)."""
    directory = deps.instance_dir(uuid)
    aside = resize_dir(deps, uuid)
    shutil.rmtree(aside, ignore_errors=True)  # a failed earlier resize's leftovers
    directory.rename(aside)
    undo.push("put the old instance directory back", lambda: _put_back(directory, aside))
    mode = deps.driver.instance_dir_mode()
    directory.mkdir(mode=mode)
    directory.chmod(mode)
    (directory / "console.log").touch(mode=0o600)
    try:
        for name in COPIED:
            if (aside / name).exists():
                shutil.copy2(aside / name, directory / name)
    except OSError as exc:
        raise ResizeFailed(f"Copying the server's disks failed: {exc}") from exc


def _switch_flavor(deps: Deps, uuid: str, migration: Migration, undo: Undo) -> Instance:
    """The server takes the new flavor; the migration now holds the old one
    (for a revert) until confirm or revert."""
    _set_flavor(deps, uuid, migration.id, migration.new_flavor,
                moves.held(moves.flavor_claim(migration.old_flavor)))
    undo.push("give the server its old flavor back", lambda: _set_flavor(
        deps, uuid, migration.id, migration.old_flavor,
        moves.held(moves.flavor_claim(migration.new_flavor))))
    return respawn.current(deps, uuid, states.RESIZE_FINISH)


def _grow_disks(deps: Deps, instance: Instance, migration: Migration,
                hw: GuestHardware):
    """vda to the new root size, vdb to the new ephemeral size (a new one if
    the old flavor had none), the swap made anew at its new size."""
    directory = deps.instance_dir(instance.uuid)
    try:
        if instance.root_gb:
            qemu_img.resize(directory / "disk", "qcow2", instance.root_gb * GiB)
        if instance.ephemeral_gb:
            local = directory / "disk.local"
            if local.exists():
                qemu_img.resize(local, "qcow2", instance.ephemeral_gb * GiB)
            else:
                deps.disks.create_scratch(instance.uuid, EPHEMERAL, deps.cache.ephemeral_template(
                    instance.ephemeral_gb, deps.settings.ephemeral_format),
                    instance.ephemeral_gb * GiB)
        if instance.swap:
            deps.disks.create_scratch(instance.uuid, SWAP,
                                      deps.cache.swap_template(instance.swap),
                                      instance.swap * MiB)
    except Exception as exc:
        raise ResizeFailed(f"Resizing the server's disks failed: {exc}") from exc
    return respawn.local_disk_files(deps, instance, hw)


def _start_domain(deps: Deps, instance: Instance, hw: GuestHardware, disks,
                  old_vm_state: str, undo: Undo) -> None:
    """The domain with the new flavor's vCPUs and RAM (the old definition is
    replaced); started unless the server was stopped."""
    guest = respawn.guest_spec(deps, instance, hw, disks)
    undo.push("destroy the resized domain", lambda: deps.driver.destroy(instance.domain_name))
    try:
        respawn.start(deps, guest, old_vm_state != states.STOPPED)
    except Exception as exc:
        raise ResizeFailed(f"Starting the resized domain failed: {exc}") from exc


def _mark_resized(deps: Deps, ctx, uuid: str, migration_id: int) -> None:
    with transaction(deps.sessions) as session:
        instance = repo.get_instance(session, uuid, None, include_deleted=True)
        if instance.deleted or instance.task_state != states.RESIZE_FINISH:
            raise respawn.Gone()
        instance.vm_state, instance.task_state = states.RESIZED, None
        instance.power_state = deps.driver.power_state(instance.domain_name)
        instance.progress = 100
        instance.updated_at = repo.now()
        migration = session.get_one(Migration, migration_id)
        migration.status, migration.updated_at = moves.FINISHED, repo.now()
        deps.event(ctx, "compute.instance.finish_resize.end", instance, session=session,
                   new_flavor=instance.flavor.get("name"))


def _rolled_back(deps: Deps, ctx, uuid: str, migration_id: int, old_vm_state: str,
                 exc: Exception, problems: list[str]) -> None:
    """Back as it was (the undo ran), with the reason as the fault; ERROR if
    the undo left problems."""
    message = str(exc) if isinstance(exc, ResizeFailed) else f"Resize error: {exc}"
    if problems:
        message += " (and undoing it left problems: " + "; ".join(problems) + ")"
    with transaction(deps.sessions) as session:
        instance = repo.get_instance(session, uuid, None, include_deleted=True)
        migration = session.get_one(Migration, migration_id)
        migration.status, migration.held, migration.updated_at = moves.ERROR, None, repo.now()
        if instance.deleted or instance.task_state == states.DELETING:
            return
        instance.vm_state = states.ERROR if problems else old_vm_state
        instance.task_state = None
        instance.power_state = deps.driver.power_state(instance.domain_name)
        instance.fault = fault(message, exc)
        instance.updated_at = repo.now()
        deps.event(ctx, "compute.instance.resize.error", instance, session=session,
                   reason=message)


# --- helpers -----------------------------------------------------------------------------
def _migration(deps: Deps, migration_id: int) -> Migration:
    with transaction(deps.sessions, write=False) as session:
        return session.get_one(Migration, migration_id)


def _next(deps: Deps, uuid: str, expected: str, task_state: str, migration_id: int,
          status: str) -> None:
    respawn.next_task(deps, uuid, expected, task_state)
    _set_migration(deps, migration_id, status)


def _set_migration(deps: Deps, migration_id: int, status: str) -> None:
    with transaction(deps.sessions) as session:
        migration = session.get_one(Migration, migration_id)
        migration.status, migration.updated_at = status, repo.now()
        if status == moves.ERROR:
            migration.held = None


def _hold(deps: Deps, migration_id: int, held: dict | None) -> None:
    with transaction(deps.sessions) as session:
        session.get_one(Migration, migration_id).held = held


def set_flavor(session, instance: Instance, flavor: dict) -> None:
    """The instance's copy of its flavor and the sizes taken from it."""
    instance.flavor = dict(flavor)
    instance.vcpus, instance.memory_mb = flavor["vcpus"], flavor["ram"]
    instance.root_gb, instance.ephemeral_gb = flavor["disk"], flavor.get("ephemeral", 0)
    instance.swap = flavor.get("swap", 0)
    instance.updated_at = repo.now()


def _set_flavor(deps: Deps, uuid: str, migration_id: int, flavor: dict,
                held: dict | None) -> None:
    with transaction(deps.sessions) as session:
        set_flavor(session, repo.get_instance(session, uuid, None, include_deleted=True),
                   flavor)
        session.get_one(Migration, migration_id).held = held


def _put_back(directory: Path, aside: Path) -> None:
    if aside.exists():
        shutil.rmtree(directory, ignore_errors=True)
        aside.rename(directory)
