"""The compute service (computed, Nova v2.1), as volumed and networkd call it.
Cinder's cinder/compute/nova.py tells Nova of one thing, the volume-extended
event after an in-use volume has grown, so that the running guest learns the
new size; and volumed asks which volumes a server holds, to let go of an
attachment nobody finished. Neutron's notifiers/nova.py tells Nova when it
has plugged or unplugged a server's port (network-vif-plugged,
network-vif-unplugged). computed is found in the catalog (it may start
after them)."""
from __future__ import annotations

from urllib.parse import urlsplit

from shared.clients.base import API_TIMEOUT, Caller, ServiceClient
from shared.clients.identity import IdentityClient
from shared.clients.session import ServiceSession

CATALOG_TYPES = ("compute",)


class ComputeClient(ServiceClient):
    """`url` is computed's root (http://host:port); calls go to <url>/v2.1/..."""
    service = "computed"

    @classmethod
    def from_catalog(cls, session: ServiceSession) -> ComputeClient:
        endpoint = urlsplit(IdentityClient(session).endpoint(CATALOG_TYPES))
        root = endpoint.path.split("/v2", 1)[0]
        return cls(session, f"{endpoint.scheme}://{endpoint.netloc}{root}", API_TIMEOUT)

    def external_events(self, events: list[dict]) -> list[dict]:
        """Send events ({name, server_uuid, tag, status}), with the
        service's own token (the event API is for admins and services);
        computed's answer per event (code, status). 200 and 207 (some
        failed) are both answers; anything else is RemoteError."""
        response = self.call("POST", "/v2.1/os-server-external-events", Caller(None),
                             expected=(200, 207), json={"events": events})
        return response.json()["events"]

    def volume_extended(self, server_uuids: list[str], volume_id: str) -> list[dict]:
        """One volume-extended event (tag: the volume) per server the volume
        is attached to."""
        return self.external_events([
            {"name": "volume-extended", "server_uuid": uuid, "tag": volume_id}
            for uuid in server_uuids])

    def server_volumes(self, server_uuid: str) -> list[str] | None:
        """The volumes computed maps to the server, whatever their state
        (os-volume_attachments, with the service's own token); None if the
        server does not exist (any more)."""
        response = self.call("GET", f"/v2.1/servers/{server_uuid}/os-volume_attachments",
                             Caller(None), expected=(200, 404))
        if response.status_code == 404:
            return None
        return [a["volumeId"] for a in response.json()["volumeAttachments"]]
