"""Volumes: attaching a volumed volume to a server, and detaching it.

Attach (Nova's flow with Cinder's attachments API):
    API     the volume is reserved in volumed (POST attachments, no
            connector) and the device name chosen (the next free vdX);
            the mapping is recorded with status attaching; 200
    flow    PUT the attachment with this host's connector -> connection_info
            (portal, IQN, LUN, CHAP user and password)
            the password goes into a libvirt secret (never into a file)
            the iSCSI disk is hot-plugged (and added to the definition)
            os-complete: the volume is in-use; mapping attached
Detach, the way back:
    API     the mapping is marked detaching; 202
    flow    the disk is unplugged (waiting for the guest to let it go),
            the secret deleted, the attachment deleted in volumed (the
            export and its CHAP account go; the volume is available again,
            its data kept), the mapping removed.
A failure undoes what was done, so no attachment, export or secret is
left behind.
"""
from __future__ import annotations

import logging
import socket
import time
import uuid as uuidlib
from collections.abc import Callable

from computed.db import repository as repo
from computed.db.models import BlockDeviceMapping, Instance
from computed.domain import states
from computed.domain.devices import next_free_device
from computed.flows import Deps, Undo, fault
from computed.virt.guest import IscsiVolume, RbdVolume, VolumeSpec, secret_usage
from shared import ceph
from shared.clients import Caller, RemoteError
from shared.context import RequestContext
from shared.db import transaction
from shared.errors import BadRequest, Conflict, NotFound

LOG = logging.getLogger(__name__)
COMPLETE_RETRY_FOR = 120.0   # seconds a call is asked again while volumed is away
COMPLETE_RETRY_INTERVAL = 2.0


class VolumeError(Exception):
    pass


def connector(deps: Deps, device: str) -> dict:
    """This host as an iSCSI initiator, os-brick's connector shape. The
    mountpoint is what volumed shows as the attachment's device."""
    return {"initiator": deps.settings.initiator_iqn, "ip": "127.0.0.1",
            "host": deps.settings.host or socket.gethostname(), "multipath": False,
            "platform": "x86_64", "os_type": "linux", "do_local_attach": False,
            "mountpoint": f"/dev/{device}"}


def mapping(session, bdm_id: int) -> BlockDeviceMapping:
    """The mapping, which the caller knows exists (it holds the server's lock)."""
    bdm = session.get(BlockDeviceMapping, bdm_id)
    if bdm is None:
        raise VolumeError(f"block device mapping {bdm_id} is gone")
    return bdm


def _known(value: str | None, what: str) -> str:
    """A mapping's field that is set by the time it is read (VolumeError if not)."""
    if value is None:
        raise VolumeError(f"the volume's {what} is not known yet")
    return value


def without_password(connection_info: dict) -> dict:
    return {key: value for key, value in connection_info.items() if key != "auth_password"}


def volume_spec(deps: Deps, bdm: BlockDeviceMapping) -> VolumeSpec:
    """The libvirt disk of a connected volume, from its stored connection_info."""
    info = bdm.connection or {}
    kind = info.get("driver_volume_type", "iscsi")
    if kind == "rbd":
        return RbdVolume(volume_id=_known(bdm.volume_id, "id"),
                         device=_known(bdm.device_name, "device name"), name=info["name"],
                         hosts=tuple(info["hosts"]), ports=tuple(str(p) for p in info["ports"]),
                         auth_username=info["auth_username"], secret_uuid=bdm.secret_uuid,
                         readonly=info.get("access_mode") == "ro", boot=bdm.boot_index == 0)
    if kind != "iscsi":
        raise VolumeError(f"volume {bdm.volume_id}: {kind} volumes cannot be attached "
                          f"(iscsi and rbd can)")
    host, _, port = str(info["target_portal"]).rpartition(":")
    return IscsiVolume(volume_id=_known(bdm.volume_id, "id"),
                       device=_known(bdm.device_name, "device name"),
                       target_iqn=info["target_iqn"], target_lun=int(info.get("target_lun", 1)),
                       portal_host=host.strip("[]"), portal_port=int(port or 3260),
                       initiator_iqn=deps.settings.initiator_iqn,
                       auth_username=info.get("auth_username"),
                       secret_uuid=bdm.secret_uuid,
                       readonly=info.get("access_mode") == "ro",
                       boot=bdm.boot_index == 0)


