"""What rebuild, resize, migrate and revert share: a server's domain made
again from the files of its instance directory.

    hardware      the image's hw_* properties (the record in imaged) for the
                  server's vCPUs now
    local disks   vda, vdb, swap as they lie (files of the directory or RBD
                  images: server_disks.py)
    config drive  disk.config written anew from the metadata documents
    domain        libvirt.xml written; the domain defined (replacing the
                  old definition) and started, or only defined for a server
                  that stays stopped

The domain is started at once, not paused: its ports are already plugged
(bound to this host and ACTIVE in networkd), and networkd plugs the new
taps as it plugs a hard-rebooted server's (Nova's finish_migration does the
same with vifs_already_plugged).
"""
from __future__ import annotations

from computed.db import repository as repo
from computed.db.models import Instance
from computed.domain.devices import local_disks
from computed.domain.image_properties import GuestHardware, guest_hardware
from computed.flows import Deps, domain_spec, server_disks
from computed.virt.guest import FileDisk, GuestSpec, LocalDisk
from shared.db import transaction


class Gone(Exception):
    """The server was deleted meanwhile (its delete takes over)."""


def hardware(deps: Deps, instance: Instance, image: dict) -> GuestHardware:
    """The guest's hardware from the image record (ValueError if a property
    is bad: the caller's step fails)."""
    return guest_hardware(image, instance.vcpus, deps.settings.machine_type)


def image_record(deps: Deps, instance: Instance) -> dict:
    """imaged's record of the server's image, read with computed's own
    credentials (the image may be private to the server's project)."""
    image = deps.images.show(deps.service_caller(), instance.image_ref)
    if image is None:
        raise RuntimeError(f"Image {instance.image_ref} could not be found.")
    return image


def local_disk_files(deps: Deps, instance: Instance, hw: GuestHardware) -> list[LocalDisk]:
    """The local disks the flavor gives, where they lie."""
    names = local_disks(instance.ephemeral_gb, instance.swap, hw.disk_bus)
    disks = server_disks.existing(deps, instance, hw.disk_bus)
    with transaction(deps.sessions) as session:  # the metadata's block-device-mapping
        repo.record_device_names(session, instance.uuid, names.root, names.ephemeral,
                                 names.swap)
    return disks


def config_drive(deps: Deps, instance: Instance, hw: GuestHardware) -> list[FileDisk]:
    """disk.config written anew (the image, the name and the metadata may
    have changed), when the server has one."""
    drive = server_disks.wanted_config_drive(deps, instance, hw)
    if drive is None:
        return []
    if not domain_spec.write_config_drive(deps, instance.uuid, drive):
        raise Gone()
    return [drive]


def existing_config_drive(deps: Deps, instance: Instance,
                          hw: GuestHardware) -> list[FileDisk]:
    """disk.config as it lies in the directory (a revert's old one)."""
    drive = server_disks.config_drive_disk(deps, instance, hw)
    return [drive] if drive.path.exists() else []


def guest_spec(deps: Deps, instance: Instance, hw: GuestHardware,
               disks: list[LocalDisk]) -> GuestSpec:
    """The domain of the server as it is now in the database: its flavor's
    vCPUs and RAM, its attached volumes and its ports."""
    return domain_spec.guest_spec(
        deps, instance, hw, disks,
        [bdm for bdm in instance.volumes if bdm.status == "attached"], instance.vifs)


def start(deps: Deps, guest: GuestSpec, power_on: bool) -> None:
    """libvirt.xml written, the domain defined, and started if `power_on`."""
    directory = guest.console_log.parent
    (directory / "libvirt.xml").write_text(deps.driver.guest_xml(guest))
    console = directory / "console.log"
    if not console.exists():
        console.touch(mode=0o600)
    if power_on:
        deps.driver.spawn(guest)
    else:
        deps.driver.define(guest)


def current(deps: Deps, uuid: str, task_state: str | None) -> Instance:
    """The server, read again; Gone if it was deleted or another task took
    it over (a delete)."""
    with transaction(deps.sessions, write=False) as session:
        instance = repo.get_instance(session, uuid, None, include_deleted=True)
        if instance.deleted or instance.task_state != task_state:
            raise Gone()
        return instance


def next_task(deps: Deps, uuid: str, expected: str, task_state: str) -> None:
    """Move to the flow's next task_state (compare-and-set: Gone if a delete
    came in)."""
    with transaction(deps.sessions) as session:
        instance = repo.get_instance(session, uuid, None, include_deleted=True)
        if instance.deleted or instance.task_state != expected:
            raise Gone()
        instance.task_state = task_state
        instance.updated_at = repo.now()


def event(deps: Deps, ctx, uuid: str, event_type: str, **payload) -> None:
    with transaction(deps.sessions) as session:
        instance = repo.get_instance(session, uuid, None, include_deleted=True)
        deps.event(ctx, event_type, instance, session=session, **payload)
