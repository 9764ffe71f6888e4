"""Rebuild: the server made again from an image (the same or another),
keeping its id, name, ports, addresses, volumes and flavor, as Nova's
rebuild_instance does on the libvirt driver.

    API (the request)     state (active, stopped or error, no task) and lock
                          checked, the image checked against the flavor
                          (active, min_ram, min_disk, size, hw_* properties);
                          the server's image_ref, name and metadata changed;
                          task_state rebuilding; 202 with the server and
                          adminPass
    1. power off          rebuilding: the guest shut down (ACPI, then hard
                          after shutdown_timeout) and its domain undefined
    2. volumes            rebuild_block_device_mapping: the volumes stay
                          attached (their exports and secrets are kept)
    3. image              rebuild_spawning: the new image into the cache
                          (not when vda can be an RBD clone of it)
    4. disks              vda, vdb and swap made anew, as at launch: the old
                          root disk and everything written to it are gone
                          (and the console log starts anew)
                          undo: the new files removed
    5. config drive       written anew: the metadata shows the new image
    6. domain             defined and started; a server that was stopped is
                          only defined and stays stopped (SHUTOFF)
                          undo: the domain destroyed
       done               ACTIVE (or SHUTOFF), launched_at now

A failure from step 1 on leaves the server in ERROR with the reason (its old
root disk is already gone, as in Nova); what the rebuild made is removed.
`preserve_ephemeral` fails the rebuild before anything is touched, as Nova's
libvirt driver does (only Ironic keeps ephemeral partitions): ERROR with
"The current driver does not support preserving ephemeral partitions.".
"""
from __future__ import annotations

import logging
import time

from computed.db import repository as repo
from computed.db.models import Instance
from computed.domain import states
from computed.domain.image_properties import GuestHardware
from computed.flows import Deps, Undo, fault, respawn, server_disks
from computed.imagecache import CachedImage
from computed.virt.guest import FileDisk, LocalDisk
from shared.context import RequestContext
from shared.db import transaction
from shared.units import GiB

LOG = logging.getLogger(__name__)
PRESERVE_EPHEMERAL = "The current driver does not support preserving ephemeral partitions."
LOCAL_FILES = ("disk.config", "console.log")  # beside the disks


class RebuildFailed(Exception):
    """A step failed; the message names the step and the reason."""


def run(deps: Deps, ctx: RequestContext, uuid: str, image: dict,
        preserve_ephemeral: bool) -> None:
    """Rebuild the server (in a background thread) from `image`, imaged's
    record read and checked by the API request."""
    with deps.locks.hold(uuid):
        undo = Undo()
        started = time.monotonic()
        try:
            instance = respawn.current(deps, uuid, states.REBUILDING)
            power_on = instance.vm_state != states.STOPPED
            respawn.event(deps, ctx, uuid, "compute.instance.rebuild.start",
                          image_id=image["id"])
            if preserve_ephemeral:
                raise RebuildFailed(PRESERVE_EPHEMERAL)
            hw = _hardware(deps, instance, image)
            _power_off(deps, instance)                                       # 1
            respawn.next_task(deps, uuid, states.REBUILDING,
                              states.REBUILD_BLOCK_DEVICE_MAPPING)           # 2
            respawn.next_task(deps, uuid, states.REBUILD_BLOCK_DEVICE_MAPPING,
                              states.REBUILD_SPAWNING)
            location = deps.disks.clone_location(image)
            base = None if location else _cache_image(deps, ctx, instance, image)  # 3
            disks = _recreate_disks(deps, instance, base, location, hw, undo)  # 4
            disks += _config_drive(deps, instance, hw)                       # 5
            _start_domain(deps, instance, hw, disks, power_on, undo)         # 6
            _mark_done(deps, ctx, uuid, power_on, time.monotonic() - started)
        except respawn.Gone:
            LOG.info("server %s was deleted during its rebuild: undoing it", uuid)
            undo.run()
        except Exception as exc:
            LOG.warning("rebuilding server %s failed: %s", uuid, exc)
            problems = undo.run()
            _mark_error(deps, ctx, uuid, exc, problems)


# --- the steps ---------------------------------------------------------------------------
def _hardware(deps: Deps, instance: Instance, image: dict) -> GuestHardware:
    try:
        return respawn.hardware(deps, instance, image)
    except ValueError as exc:
        raise RebuildFailed(str(exc)) from exc


def _power_off(deps: Deps, instance: Instance) -> None:
    """rebuilding: a clean shutdown (the guest may flush its disks), then
    the domain undefined; its taps go with it. Nothing to undo: the old
    server is what the rebuild replaces."""
    try:
        if deps.driver.power_state(instance.domain_name) == states.RUNNING:
            deps.driver.power_off(instance.domain_name, deps.settings.shutdown_timeout)
        deps.driver.destroy(instance.domain_name)
    except Exception as exc:
        raise RebuildFailed(f"Powering off the server failed: {exc}") from exc