def connect_volume(deps: Deps, caller: Caller, instance_uuid: str, bdm_id: int,
                   undo: Undo) -> BlockDeviceMapping:
    """Steps shared by boot and hot-attach: give volumed our connector, and
    keep the CHAP password in a libvirt secret. Returns the updated mapping."""
    with transaction(deps.sessions, write=False) as session:
        bdm = mapping(session, bdm_id)
        attachment_id = _known(bdm.attachment_id, "attachment")
        device = _known(bdm.device_name, "device name")
    info = deps.volumes.connect(caller, attachment_id, connector(deps, device))
    kind = "ceph" if info.get("driver_volume_type") == "rbd" else "iscsi"
    password = cephx_key(deps, info["auth_username"]) if kind == "ceph" \
        else info.get("auth_password")
    secret_uuid = str(uuidlib.uuid4()) if password else None
    with transaction(deps.sessions) as session:
        bdm = mapping(session, bdm_id)
        bdm.connection = without_password(info)
        bdm.secret_uuid = secret_uuid  # recorded first: reconcile can remove it
    if password and secret_uuid:
        deps.driver.define_volume_secret(
            secret_uuid, secret_usage(deps.settings.node_uuid, attachment_id),
            f"PocketStack: {'cephx key' if kind == 'ceph' else 'CHAP password'} of volume "
            f"{bdm.volume_id} for server {instance_uuid}", password, kind)
        undo.push(f"delete the secret of volume {bdm.volume_id}",
                  lambda: deps.driver.delete_volume_secret(secret_uuid))
    with transaction(deps.sessions, write=False) as session:
        return mapping(session, bdm_id)


def cephx_key(deps: Deps, user: str) -> str:
    """The key of the cephx user an rbd connection names, from its keyring
    in the stack's Ceph directory (never logged; it goes into a libvirt
    secret, as Nova's rbd_secret_uuid holds client.cinder's key)."""
    if deps.settings.ceph_keyrings is None:
        raise VolumeError("this compute host has no Ceph keyrings")
    try:
        return ceph.client_key(deps.settings.ceph_keyrings, user)
    except ceph.CephConfigError as exc:
        raise VolumeError(str(exc)) from None


def complete_attachment(deps: Deps, caller: Caller, attachment_id: str) -> None:
    """os-complete, asked again while volumed cannot be reached (as Nova's
    [cinder] http_retries, for longer: it is the attach's last step, done
    twice is harmless, and undoing a plugged disk is what can fail). A
    volumed killed after it committed the call, before it answered, gets
    it once more when it is back, instead of an undo of a finished attach."""
    _while_volumed_is_away(lambda: deps.volumes.complete(caller, attachment_id),
                           f"completing attachment {attachment_id}")


def _while_volumed_is_away(call: Callable[[], object], what: str) -> None:
    """`call`, asked again every COMPLETE_RETRY_INTERVAL seconds while
    volumed cannot be reached, for up to COMPLETE_RETRY_FOR seconds."""
    deadline = time.monotonic() + COMPLETE_RETRY_FOR
    while True:
        try:
            call()
            return
        except RemoteError as exc:
            if exc.reached and exc.status != 503 or time.monotonic() > deadline:
                raise
            LOG.warning("%s: %s; asking again", what, exc.message)
        time.sleep(COMPLETE_RETRY_INTERVAL)


def _completed(deps: Deps, caller: Caller, attachment_id: str) -> bool:
    """One more os-complete, for an attach whose disk could not be unplugged."""
    try:
        deps.volumes.complete(caller, attachment_id)
    except RemoteError as exc:
        LOG.warning("attachment %s stays unfinished: %s", attachment_id, exc)
        return False
    return True


def release_volume(deps: Deps, caller: Caller, bdm: BlockDeviceMapping,
                   delete_volume: bool = False, patient: bool = False) -> None:
    """Forget the secret and delete the attachment in volumed (the volume is
    available again), optionally the volume too (delete_on_termination).
    `patient`: the delete is asked again while volumed cannot be reached
    (a detach whose disk is unplugged already: it can only go forward)."""
    if bdm.secret_uuid:
        deps.driver.delete_volume_secret(bdm.secret_uuid)
    attachment_id = bdm.attachment_id
    if attachment_id and patient:
        _while_volumed_is_away(lambda: deps.volumes.delete_attachment(caller, attachment_id),
                               f"deleting attachment {attachment_id}")
    elif attachment_id:
        deps.volumes.delete_attachment(caller, attachment_id)
    if delete_volume and bdm.volume_id:
        deps.volumes.delete_volume(caller, bdm.volume_id)


