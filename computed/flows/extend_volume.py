"""A volume attached to a server has grown (the volume-extended event
volumed sends after extending an in-use volume): tell the running guest its
disk's new size, as Nova's compute manager extend_volume and the libvirt
driver's blockResize do.

    find the server's mapping of the volume (none: nothing to do)
    -> ask volumed the volume's size (GiB)
    -> the hypervisor resizes the guest's disk to that many bytes

Nothing here changes computed's database, so there is nothing to undo. A
failure is logged and the event is still answered as delivered: as in Nova,
the event API says the event arrived, not what the compute host made of it.
"""
from __future__ import annotations

import logging

from computed.db import repository as repo
from computed.flows import Deps
from shared.db import transaction
from shared.errors import NotFound
from shared.units import GiB

LOG = logging.getLogger(__name__)


def extend_attached_volume(deps: Deps, server_uuid: str, volume_id: str) -> None:
    with transaction(deps.sessions, write=False) as session:
        try:
            instance = repo.get_instance(session, server_uuid, None)
        except NotFound:
            return
        bdm = repo.find_volume_mapping(instance, volume_id)
        if bdm is None or not bdm.device_name:
            LOG.warning("volume-extended for volume %s, which server %s does not have "
                        "attached; ignored", volume_id, server_uuid)
            return
        domain_name, device = instance.domain_name, bdm.device_name
    try:
        volume = deps.volumes.show_volume(deps.service_caller(), volume_id)
        if volume is None:
            raise NotFound(f"Volume {volume_id} could not be found.")
        new_size = int(volume["size"]) * GiB
        deps.driver.extend_volume(domain_name, device, new_size)
    except Exception as exc:
        LOG.warning("could not resize volume %s in server %s: %s", volume_id,
                    server_uuid, exc)
        return
    LOG.info("volume %s of server %s is now %d bytes (%s)", volume_id, server_uuid,
             new_size, device)
