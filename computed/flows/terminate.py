"""Terminate: DELETE /servers/{id}, undoing a launch in reverse.

    API          task_state deleting; 204 (the server then answers 404 once gone)
    1. domain    powered off hard and undefined (with any saved memory); its
                 taps go with it (as Nova's delete: no graceful shutdown)
    2. ports     the ports computed made are deleted in networkd, the ones
                 the user passed are unbound (usable again), as Nova does
    3. volumes   each: its secret forgotten, its attachment deleted in volumed
                 (the export and CHAP account go, the volume is available
                 again with its data); deleted too if delete_on_termination
                 (2 and 3 at once: with the domain gone, neither needs the
                 other)
    3b. shelved  a shelved server's image is deleted (shelve.py), as Nova does
    4. disks     vda, vdb and swap removed where they lie (RBD images in
                 Ceph with images_type rbd); the instance directory (disk,
                 disk.local, disk.swap, disk.config, console.log,
                 libvirt.xml) renamed <uuid>_del, then removed; an
                 unconfirmed resize's <uuid>_resize too
    5. claim     the vCPUs, RAM and disk are free again; the server is
                 deleted (its record kept, as Nova keeps it), its console
                 tokens forgotten
The image and its cached base in _base are untouched.

A volume that cannot be detached, or a port that cannot be given back,
stops the delete (once the others of 2 and 3 were tried): the server goes
to ERROR with the reason (nothing is silently left attached) and the delete
can be asked again.
"""
from __future__ import annotations

import logging
import shutil
from functools import partial

from computed import consoleauth
from computed.db import repository as repo
from computed.db.models import BlockDeviceMapping
from computed.domain import states
from computed.flows import Deps, fault, ports
from computed.flows.shelve import delete_shelved_image
from computed.flows.volumes import release_volume
from shared.context import RequestContext
from shared.db import transaction
from shared.together import at_once

LOG = logging.getLogger(__name__)
VOLUME_ATTEMPTS = 3


class TerminateFailed(Exception):
    pass


def terminate(deps: Deps, ctx: RequestContext | None, uuid: str) -> None:
    caller = deps.caller(ctx)
    with deps.locks.hold(uuid):
        with transaction(deps.sessions) as session:
            instance = repo.get_instance(session, uuid, None, include_deleted=True)
            if instance.deleted:
                return
            deps.event(ctx, "compute.instance.delete.start", instance, session=session)
            domain_name = instance.domain_name
            volumes = list(instance.volumes)
        try:
            deps.driver.destroy(domain_name)                         # 1
            at_once(partial(ports.release_all, deps, caller, uuid),  # 2
                    *(partial(_release, deps, caller, bdm) for bdm in volumes))  # 3
            delete_shelved_image(deps, caller, uuid)                 # 3b
            _remove_files(deps, uuid)                                # 4
        except Exception as exc:
            LOG.exception("deleting server %s failed", uuid)
            with transaction(deps.sessions) as session:
                instance = repo.get_instance(session, uuid, None, include_deleted=True)
                instance.vm_state, instance.task_state = states.ERROR, None
                instance.power_state = _power_state_or_nostate(deps, domain_name)
                instance.fault = fault(f"Deleting the server failed: {exc}", exc)
                deps.event(ctx, "compute.instance.delete.error", instance, session=session,
                           reason=str(exc))
            return
        with transaction(deps.sessions) as session:                  # 5
            instance = repo.get_instance(session, uuid, None, include_deleted=True)
            now = repo.now()
            instance.vm_state, instance.task_state = states.DELETED, None
            instance.power_state = states.NOSTATE
            instance.claimed = False
            instance.deleted, instance.deleted_at, instance.terminated_at = True, now, now
            instance.updated_at = now
            for bdm in list(instance.block_devices):
                session.delete(bdm)
            for vif in list(instance.vifs):
                session.delete(vif)
            consoleauth.delete_for_instance(session, uuid)  # its console URLs open nothing
            deps.event(ctx, "compute.instance.delete.end", instance, session=session)


def _power_state_or_nostate(deps: Deps, domain_name: str) -> int:
    """What libvirt says of the domain, or NOSTATE when libvirt cannot be
    asked (it may be why the delete failed): the server must leave
    `deleting` either way, so that the delete can be asked again."""
    try:
        return deps.driver.power_state(domain_name)
    except Exception as exc:  # noqa: BLE001 - any failure of the hypervisor
        LOG.warning("the power state of %s is unknown: %s", domain_name, exc)
        return states.NOSTATE


def _release(deps: Deps, caller, bdm: BlockDeviceMapping) -> None:
    """Detach one volume through volumed, trying a few times; the mapping
    row goes once it is done (so a retried delete skips it)."""
    last = None
    for _attempt in range(VOLUME_ATTEMPTS):
        try:
            release_volume(deps, caller, bdm)
            break
        except Exception as exc:
            LOG.warning("detaching volume %s: %s", bdm.volume_id, exc)
            last = exc
    else:
        raise TerminateFailed(f"volume {bdm.volume_id} could not be detached: {last}")
    if bdm.delete_on_termination and bdm.volume_id:
        try:
            deps.volumes.delete_volume(caller, bdm.volume_id)
        except Exception as exc:  # Nova's _cleanup_volumes: logged, the delete goes on
            LOG.warning("volume %s was detached but not deleted: %s", bdm.volume_id, exc)
    with transaction(deps.sessions) as session:
        row = session.get(BlockDeviceMapping, bdm.id)
        if row is not None:
            session.delete(row)


def _remove_files(deps: Deps, uuid: str) -> None:
    """The disks where they lie; then the directory: renamed first, then
    removed (as Nova), so a half-removed directory is never mistaken for a
    server's."""
    deps.disks.remove(uuid)
    directory = deps.instance_dir(uuid)
    doomed = directory.with_name(f"{uuid}_del")
    if directory.exists():
        directory.rename(doomed)
    if doomed.exists():
        shutil.rmtree(doomed)
    # the old disks a resize or migration keeps until it is confirmed
    shutil.rmtree(directory.with_name(f"{uuid}_resize"), ignore_errors=True)
