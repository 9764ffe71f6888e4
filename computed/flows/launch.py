"""Launch: from POST /servers to ACTIVE, each step an event.

    API (the request)    the body is checked (flavor, image active and big
                         enough, key pair, volumes available, quota); the
                         server is recorded BUILD/scheduling and each volume
                         reserved in volumed; 202
    1. claim             scheduling: the flavor must fit in what is free on
                         the host, else ERROR "No valid host was found";
                         the image's hw_* properties are read into the
                         guest's hardware (a bad value fails the build)
    2. network           networking: a port made in networkd for each network
                         asked for (the user's ports taken as they are), each
                         bound to this host (ports.py); in a thread of its
                         own while 3, 4 and 5 run (they need no port; Nova
                         allocates the network asynchronously too), waited
                         for before 6
                         undo: made ports deleted, the user's unbound
    3. volumes           block_device_mapping: a volume asked for from an
                         image is made in volumed and waited for
                         (boot_volumes.py); volumed exports each volume to
                         our initiator; its CHAP password goes into a libvirt
                         secret
    4. image             spawning: the image into the cache (_base), fetched
                         once, verified and inspected (not for a
                         volume-backed server: its vda is the boot volume;
                         nor when vda can be an RBD clone of it)
    5. disks             local_disks.py: vda (or sda/hda after the image's
                         hw_disk_bus) = a qcow2 overlay on the base in the
                         instance directory, or an RBD image in Ceph
                         ([libvirt] images_type), grown to the flavor's root
                         disk; vdb and the swap on formatted templates
    6. config drive      disk.config, an ISO labelled config-2 holding the
                         documents the metadata service answers with (the
                         ports made in 2 are in network_data.json); in a
                         thread of its own while 7 runs: libvirt's start of
                         the domain is the longest step of a launch, and the
                         guest does not read the drive before it runs (a USB
                         cdrom cannot start empty: its ISO is built before 7)
    7. domain            libvirt.xml written; the domain defined and started
                         paused, its config drive's cdrom still empty (its
                         taps exist, its vCPUs have not run yet)
                         undo: the domain destroyed (its taps go with it)
       medium            the ISO of 6 inserted into the cdrom (as `virsh
                         change-media --insert`), in the running domain and
                         its definition
    8. vifs plugged      networkd found each tap, plugged it into its network,
                         set the port ACTIVE and said so (Nova's wait for
                         network-vif-plugged, [compute] vif_plugging_timeout:
                         a port not plugged in time fails the build); the
                         event's `announced` lists the ports networkd told
                         computed of (flows/ports.py wait_plugged)
       resumed           the guest runs: its first DHCP request has a bridge
                         to go to, its first look for config-2 finds the ISO
                         undo: the domain's (7), then the ports' (2)
    9. volumes in-use    os-complete for each attachment
       ACTIVE            (the domain runs: the guest is still booting)

Nova builds the config drive before it starts the domain; starting the
domain with an empty drive and inserting the medium while it is paused
gives the guest the same drive a tenth of a second or more earlier.

Any failure undoes what was done, in reverse (domain, disks, secrets,
attachments, ports, claim), and leaves the server in ERROR with the reason
as its fault. A delete during the build stops it at the next step: the same
undo runs, and terminate.py does the rest.
"""
from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import replace
from functools import partial

from computed.db import repository as repo
from computed.db.models import BlockDeviceMapping, Instance, VirtualInterface
from computed.domain import states
from computed.domain.claims import no_valid_host_message, shortfall
from computed.domain.devices import local_disks
from computed.domain.image_properties import GuestHardware, guest_hardware
from computed.domain.networks import RequestedNetwork
from computed.flows import Deps, Undo, beside, domain_spec, fault, ports, server_disks
from computed.flows.boot_volumes import make_volumes
from computed.flows.volumes import connect_volume
from computed.imagecache import CachedImage
from computed.instance_events import Heard
from computed.virt.guest import FileDisk, GuestSpec, LocalDisk
from shared.clients import Caller
from shared.context import RequestContext
from shared.db import transaction
from shared.together import at_once
from shared.units import GiB

LOG = logging.getLogger(__name__)


class BuildCancelled(Exception):
    """The server was deleted while it was being built."""


class BuildFailed(Exception):
    """A step failed; the message names the step and the reason."""


