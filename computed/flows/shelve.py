"""Shelve, shelve offload and unshelve: a server put away with its root
disk kept as an image, its host resources given back, and brought back.

Shelve (POST action {"shelve": null}, Nova's shelve_instance):
    API        task_state shelving; the image "<name>-shelved" is created in
               imaged (queued, image_type=snapshot, instance_uuid ...: the
               same record createImage makes); 202
    1. power   the guest is powered off (ACPI button, then hard after
               shutdown_timeout; at once if it is paused)
    2. image   shelving_image_pending_upload, shelving_image_uploading: vda
               copied and uploaded (snapshot.copy_and_upload)
    3. shelved vm_state shelved (the image's id kept in instance_shelved);
               with [compute] shelved_offload_time = 0 (Nova's default) the
               offload follows at once, task_state shelving_offloading
    A failure in 1-2 deletes the image; the server stays as it was (powered
    off: the power sync makes it SHUTOFF), with the reason as its fault.

Shelve offload ({"shelveOffload": null}, admins; or right after shelve):
    1. ports   unbound from this host (binding:host_id cleared); they stay
               the server's, with their addresses, as in Nova
    2. domain  destroyed and undefined
    3. volumes each disconnected: its secret forgotten, its attachment
               deleted and a new one reserved without a connector (Nova's
               _terminate_volume_connections), so the volume stays the
               server's while nothing on the host reaches it
    4. files   the instance directory (vda, vdb, config drive, console log)
               removed
    5. claim   vCPUs, RAM and disk free again; vm_state shelved_offloaded,
               host and node empty
    A failure leaves the server shelved (task_state None), with a fault.

Unshelve ({"unshelve": null}):
    API        task_state unshelving (locked: 409)
    shelved    (not offloaded) the domain is still defined: powered on
    offloaded  a build from the shelved image, as launch.py does it:
      1. image   the shelved image must still exist (else ERROR, as Nova)
      2. claim   task_state spawning; the flavor must fit on the host
      3. ports   bound to this host again
      4. volumes connected again (new exports, new CHAP secrets)
      5. disks   vda = a standalone qcow2 of the shelved image (the image
                 is deleted below, so nothing may depend on it), grown to
                 the flavor's root disk; vdb, swap: new and empty, as Nova
                 makes them
      6. config drive, domain, vifs plugged, volumes in-use: launch.py's
                 steps 6-9
      7. active  the shelved image is deleted; vm_state active
    A failure undoes what was done, in reverse, and leaves the server
    shelved_offloaded (task_state None) with the reason as its fault.
"""
from __future__ import annotations

import logging
import os
import shutil
import time
from functools import partial

from computed.db import repository as repo
from computed.db.models import BlockDeviceMapping, Instance, InstanceShelved
from computed.domain import states
from computed.domain.devices import local_disks
from computed.domain.image_properties import GuestHardware
from computed.flows import Deps, Undo, fault, finish_task, launch, ports, server_disks, snapshot
from computed.imagecache import CachedImage
from computed.virt.guest import LocalDisk
from shared.clients import Caller, RemoteError
from shared.context import RequestContext
from shared.db import transaction
from shared.errors import ApiError, Conflict

LOG = logging.getLogger(__name__)
SHELVE_IMAGE_TASKS = (states.SHELVING, states.SHELVING_IMAGE_PENDING_UPLOAD,
                      states.SHELVING_IMAGE_UPLOADING)


class UnshelveFailed(Exception):
    """A step of unshelve failed; the message says which and why."""


# --- shelve ------------------------------------------------------------------------------
def begin_shelve(deps: Deps, ctx: RequestContext, uuid: str, project_scope) -> str:
    """In the request: check the state, set shelving, create the image.
    A volume-backed server (no image) is refused: Nova offloads it at once
    and boots it from its volume again, which unshelve does not do here."""
    with transaction(deps.sessions) as session:
        instance = repo.get_instance(session, uuid, project_scope)
        states.check("shelve", uuid, instance.vm_state, instance.task_state, instance.host)
        if not instance.image_ref:
            raise Conflict(f"Cannot shelve volume-backed instance {uuid}: unshelving it "
                           f"from its volume is not supported here.")
        repo.begin_task(session, instance, "shelve")
        deps.event(ctx, "compute.instance.shelve.start", instance, session=session)
    try:
        image = snapshot.create_image(deps, ctx, instance, f"{instance.display_name}-shelved",
                                      "snapshot", {})
    except ApiError:
        finish_task(deps, uuid, states.SHELVING, task_state=None)
        raise
    return image["id"]