def _cache_image(deps: Deps, ctx, instance: Instance, image: dict) -> CachedImage:
    """rebuild_spawning: the image into _base (once per host), verified."""
    caller = deps.caller(ctx)

    def download(path, hash_algorithm):
        with open(path, "wb") as target:
            return deps.images.download(caller, image["id"], target.write,
                                        ("md5", hash_algorithm))

    try:
        base = deps.cache.fetch(image, download)
    except Exception as exc:
        raise RebuildFailed(f"Fetching image {image['id']} failed: {exc}") from exc
    if instance.root_gb and base.virtual_size > instance.root_gb * GiB:
        raise RebuildFailed(f"Flavor's disk is too small for requested image. Flavor disk "
                            f"is {instance.root_gb * GiB} bytes, image is "
                            f"{base.virtual_size} bytes.")
    return base


def _recreate_disks(deps: Deps, instance: Instance, base: CachedImage | None,
                    location: str | None, hw: GuestHardware,
                    undo: Undo) -> list[LocalDisk]:
    """The old local disks removed, new ones made as the launch makes them:
    vda on the new image, vdb and swap on formatted templates."""
    directory = deps.instance_dir(instance.uuid)
    for name in LOCAL_FILES:   # Nova's destroy removes it all
        (directory / name).unlink(missing_ok=True)
    deps.disks.remove(instance.uuid)
    undo.push("remove the new disks", lambda: _remove(deps, instance.uuid))
    try:
        server_disks.make(deps, instance, hw.disk_bus, base, location)
    except Exception as exc:
        raise RebuildFailed(f"Creating the server's disks failed: {exc}") from exc
    return respawn.local_disk_files(deps, instance, hw)


def _config_drive(deps: Deps, instance: Instance, hw: GuestHardware) -> list[FileDisk]:
    try:
        return respawn.config_drive(deps, instance, hw)
    except respawn.Gone:
        raise
    except Exception as exc:
        raise RebuildFailed(f"Building the config drive failed: {exc}") from exc


def _start_domain(deps: Deps, instance: Instance, hw: GuestHardware, disks: list[LocalDisk],
                  power_on: bool, undo: Undo) -> None:
    guest = respawn.guest_spec(deps, instance, hw, disks)
    undo.push("destroy the domain", lambda: deps.driver.destroy(instance.domain_name))
    try:
        respawn.start(deps, guest, power_on)
    except Exception as exc:
        raise RebuildFailed(f"Starting the domain failed: {exc}") from exc


def _mark_done(deps: Deps, ctx, uuid: str, power_on: bool, seconds: float) -> None:
    with transaction(deps.sessions) as session:
        instance = repo.get_instance(session, uuid, None, include_deleted=True)
        if instance.deleted or instance.task_state != states.REBUILD_SPAWNING:
            raise respawn.Gone()
        instance.vm_state = states.ACTIVE if power_on else states.STOPPED
        instance.task_state = None
        instance.power_state = deps.driver.power_state(instance.domain_name)
        instance.launched_at = instance.updated_at = repo.now()
        instance.progress = 100
        instance.fault = None
        deps.event(ctx, "compute.instance.rebuild.end", instance, session=session,
                   seconds=round(seconds, 3))


def _mark_error(deps: Deps, ctx, uuid: str, exc: Exception, problems: list[str]) -> None:
    message = str(exc) if isinstance(exc, RebuildFailed) else f"Rebuild failed: {exc}"
    if problems:
        message += " (and undoing it left problems: " + "; ".join(problems) + ")"
    with transaction(deps.sessions) as session:
        instance = repo.get_instance(session, uuid, None, include_deleted=True)
        if instance.deleted or instance.task_state == states.DELETING:
            return  # terminate.py takes it from here
        instance.vm_state, instance.task_state = states.ERROR, None
        instance.power_state = deps.driver.power_state(instance.domain_name)
        instance.fault = fault(message, exc)
        instance.updated_at = repo.now()
        deps.event(ctx, "compute.instance.rebuild.error", instance, session=session,
                   reason=message)


def _remove(deps: Deps, uuid: str) -> None:
    deps.disks.remove(uuid)
    (deps.instance_dir(uuid) / "disk.config").unlink(missing_ok=True)


def recover_interrupted(deps: Deps, uuid: str) -> None:
    """After a restart, a rebuild that was under way: its old disk may be
    gone already, so the server goes to ERROR, as Nova's _init_instance
    does; a rebuild can be asked again from there."""
    with transaction(deps.sessions) as session:
        instance = repo.get_instance(session, uuid, None)
        task_state = instance.task_state
        instance.vm_state, instance.task_state = states.ERROR, None
        instance.power_state = deps.driver.power_state(instance.domain_name)
        instance.fault = fault(f"computed restarted while the server was being rebuilt "
                               f"(task_state {task_state})")
        deps.event(None, "compute.instance.rebuild.error", instance, session=session,
                   reason="interrupted by a restart")