def launch(deps: Deps, ctx: RequestContext, uuid: str, image: dict) -> None:
    """Build one server (in a background thread). `image` is imaged's
    record of the image, read by the API request."""
    caller = deps.caller(ctx)
    with deps.locks.hold(uuid):
        undo = Undo()
        started = time.monotonic()
        try:
            _check_not_cancelled(deps, uuid)
            _event(deps, ctx, uuid, "compute.instance.create.start")
            _undo_reservations(deps, caller, uuid, undo)
            instance = _claim(deps, ctx, uuid, undo)                     # 1
            hardware = _hardware(deps, instance, image)
            _next_task(deps, uuid, states.NETWORKING)
            with beside(partial(_allocate_network, deps, ctx, caller, instance,
                                undo)) as network:                          # 2
                _next_task(deps, uuid, states.BLOCK_DEVICE_MAPPING)
                volumes = _connect_volumes(deps, ctx, caller, instance, undo)  # 3
                _next_task(deps, uuid, states.SPAWNING)
                location = deps.disks.clone_location(image) if instance.image_ref \
                    else None
                base = _cache_image(deps, ctx, caller, instance, image) \
                    if instance.image_ref and location is None else None  # 4
                disks = _create_disks(deps, ctx, instance, base, location, hardware,
                                      undo)                                    # 5
            vifs = network.result()
            spawn(deps, ctx, instance, hardware, disks, volumes, vifs, undo)  # 6, 7, 8
            _complete_volumes(deps, caller, volumes)                      # 9
            _mark_active(deps, ctx, uuid, time.monotonic() - started)
        except BuildCancelled:
            LOG.info("server %s was deleted during its build: undoing it", uuid)
            undo.run()
        except Exception as exc:
            LOG.warning("building server %s failed: %s", uuid, exc)
            problems = undo.run()
            _mark_error(deps, ctx, uuid, exc, problems)


def spawn(deps: Deps, ctx, instance: Instance, hardware: GuestHardware,
          disks: list[LocalDisk], volumes, vifs: list[VirtualInterface], undo: Undo) -> None:
    """Steps 6 to 8, for a server whose disks, volumes and ports are ready
    (a launch, an unshelve): the config drive built while the domain
    starts paused, then inserted; the ports plugged; the guest resumed.
    A config drive on a bus whose drive cannot start empty (USB) is built
    before the start, as Nova builds every one."""
    drive = server_disks.wanted_config_drive(deps, instance, hardware)
    guest = domain_spec.guest_spec(deps, instance, hardware,
                                   disks + ([drive] if drive else []), volumes, vifs)
    later = drive if drive is not None and drive.can_start_empty else None
    if drive is not None and later is None:
        _config_drive(deps, ctx, instance, drive)                                  # 6
    paused = bool(vifs) or later is not None
    with deps.instance_events.expect(instance.uuid) as heard:  # before the taps exist
        with beside(partial(_config_drive, deps, ctx, instance, later)) as building:  # 6
            _start_domain(deps, ctx, instance, guest, later, paused, undo)          # 7
        building.result()
        at_once(partial(_insert_config_drive, deps, instance, later),   # libvirt, while
                partial(_wait_vifs_plugged, deps, ctx, instance, vifs, heard))  # 8 networkd
    _resume(deps, instance, paused)


# --- the steps ---------------------------------------------------------------------------
def _claim(deps: Deps, ctx, uuid: str, undo: Undo) -> Instance:
    """scheduling: take the flavor's vCPUs, RAM and disk from what is free,
    in one write transaction (so two builds cannot both take the last GiB)."""
    inventory = deps.inventory()
    with transaction(deps.sessions) as session:
        instance = _current(session, uuid)
        wanted = repo.instance_resources(instance)
        reason = shortfall(inventory, repo.claimed_usage(session), wanted)
        if reason:
            raise BuildFailed(no_valid_host_message(reason))
        instance.claimed = True
        instance.host = deps.settings.host
        instance.node = deps.settings.host
        deps.event(ctx, "scheduler.select_destinations.end", instance, session=session,
                   vcpus=wanted.vcpus, memory_mb=wanted.memory_mb, disk_gb=wanted.disk_gb)
    undo.push("release the claim", lambda: _release_claim(deps, uuid))
    return instance