# --- the API part ------------------------------------------------------------------------
def begin_attach(deps: Deps, ctx: RequestContext, instance_uuid: str, project_scope,
                 volume_id: str, action: str = "attach_volume") -> BlockDeviceMapping:
    """Check, reserve the volume and choose the device (in the request).
    `action`: the state rule (attach_volume_shelved from microversion 2.20)."""
    caller = deps.caller(ctx)
    volume = deps.volumes.show_volume(caller, volume_id)
    if volume is None:
        raise NotFound(f"Volume {volume_id} could not be found.")
    if volume.get("status") != "available":
        raise BadRequest(f"Invalid volume: volume {volume_id} status must be available, "
                         f"but current status is: {volume.get('status')}")
    with transaction(deps.sessions) as session:
        instance = repo.get_instance(session, instance_uuid, project_scope)
        _check(instance, action)
        if repo.find_volume_mapping(instance, volume_id) is not None:
            raise BadRequest(f"Invalid volume: volume {volume_id} is already attached to "
                             f"server {instance_uuid}.")
        device = next_free_device(repo.device_names_in_use(instance))
        bdm = BlockDeviceMapping(instance_uuid=instance.uuid, volume_id=volume_id,
                                 device_name=device, status="attaching",
                                 delete_on_termination=False, created_at=repo.now())
        session.add(bdm)
        session.flush()
        bdm_id = bdm.id
        deps.event(ctx, "compute.instance.volume.attach.start", instance, session=session,
                   volume_id=volume_id, device=f"/dev/{device}")
    try:
        attachment_id = deps.volumes.reserve(caller, volume_id, instance_uuid)
    except RemoteError as exc:
        with transaction(deps.sessions) as session:
            session.delete(mapping(session, bdm_id))
        raise BadRequest(f"Invalid volume: {exc.message}") from None
    with transaction(deps.sessions) as session:
        bdm = mapping(session, bdm_id)
        bdm.attachment_id = attachment_id
        return bdm


def begin_detach(deps: Deps, ctx: RequestContext, instance_uuid: str, project_scope,
                 volume_id: str, action: str = "detach_volume") -> None:
    with transaction(deps.sessions) as session:
        instance = repo.get_instance(session, instance_uuid, project_scope)
        bdm = repo.find_volume_mapping(instance, volume_id)
        if bdm is None:
            raise NotFound(f"Volume {volume_id} is not attached to server {instance_uuid}.")
        if bdm.boot_index == 0:  # a volume-backed server's vda
            raise BadRequest("Cannot detach a root device volume")
        _check(instance, action)
        if bdm.status != "attached":
            raise Conflict(f"Volume {volume_id} is {bdm.status}: it can be detached once "
                           f"it is attached.")
        bdm.status = "detaching"
        deps.event(ctx, "compute.instance.volume.detach.start", instance, session=session,
                   volume_id=volume_id, device=f"/dev/{bdm.device_name}")


def _check(instance: Instance, action: str) -> None:
    try:
        states.check(action, instance.uuid, instance.vm_state, instance.task_state,
                     instance.host)
    except (states.InvalidState, states.NotReady) as exc:
        raise Conflict(str(exc)) from None