def shelve(deps: Deps, ctx: RequestContext, uuid: str, image_id: str | None) -> None:
    """In the background: steps 1-3, then the offload when it is due now."""
    caller = deps.caller(ctx)
    with deps.locks.hold(uuid):
        domain_name = _domain_name(deps, uuid)
        try:
            _power_off(deps, domain_name)                                      # 1
            if image_id is not None:
                snapshot.copy_and_upload(deps, caller, uuid, image_id,
                                         SHELVE_IMAGE_TASKS)                   # 2
        except Exception as exc:
            LOG.warning("shelving server %s failed: %s", uuid, exc)
            if image_id is not None:
                _delete_image(deps, caller, image_id)
            for task in SHELVE_IMAGE_TASKS:
                if finish_task(deps, uuid, task, task_state=None,
                               power_state=deps.driver.power_state(domain_name),
                               fault=fault(f"Shelve failed: {exc}", exc)):
                    _event(deps, ctx, uuid, "compute.instance.shelve.error",
                           reason=str(exc))
            return
        offload_now = deps.settings.shelved_offload_time == 0
        if not _mark_shelved(deps, ctx, uuid, image_id, offload_now):      # 3
            return  # a delete took over
        if offload_now:
            _offload(deps, ctx, caller, uuid)


def _power_off(deps: Deps, domain_name: str) -> None:
    """A clean shutdown, unless the guest is paused (it cannot react)."""
    if deps.driver.power_state(domain_name) == states.NOSTATE:
        return
    deps.driver.power_off(domain_name, deps.settings.shutdown_timeout)


def _mark_shelved(deps: Deps, ctx, uuid: str, image_id: str | None,
                  offload_now: bool) -> bool:
    expected = states.SHELVING_IMAGE_UPLOADING if image_id else states.SHELVING
    with transaction(deps.sessions) as session:
        instance = repo.get_instance(session, uuid, None, include_deleted=True)
        if instance.deleted or instance.task_state != expected:
            return False
        instance.vm_state = states.SHELVED
        instance.task_state = states.SHELVING_OFFLOADING if offload_now else None
        instance.power_state = deps.driver.power_state(instance.domain_name)
        instance.updated_at = repo.now()
        if image_id is not None:
            session.merge(InstanceShelved(instance_uuid=uuid, image_id=image_id,
                                          shelved_host=deps.settings.host,
                                          shelved_at=repo.now()))
        deps.event(ctx, "compute.instance.shelve.end", instance, session=session,
                   image_id=image_id)
    return True


# --- shelve offload ----------------------------------------------------------------------
def begin_offload(deps: Deps, ctx: RequestContext, uuid: str, project_scope) -> None:
    with transaction(deps.sessions) as session:
        instance = repo.get_instance(session, uuid, project_scope)
        repo.begin_task(session, instance, "shelveOffload")


def shelve_offload(deps: Deps, ctx: RequestContext, uuid: str) -> None:
    with deps.locks.hold(uuid):
        _offload(deps, ctx, deps.caller(ctx), uuid)


def _offload(deps: Deps, ctx, caller: Caller, uuid: str) -> None:
    """Steps 1-5 of the offload, the server being shelved/shelving_offloading."""
    with transaction(deps.sessions) as session:
        instance = repo.get_instance(session, uuid, None, include_deleted=True)
        if instance.deleted or instance.task_state != states.SHELVING_OFFLOADING:
            return
        deps.event(ctx, "compute.instance.shelve_offload.start", instance, session=session)
        domain_name = instance.domain_name
        vif_ports = [vif.port_id for vif in instance.vifs]
        volumes = list(instance.volumes)
    try:
        _power_off(deps, domain_name)
        for port_id in vif_ports:                                               # 1
            _unbind(deps, port_id)
        deps.driver.destroy(domain_name)                                        # 2
        for bdm in volumes:                                                     # 3
            disconnect_volume(deps, caller, uuid, bdm.id)
        _remove_instance_dir(deps, uuid)                                        # 4
    except Exception as exc:
        LOG.warning("offloading shelved server %s failed: %s", uuid, exc)
        if finish_task(deps, uuid, states.SHELVING_OFFLOADING, task_state=None,
                       fault=fault(f"Shelve offload failed: {exc}", exc)):
            _event(deps, ctx, uuid, "compute.instance.shelve_offload.error",
                   reason=str(exc))
        return
    with transaction(deps.sessions) as session:                                 # 5
        instance = repo.get_instance(session, uuid, None, include_deleted=True)
        if instance.task_state != states.SHELVING_OFFLOADING:
            return
        instance.vm_state, instance.task_state = states.SHELVED_OFFLOADED, None
        instance.power_state = states.SHUTDOWN
        instance.claimed = False
        instance.host = instance.node = None
        instance.updated_at = repo.now()
        deps.event(ctx, "compute.instance.shelve_offload.end", instance, session=session)