def _hardware(deps: Deps, instance: Instance, image: dict) -> GuestHardware:
    """The image's hw_* properties, from the record the API read and checked:
    the build does not trust its caller, a bad value fails it."""
    try:
        return guest_hardware(image, instance.vcpus, deps.settings.machine_type)
    except ValueError as exc:
        raise BuildFailed(str(exc)) from exc


def _allocate_network(deps: Deps, ctx, caller: Caller, instance: Instance,
                      undo: Undo) -> list[VirtualInterface]:
    """networking: one port per network the API resolved (in its order),
    made or bound in networkd; each is given back if the build fails."""
    request = instance.network_request
    if request is None or not request.networks:
        return []
    vifs = []
    for wanted in request.networks:
        _check_not_cancelled(deps, instance.uuid)
        try:
            vifs.append(ports.allocate(deps, caller, instance.uuid,
                                       RequestedNetwork.from_dict(wanted),
                                       request.security_groups, undo))
        except Exception as exc:
            raise BuildFailed(f"Build of instance {instance.uuid} aborted: Failed to "
                              f"allocate the network(s): {exc}") from exc
    _event(deps, ctx, instance.uuid, "compute.instance.network.allocated",
           ports=[{"port_id": v.port_id, "network_id": v.network_id, "mac": v.mac_address,
                   "created": v.created} for v in vifs])
    return vifs


def _connect_volumes(deps: Deps, ctx, caller: Caller, instance: Instance, undo: Undo):
    """block_device_mapping: every volume reserved by the API is connected:
    volumed exports it to our initiator, the CHAP password becomes a secret."""
    volumes = []
    try:  # the volumes to be made from images first (boot_volumes.py)
        make_volumes(deps, caller, instance, undo,
                     check=lambda: _check_not_cancelled(deps, instance.uuid))
    except BuildCancelled:
        raise
    except Exception as exc:
        raise BuildFailed(f"Build of instance {instance.uuid} aborted: {exc}") from exc
    for bdm in instance.volumes:
        _check_not_cancelled(deps, instance.uuid)
        try:
            connected = connect_volume(deps, caller, instance.uuid, bdm.id, undo)
        except Exception as exc:
            raise BuildFailed(f"Connecting volume {bdm.volume_id} failed: {exc}") from exc
        volumes.append(connected)
    if volumes:
        _event(deps, ctx, instance.uuid, "compute.instance.block_device_mapping.end",
               volumes=[{"volume_id": v.volume_id, "device": f"/dev/{v.device_name}"}
                        for v in volumes])
    return volumes


def _cache_image(deps: Deps, ctx, caller: Caller, instance: Instance,
                 image: dict) -> CachedImage:
    """The image into _base, once per host: download, verify, inspect.
    (Not for a volume-backed server, which has no image_ref: nothing of
    the image comes to the host, as in Nova.)"""
    _check_not_cancelled(deps, instance.uuid)
    started = time.monotonic()

    def download(path, hash_algorithm):
        with open(path, "wb") as target:
            return deps.images.download(caller, image["id"], target.write,
                                        ("md5", hash_algorithm))

    try:
        base = deps.cache.fetch(image, download)
    except Exception as exc:
        raise BuildFailed(f"Fetching image {image['id']} failed: {exc}") from exc
    flavor_bytes = instance.root_gb * GiB
    if instance.root_gb and base.virtual_size > flavor_bytes:
        raise BuildFailed(f"Flavor's disk is too small for requested image. Flavor disk "
                          f"is {flavor_bytes} bytes, image is {base.virtual_size} bytes.")
    _event(deps, ctx, instance.uuid, "compute.instance.image_cache."
           + ("fetch.end" if base.fetched else "hit"), image_id=image["id"],
           base=base.path.name, base_format=base.format,
           seconds=round(time.monotonic() - started, 3))
    return base


