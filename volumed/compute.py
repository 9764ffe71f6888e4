"""What volumed tells computed: after an in-use volume has grown, the
servers it is attached to get Nova's volume-extended event (as Cinder's
volume manager calls cinder/compute/nova.py extend_volume), so that each
running guest is told its disk's new size. And what volumed asks it: does a
server still hold a volume (reconcile.py, for attachments never finished)."""
from __future__ import annotations

import logging

from shared.clients import ComputeClient, RemoteError, ServiceSession

LOG = logging.getLogger(__name__)


class ComputeEvents:
    def __init__(self, session: ServiceSession):
        self.session = session

    def volume_extended(self, server_uuids: list[str], volume_id: str) -> None:
        """Send the events; a failure is logged, never raised: the volume has
        grown whatever computed makes of it (as in Cinder, where the guest
        then sees the new size at its next start)."""
        if not server_uuids:
            return
        try:
            answers = ComputeClient.from_catalog(self.session).volume_extended(
                server_uuids, volume_id)
        except RemoteError as exc:
            LOG.warning("could not tell computed that volume %s was extended: %s",
                        volume_id, exc)
            return
        for answer in answers:
            if answer.get("code") != 200:
                LOG.warning("computed did not take volume-extended for server %s: %s %s",
                            answer.get("server_uuid"), answer.get("code"),
                            answer.get("status"))

    def server_holds(self, server_uuid: str, volume_id: str) -> bool | None:
        """Does computed still map the volume to the server (in any state)?
        None when computed cannot say now (down, or not in the catalog)."""
        try:
            volumes = ComputeClient.from_catalog(self.session).server_volumes(server_uuid)
        except Exception as exc:  # computed unreachable: ask again later
            LOG.info("cannot ask computed about server %s: %s", server_uuid, exc)
            return None
        return volumes is not None and volume_id in volumes