def disconnect_volume(deps: Deps, caller: Caller, uuid: str, bdm_id: int) -> None:
    """The volume stays the server's, unreachable from the host: the secret
    goes, the attachment (and with it volumed's export) is deleted and a new
    one is reserved, without a connector. volumed refuses a second
    attachment of a volume, so the old one goes first (Nova makes the new
    one first)."""
    with transaction(deps.sessions, write=False) as session:
        bdm = session.get_one(BlockDeviceMapping, bdm_id)
        volume_id, attachment_id, secret_uuid = bdm.volume_id, bdm.attachment_id, \
            bdm.secret_uuid
    if secret_uuid:
        deps.driver.delete_volume_secret(secret_uuid)
    if attachment_id:
        deps.volumes.delete_attachment(caller, attachment_id)
    new_attachment = deps.volumes.reserve(caller, volume_id or "", uuid)
    with transaction(deps.sessions) as session:
        bdm = session.get_one(BlockDeviceMapping, bdm_id)
        bdm.attachment_id, bdm.secret_uuid, bdm.connection = new_attachment, None, None
        bdm.status = "attaching"  # attached again by unshelve


def _disconnect_all(deps: Deps, caller: Caller, uuid: str) -> None:
    """Every volume of the server that was connected (has connection_info)."""
    with transaction(deps.sessions, write=False) as session:
        connected = [bdm.id for bdm in repo.get_instance(session, uuid, None,
                                                         include_deleted=True).volumes
                     if bdm.connection is not None]
    for bdm_id in connected:
        disconnect_volume(deps, caller, uuid, bdm_id)


# --- unshelve ----------------------------------------------------------------------------
def begin_unshelve(deps: Deps, ctx: RequestContext, uuid: str, project_scope) -> None:
    with transaction(deps.sessions) as session:
        instance = repo.get_instance(session, uuid, project_scope)
        repo.begin_task(session, instance, "unshelve")
        deps.event(ctx, "compute.instance.unshelve.start", instance, session=session)


def unshelve(deps: Deps, ctx: RequestContext, uuid: str) -> None:
    caller = deps.caller(ctx)
    with deps.locks.hold(uuid):
        with transaction(deps.sessions, write=False) as session:
            instance = repo.get_instance(session, uuid, None, include_deleted=True)
            if instance.deleted or instance.task_state != states.UNSHELVING:
                return
            offloaded = instance.vm_state == states.SHELVED_OFFLOADED
            shelved = session.get(InstanceShelved, uuid)
            image_id = shelved.image_id if shelved else None
        if offloaded:
            _unshelve_offloaded(deps, ctx, caller, uuid, image_id)
        else:
            _unshelve_in_place(deps, ctx, caller, uuid, image_id)


def _unshelve_in_place(deps: Deps, ctx, caller: Caller, uuid: str,
                       image_id: str | None) -> None:
    """Shelved but not offloaded: the domain is there, it is started again."""
    domain_name = _domain_name(deps, uuid)
    try:
        deps.driver.power_on(domain_name)
    except Exception as exc:
        if finish_task(deps, uuid, states.UNSHELVING, task_state=None,
                       fault=fault(f"Unshelve failed: {exc}", exc)):
            _event(deps, ctx, uuid, "compute.instance.unshelve.error", reason=str(exc))
        return
    _mark_active(deps, ctx, caller, uuid, image_id, states.UNSHELVING)