def _create_disks(deps: Deps, ctx, instance: Instance, base: CachedImage | None,
                  location: str | None, hardware: GuestHardware,
                  undo: Undo) -> list[LocalDisk]:
    """The instance directory, laid out as Nova lays it out, and the
    server's own disks (without vda when the root is a volume: no base, no
    location)."""
    _check_not_cancelled(deps, instance.uuid)
    directory = deps.instance_dir(instance.uuid)
    mode = deps.driver.instance_dir_mode()  # who may get through: the driver knows
    directory.mkdir(mode=mode, parents=True, exist_ok=False)
    undo.push("remove the instance directory",
              lambda: shutil.rmtree(directory, ignore_errors=True))
    os.chmod(directory, mode)  # whatever the umask took away
    (directory / "console.log").touch(mode=0o600)
    names = local_disks(instance.ephemeral_gb, instance.swap, hardware.disk_bus)
    undo.push("remove the disks", lambda: deps.disks.remove(instance.uuid))
    try:
        disks = server_disks.make(deps, instance, hardware.disk_bus, base, location)
    except Exception as exc:
        raise BuildFailed(f"Creating the server's disks failed: {exc}") from exc
    with transaction(deps.sessions) as session:  # what the metadata's block-device-mapping says
        repo.record_device_names(session, instance.uuid, names.root, names.ephemeral,
                                 names.swap)
    _event(deps, ctx, instance.uuid, "compute.instance.disks.created",
           disks=server_disks.describe(disks),
           backing_file=base.path.name if base is not None else None,
           cloned_from=location)
    return disks


def _config_drive(deps: Deps, ctx, instance: Instance, drive: FileDisk | None) -> None:
    """disk.config, in the instance directory (removed with it on failure).
    It may run beside the domain's start: what it reads (the server, its
    ports) was settled before."""
    if drive is None:
        return
    _check_not_cancelled(deps, instance.uuid)
    try:
        written = domain_spec.write_config_drive(deps, instance.uuid, drive)
    except Exception as exc:
        raise BuildFailed(f"Building the config drive failed: {exc}") from exc
    if not written:
        raise BuildCancelled()
    _event(deps, ctx, instance.uuid, "compute.instance.config_drive.created",
           device=drive.device, bus=drive.bus)


def _start_domain(deps: Deps, ctx, instance: Instance, guest: GuestSpec,
                  empty: FileDisk | None, paused: bool, undo: Undo) -> None:
    """libvirt.xml (the domain as it will run) written; the domain defined
    persistently and started (the hot path: no waits), with the drive
    `empty` (the config drive being built) started without its medium,
    and paused (its ports are not plugged yet, its drive is empty) when
    `paused`."""
    _check_not_cancelled(deps, instance.uuid)
    (guest.console_log.parent / "libvirt.xml").write_text(deps.driver.guest_xml(guest))
    starting = replace(guest, disks=[disk.without_medium() if disk == empty else disk
                                     for disk in guest.disks])
    undo.push("destroy the domain", lambda: deps.driver.destroy(instance.domain_name))
    try:
        deps.driver.spawn(starting, paused=paused)
    except Exception as exc:
        raise BuildFailed(f"Starting the domain failed: {exc}") from exc
    _event(deps, ctx, instance.uuid, "compute.instance.domain.started",
           domain=instance.domain_name, virt_type=deps.driver.virt_type, paused=paused,
           taps=[nic.tap for nic in guest.nics])


def _insert_config_drive(deps: Deps, instance: Instance, drive: FileDisk | None) -> None:
    """The ISO into the paused domain's empty cdrom, before the guest runs.
    Nothing of its own to undo: the domain's undo takes the drive with it."""
    if drive is None:
        return
    _check_not_cancelled(deps, instance.uuid)
    try:
        deps.driver.insert_medium(instance.domain_name, drive)
    except Exception as exc:
        raise BuildFailed(f"Inserting the config drive failed: {exc}") from exc


def _wait_vifs_plugged(deps: Deps, ctx, instance: Instance,
                       vifs: list[VirtualInterface], heard: Heard) -> None:
    """networkd plugs each tap, sets its port ACTIVE and says so (`heard`).
    Nothing of its own to undo: the domain's undo (7) takes the taps away, the ports' (2)
    gives the ports back."""
    if not vifs:
        return
    started = time.monotonic()
    try:
        announced = ports.wait_plugged(deps, heard, [vif.port_id for vif in vifs],
                                       check=lambda: _check_not_cancelled(deps, instance.uuid))
    except ports.PortError as exc:
        raise BuildFailed(f"Build of instance {instance.uuid} aborted: Virtual Interface "
                          f"creation failed: {exc}") from exc
    ports.mark_attached(deps, [vif.id for vif in vifs])
    _event(deps, ctx, instance.uuid, "compute.instance.vifs.plugged",
           ports=[vif.port_id for vif in vifs], announced=announced,
           seconds=round(time.monotonic() - started, 3))


