"""What every flow that makes a server's domain makes the same way, whether
for the first time (launch.py) or again (respawn.py: rebuild, resize,
migrate, revert):

    guest_spec      the GuestSpec from the server's records: its flavor's
                    vCPUs and RAM, its disks, volumes and ports
    config drive    disk.config written from the documents the metadata
                    service answers with (computed/metadata)
"""
from __future__ import annotations

from collections.abc import Iterable

from computed.configdrive import build as build_config_drive
from computed.db.models import BlockDeviceMapping, Instance, VirtualInterface
from computed.domain.image_properties import GuestHardware
from computed.flows import Deps, ports
from computed.flows.volumes import volume_spec
from computed.metadata.documents import Documents
from computed.metadata.gather import gather
from computed.virt.guest import FileDisk, GuestSpec, LocalDisk


def guest_spec(deps: Deps, instance: Instance, hw: GuestHardware, disks: list[LocalDisk],
               volumes: Iterable[BlockDeviceMapping],
               vifs: Iterable[VirtualInterface]) -> GuestSpec:
    """The domain of the server with `disks`, `volumes` (attached or being
    attached) and the ports of `vifs`, in the guest's order."""
    return GuestSpec(
        uuid=instance.uuid, domain_name=instance.domain_name, vcpus=instance.vcpus,
        memory_mb=instance.memory_mb, disks=disks,
        volumes=[volume_spec(deps, bdm) for bdm in volumes],
        console_log=deps.instance_dir(instance.uuid) / "console.log",
        machine_type=deps.settings.machine_type, hardware=hw,
        nics=[ports.nic(vif, hw.vif_model) for vif in vifs],
        labels={"name": instance.display_name, "project": instance.project_id,
                "user": instance.user_id, "flavor": (instance.flavor or {}).get("name", "")})


def write_config_drive(deps: Deps, instance_uuid: str, drive: FileDisk) -> bool:
    """drive.path written anew from what the server is now (its image, name,
    metadata and ports may have changed since the last one); False, and
    nothing written, when the server is gone."""
    facts = gather(deps, instance_uuid, deps.settings.dhcp_domain)
    if facts is None:
        return False
    drive.path.unlink(missing_ok=True)
    build_config_drive(drive.path, Documents(facts).config_drive_files())
    return True