def _unshelve_offloaded(deps: Deps, ctx, caller: Caller, uuid: str,
                        image_id: str | None) -> None:
    undo = Undo()
    started = time.monotonic()
    try:
        image = _shelved_image(deps, ctx, caller, uuid, image_id)             # 1
        if image is None:
            return
        launch._next_task(deps, uuid, states.SPAWNING)
        _event(deps, ctx, uuid, "compute.instance.unshelve.schedule.start")
        instance = launch._claim(deps, ctx, uuid, undo)                      # 2
        _event(deps, ctx, uuid, "compute.instance.unshelve.schedule.end")
        hardware = launch._hardware(deps, instance, image)
        vifs = _bind_ports(deps, caller, instance, undo)                     # 3
        undo.push("disconnect the volumes", lambda: _disconnect_all(deps, caller, uuid))
        volumes = launch._connect_volumes(deps, ctx, caller, instance, undo)  # 4
        base = launch._cache_image(deps, ctx, caller, instance, image)
        disks = _create_disks(deps, ctx, instance, base, hardware, undo)     # 5
        launch.spawn(deps, ctx, instance, hardware, disks, volumes, vifs, undo)  # 6
        launch._complete_volumes(deps, caller, volumes)
    except launch.BuildCancelled:
        LOG.info("server %s was deleted while it was being unshelved", uuid)
        undo.run()
        return
    except Exception as exc:
        LOG.warning("unshelving server %s failed: %s", uuid, exc)
        problems = undo.run()
        message = f"Unshelve failed: {exc}"
        if problems:
            message += " (and undoing it left problems: " + "; ".join(problems) + ")"
        if finish_task(deps, uuid, states.SPAWNING, task_state=None, host=None, node=None,
                       claimed=False, fault=fault(message, exc)):
            _event(deps, ctx, uuid, "compute.instance.unshelve.error", reason=message)
        return
    _mark_active(deps, ctx, caller, uuid, image_id, states.SPAWNING,               # 7
                 seconds=time.monotonic() - started)


def _shelved_image(deps: Deps, ctx, caller: Caller, uuid: str,
                   image_id: str | None) -> dict | None:
    """The shelved image, active; a server whose image is gone goes to
    ERROR, as in Nova's conductor ("Unshelve attempted but the image ...
    cannot be found.")."""
    _event(deps, ctx, uuid, "compute.instance.unshelve.image_info.start")
    image = deps.images.show(caller, image_id) if image_id else None
    if image is None or image.get("status") != "active":
        reason = f"Unshelve attempted but the image {image_id} cannot be found."
        if finish_task(deps, uuid, states.UNSHELVING, task_state=None,
                       vm_state=states.ERROR, fault=fault(reason, code=404)):
            _event(deps, ctx, uuid, "compute.instance.unshelve.image_info.error",
                   reason=reason)
        return None
    _event(deps, ctx, uuid, "compute.instance.unshelve.image_info.end", image_id=image_id)
    return image


def _bind_ports(deps: Deps, caller: Caller, instance: Instance, undo: Undo):
    """The server's ports, bound to this host again (the same ports, the
    same addresses); unbound again if the unshelve fails."""
    service = deps.service_caller()
    vifs = list(instance.vifs)
    for vif in vifs:
        try:
            deps.network.update_port(service, vif.port_id, ports.binding(deps, instance.uuid))
        except RemoteError as exc:
            raise UnshelveFailed(f"Binding port {vif.port_id} failed: {exc.message}") \
                from exc
        undo.push(f"unbind port {vif.port_id}", partial(_unbind, deps, vif.port_id))
    return vifs


def _unbind(deps: Deps, port_id: str) -> None:
    """The port stays the server's, bound to no host (Nova's unbind_ports
    with detach=False)."""
    deps.network.update_port(deps.service_caller(), port_id, {"binding:host_id": None})


def _create_disks(deps: Deps, ctx, instance: Instance, base: CachedImage,
                  hardware: GuestHardware, undo: Undo) -> list[LocalDisk]:
    """The instance directory again: vda from the shelved image (its data
    is the server's disk as it was shelved), new ephemeral and swap disks."""
    directory = deps.instance_dir(instance.uuid)
    mode = deps.driver.instance_dir_mode()
    directory.mkdir(mode=mode, parents=True, exist_ok=False)
    undo.push("remove the instance directory",
              lambda: shutil.rmtree(directory, ignore_errors=True))
    os.chmod(directory, mode)
    (directory / "console.log").touch(mode=0o600)
    names = local_disks(instance.ephemeral_gb, instance.swap, hardware.disk_bus)
    undo.push("remove the disks", lambda: deps.disks.remove(instance.uuid))
    try:
        disks = server_disks.make(deps, instance, hardware.disk_bus, base, standalone=True)
    except Exception as exc:
        raise UnshelveFailed(f"Creating the server's disks failed: {exc}") from exc
    with transaction(deps.sessions) as session:
        repo.record_device_names(session, instance.uuid, names.root, names.ephemeral,
                                 names.swap)
    _event(deps, ctx, instance.uuid, "compute.instance.disks.created",
           disks=server_disks.describe(disks), standalone_root=True)
    return disks