def _resume(deps: Deps, instance: Instance, paused: bool) -> None:
    """The guest runs: its ports are plugged, its config drive is in."""
    if not paused:
        return
    try:
        deps.driver.unpause(instance.domain_name)
    except Exception as exc:
        raise BuildFailed(f"Resuming the domain failed: {exc}") from exc


def _complete_volumes(deps: Deps, caller: Caller, volumes) -> None:
    """The domain runs with the volumes: volumed marks them in-use."""
    for bdm in volumes:
        deps.volumes.complete(caller, bdm.attachment_id)
    with transaction(deps.sessions) as session:
        for bdm in volumes:
            session.get_one(BlockDeviceMapping, bdm.id).status = "attached"


def _mark_active(deps: Deps, ctx, uuid: str, seconds: float) -> None:
    """ACTIVE, unless a delete came in meanwhile (then it is undone)."""
    with transaction(deps.sessions) as session:
        instance = repo.get_instance(session, uuid, None, include_deleted=True,
                                     related=False)
        if instance.task_state != states.SPAWNING:
            raise BuildCancelled()
        instance.vm_state, instance.task_state = states.ACTIVE, None
        instance.power_state = states.RUNNING
        instance.launched_at = instance.updated_at = repo.now()
        instance.progress = 100
        deps.event(ctx, "compute.instance.create.end", instance, session=session,
                   seconds=round(seconds, 3))


def _mark_error(deps: Deps, ctx, uuid: str, exc: Exception, problems: list[str]) -> None:
    message = str(exc) if isinstance(exc, BuildFailed) else f"Build failed: {exc}"
    if problems:
        message += " (and undoing it left problems: " + "; ".join(problems) + ")"
    with transaction(deps.sessions) as session:
        instance = repo.get_instance(session, uuid, None, include_deleted=True)
        if instance.task_state == states.DELETING:
            return  # terminate.py takes it from here
        instance.vm_state, instance.task_state = states.ERROR, None
        instance.power_state = states.NOSTATE
        instance.fault = fault(message, exc)
        instance.updated_at = repo.now()
        instance.host = instance.node = None  # nothing of it is left on the host
        for bdm in list(instance.block_devices):
            session.delete(bdm)  # detached by the undo: the volumes are available
        for vif in list(instance.vifs):
            session.delete(vif)  # given back by the undo
        deps.event(ctx, "compute.instance.create.error", instance, session=session,
                   reason=message)


# --- helpers -----------------------------------------------------------------------------
def _undo_reservations(deps: Deps, caller: Caller, uuid: str, undo: Undo) -> None:
    """The API reserved the volumes in volumed: whatever fails from here on,
    their attachments are deleted again (the volumes become available)."""
    with transaction(deps.sessions, write=False) as session:
        for bdm in repo.get_instance(session, uuid, None, include_deleted=True).volumes:
            if bdm.attachment_id is not None:
                undo.push(f"delete the attachment of volume {bdm.volume_id}",
                          partial(deps.volumes.delete_attachment, caller, bdm.attachment_id))


def _current(session, uuid: str, related: bool = True) -> Instance:
    """The server, unless a delete came in (BuildCancelled); `related`: with
    its volumes, ports and requested networks (for use after the session)."""
    instance = repo.get_instance(session, uuid, None, include_deleted=True, related=related)
    if instance.task_state == states.DELETING or instance.deleted:
        raise BuildCancelled()
    return instance


def _check_not_cancelled(deps: Deps, uuid: str) -> None:
    with transaction(deps.sessions, write=False) as session:
        _current(session, uuid, related=False)


def _next_task(deps: Deps, uuid: str, task_state: str) -> None:
    with transaction(deps.sessions) as session:
        instance = _current(session, uuid, related=False)
        instance.task_state = task_state
        instance.updated_at = repo.now()


def _release_claim(deps: Deps, uuid: str) -> None:
    with transaction(deps.sessions) as session:
        instance = repo.get_instance(session, uuid, None, include_deleted=True)
        instance.claimed = False


def _event(deps: Deps, ctx, uuid: str, event_type: str, **payload) -> None:
    with transaction(deps.sessions) as session:
        instance = repo.get_instance(session, uuid, None, include_deleted=True,
                                     related=False)
        deps.event(ctx, event_type, instance, session=session, **payload)