# --- the background part -----------------------------------------------------------------
def attach(deps: Deps, ctx: RequestContext, instance_uuid: str, bdm_id: int) -> None:
    caller = deps.caller(ctx)
    with deps.locks.hold(instance_uuid):
        undo = Undo()
        with transaction(deps.sessions, write=False) as session:
            bdm = session.get(BlockDeviceMapping, bdm_id)
            if bdm is None:
                return  # the server was deleted meanwhile: terminate released it
            attachment_id = _known(bdm.attachment_id, "attachment")
            undo.push(f"delete the attachment of volume {bdm.volume_id}",
                      lambda: deps.volumes.delete_attachment(caller, attachment_id))
        try:
            instance = _live_instance(deps, instance_uuid)
            bdm = connect_volume(deps, caller, instance_uuid, bdm_id, undo)
            live = deps.driver.power_state(instance.domain_name) in (
                states.RUNNING, states.PAUSED_POWER)
            deps.driver.attach_volume(instance.domain_name, volume_spec(deps, bdm), live)
            device = _known(bdm.device_name, "device name")
            undo.push(f"unplug {device}", lambda: deps.driver.detach_volume(
                instance.domain_name, device, live, deps.settings.detach_timeout),
                holding=True)
            complete_attachment(deps, caller, attachment_id)
        except Exception as exc:
            LOG.exception("attaching volume to %s failed", instance_uuid)
            undo.run()
            # a disk the guest kept, of a volume volumed has in-use, is attached
            if not (undo.held and _completed(deps, caller, attachment_id)):
                _attach_failed(deps, ctx, instance_uuid, bdm_id, exc, plugged=undo.held)
                return
        with transaction(deps.sessions) as session:
            bdm = mapping(session, bdm_id)
            bdm.status = "attached"
            instance = repo.get_instance(session, instance_uuid, None, include_deleted=True)
            deps.event(ctx, "compute.instance.volume.attach.end", instance, session=session,
                       volume_id=bdm.volume_id, device=f"/dev/{bdm.device_name}")


def _attach_failed(deps: Deps, ctx: RequestContext, instance_uuid: str, bdm_id: int,
                   exc: Exception, plugged: bool) -> None:
    """The fault and the event of an attach that failed; its mapping goes
    (undone), or stays attaching if its disk is still plugged: the next
    start of computed finishes it (reconcile.py)."""
    with transaction(deps.sessions) as session:
        bdm = mapping(session, bdm_id)
        instance = repo.get_instance(session, instance_uuid, None, include_deleted=True)
        instance.fault = fault(f"Attaching volume {bdm.volume_id} failed: {exc}", exc)
        deps.event(ctx, "compute.instance.volume.attach.error", instance,
                   session=session, volume_id=bdm.volume_id, reason=str(exc))
        if not plugged:
            session.delete(bdm)


def detach(deps: Deps, ctx: RequestContext, instance_uuid: str, volume_id: str) -> None:
    caller = deps.caller(ctx)
    with deps.locks.hold(instance_uuid):
        with transaction(deps.sessions, write=False) as session:
            instance = repo.get_instance(session, instance_uuid, None, include_deleted=True)
            bdm = repo.find_volume_mapping(instance, volume_id)
            if bdm is None or bdm.status != "detaching":
                return  # the server was deleted meanwhile: terminate did it
        unplugged = False
        try:
            live = deps.driver.power_state(instance.domain_name) in (
                states.RUNNING, states.PAUSED_POWER)
            deps.driver.detach_volume(instance.domain_name,
                                      _known(bdm.device_name, "device name"), live,
                                      deps.settings.detach_timeout)
            unplugged = True
            release_volume(deps, caller, bdm, patient=True)
        except Exception as exc:
            LOG.exception("detaching volume %s from %s failed", volume_id, instance_uuid)
            with transaction(deps.sessions) as session:
                instance = repo.get_instance(session, instance_uuid, None,
                                             include_deleted=True)
                mapping = repo.find_volume_mapping(instance, volume_id)
                if mapping is not None and not unplugged:
                    mapping.status = "attached"  # the guest keeps it: ask again
                # else it stays detaching, its disk gone: the next start of
                # computed finishes the release (reconcile.py)
                instance.fault = fault(f"Detaching volume {volume_id} failed: {exc}", exc)
                deps.event(ctx, "compute.instance.volume.detach.error", instance,
                           session=session, volume_id=volume_id, reason=str(exc))
            return
        with transaction(deps.sessions) as session:
            instance = repo.get_instance(session, instance_uuid, None, include_deleted=True)
            mapping = repo.find_volume_mapping(instance, volume_id)
            if mapping is not None:
                session.delete(mapping)
            deps.event(ctx, "compute.instance.volume.detach.end", instance, session=session,
                       volume_id=volume_id, device=f"/dev/{bdm.device_name}")


def _live_instance(deps: Deps, uuid: str) -> Instance:
    with transaction(deps.sessions, write=False) as session:
        instance = repo.get_instance(session, uuid, None, include_deleted=True)
        if instance.deleted or instance.task_state == states.DELETING:
            raise VolumeError(f"server {uuid} is being deleted")
        return instance