def _mark_active(deps: Deps, ctx, caller: Caller, uuid: str, image_id: str | None,
                 expected: str, seconds: float | None = None) -> None:
    """ACTIVE; the shelved image is deleted (a delete meanwhile: undone by
    terminate, which finds the domain)."""
    with transaction(deps.sessions) as session:
        instance = repo.get_instance(session, uuid, None, include_deleted=True)
        if instance.deleted or instance.task_state != expected:
            return
        instance.vm_state, instance.task_state = states.ACTIVE, None
        instance.power_state = deps.driver.power_state(instance.domain_name)
        instance.updated_at = repo.now()
        shelved = session.get(InstanceShelved, uuid)
        if shelved is not None:
            session.delete(shelved)
        extra = {"seconds": round(seconds, 3)} if seconds is not None else {}
        deps.event(ctx, "compute.instance.unshelve.end", instance, session=session,
                   image_id=image_id, **extra)
    if image_id:
        _delete_image(deps, caller, image_id)


# --- after a restart ---------------------------------------------------------------------
def recover(deps: Deps, uuid: str, vm_state: str, task_state: str) -> str:
    """computed restarted in the middle of a shelve, offload or unshelve of
    this server (reconcile.py asks): returns what was done.

        shelving, shelving_image_*   the task is dropped (the guest is off
                                     or running: the power sync says which;
                                     a half-made image stays queued)
        shelving_offloading          the offload is done again (each of its
                                     steps can be repeated)
        unshelving                   the task is dropped: still shelved
        spawning (unshelve of an     what the build made is removed; the
        offloaded server)            server is shelved_offloaded again
    """
    caller = deps.service_caller()
    if task_state == states.SHELVING_OFFLOADING:
        with deps.locks.hold(uuid):
            _offload(deps, None, caller, uuid)
        return "offloaded"
    if vm_state == states.SHELVED_OFFLOADED and task_state == states.SPAWNING:
        problems = []
        domain_name = _domain_name(deps, uuid)
        for what, step in (("domain", lambda: deps.driver.destroy(domain_name)),
                           ("volumes", lambda: _disconnect_all(deps, caller, uuid)),
                           ("ports", lambda: _unbind_all(deps, uuid)),
                           ("files", lambda: _remove_instance_dir(deps, uuid))):
            try:
                step()
            except Exception as exc:
                problems.append(f"{what}: {exc}")
        message = "computed restarted while the server was being unshelved"
        if problems:
            message += "; cleaning up left: " + "; ".join(problems)
        finish_task(deps, uuid, states.SPAWNING, task_state=None, host=None, node=None,
                    claimed=False, power_state=states.SHUTDOWN, fault=fault(message))
        return "unshelve undone"
    finish_task(deps, uuid, task_state, task_state=None)
    return "task cleared"


def _unbind_all(deps: Deps, uuid: str) -> None:
    with transaction(deps.sessions, write=False) as session:
        port_ids = [vif.port_id for vif in repo.get_instance(
            session, uuid, None, include_deleted=True).vifs]
    for port_id in port_ids:
        _unbind(deps, port_id)


# --- shared ------------------------------------------------------------------------------
def delete_shelved_image(deps: Deps, caller: Caller, uuid: str) -> None:
    """When a shelved server is deleted, its shelved image goes too (Nova's
    compute API does so)."""
    with transaction(deps.sessions) as session:
        shelved = session.get(InstanceShelved, uuid)
        if shelved is None:
            return
        image_id = shelved.image_id
        session.delete(shelved)
    _delete_image(deps, caller, image_id)


def _delete_image(deps: Deps, caller: Caller, image_id: str) -> None:
    try:
        deps.images.delete(caller, image_id)
    except RemoteError as exc:
        LOG.warning("could not delete the shelved image %s: %s", image_id, exc)


def _remove_instance_dir(deps: Deps, uuid: str) -> None:
    """The server's disks (where they lie) and its directory."""
    deps.disks.remove(uuid)
    directory = deps.instance_dir(uuid)
    doomed = directory.with_name(f"{uuid}_del")
    if directory.exists():
        directory.rename(doomed)
    if doomed.exists():
        shutil.rmtree(doomed)


def _domain_name(deps: Deps, uuid: str) -> str:
    with transaction(deps.sessions, write=False) as session:
        return repo.get_instance(session, uuid, None, include_deleted=True).domain_name


def _event(deps: Deps, ctx, uuid: str, event_type: str, **payload) -> None:
    with transaction(deps.sessions) as session:
        instance = repo.get_instance(session, uuid, None, include_deleted=True)
        deps.event(ctx, event_type, instance, session=session, **payload)
