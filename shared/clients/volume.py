"""The block-storage service (volumed, Cinder v3), as every other service
calls it: the one module through which computed and imaged's volume store
reach volumes, as Nova reaches Cinder only through nova/volume/cinder.py.

Attaching is Cinder's attachments API (microversion 3.44, the first with
os-complete): reserve (POST, no connector: nothing is exported yet), connect
(PUT the host's connector: volumed exports the volume and answers with the
connection_info), complete, and delete the attachment to detach.
"""
from __future__ import annotations

from collections.abc import Collection
from urllib.parse import urlsplit

import requests

from shared.clients.base import Caller, ServiceClient
from shared.clients.identity import IdentityClient
from shared.clients.session import ServiceSession

MICROVERSION = "volume 3.44"  # the attachments API with os-complete
CATALOG_TYPES = ("block-storage", "volumev3")


class VolumeClient(ServiceClient):
    """`url` is volumed's root (http://host:port); a call goes to
    <url>/v3/<the caller's project>/..."""
    service = "volumed"

    @classmethod
    def from_catalog(cls, session: ServiceSession, timeout: float) -> VolumeClient:
        """volumed where the service user's catalog says it is (as Glance's
        cinder store finds Cinder): its root, the part before /v3/<project>."""
        endpoint = urlsplit(IdentityClient(session).endpoint(CATALOG_TYPES))
        root = endpoint.path.split("/v3", 1)[0]
        return cls(session, f"{endpoint.scheme}://{endpoint.netloc}{root}", timeout)

    def volume_call(self, method: str, path: str, caller: Caller,
                    expected: Collection[int] = (200,), **kwargs) -> requests.Response:
        if not caller.project_id:
            raise ValueError("a call to volumed needs the caller's project id")
        headers = {"OpenStack-API-Version": MICROVERSION, **kwargs.pop("headers", {})}
        return self.call(method, f"/v3/{caller.project_id}{path}", caller, expected,
                         headers=headers, **kwargs)

    # --- volumes ---------------------------------------------------------------------
    def show_volume(self, caller: Caller, volume_id: str) -> dict | None:
        """The volume as the caller sees it; None if it does not exist for them."""
        response = self.volume_call("GET", f"/volumes/{volume_id}", caller,
                                    expected=(200, 404))
        return response.json()["volume"] if response.status_code == 200 else None

    def create_volume(self, caller: Caller, body: dict) -> dict:
        """POST the {"volume": ...} body; the new volume (status creating)."""
        return self.volume_call("POST", "/volumes", caller, expected=(202,),
                                json=body).json()["volume"]

    def delete_volume(self, caller: Caller, volume_id: str) -> None:
        """A volume already gone is fine."""
        self.volume_call("DELETE", f"/volumes/{volume_id}", caller,
                         expected=(202, 204, 404))

    # --- snapshots -------------------------------------------------------------------
    def create_snapshot(self, caller: Caller, volume_id: str, name: str,
                        description: str | None, force: bool = False) -> dict:
        """POST snapshots (force: of an in-use volume, as Nova's
        create_snapshot_force); the new snapshot (status creating)."""
        body = {"snapshot": {"volume_id": volume_id, "name": name,
                             "description": description, "force": force}}
        return self.volume_call("POST", "/snapshots", caller, expected=(202,),
                                json=body).json()["snapshot"]

    def delete_snapshot(self, caller: Caller, snapshot_id: str) -> None:
        """A snapshot already gone is fine."""
        self.volume_call("DELETE", f"/snapshots/{snapshot_id}", caller,
                         expected=(202, 204, 404))

    # --- attachments -----------------------------------------------------------------
    def reserve(self, caller: Caller, volume_id: str, instance_uuid: str | None = None,
                mode: str | None = None) -> str:
        """POST attachments without a connector: the volume is reserved for
        this server, or this host (nobody else can take it); the attachment id."""
        attachment: dict[str, str] = {"volume_uuid": volume_id}
        if instance_uuid:
            attachment["instance_uuid"] = instance_uuid
        if mode:
            attachment["mode"] = mode
        answer = self.volume_call("POST", "/attachments", caller,
                                  json={"attachment": attachment}).json()
        return answer["attachment"]["id"]

    def connect(self, caller: Caller, attachment_id: str, connector: dict) -> dict:
        """PUT the connector: volumed exports the volume to this host's
        initiator and answers with connection_info (portal, IQN, LUN, CHAP)."""
        body = {"attachment": {"connector": connector}}
        answer = self.volume_call("PUT", f"/attachments/{attachment_id}", caller,
                                  json=body).json()
        return answer["attachment"]["connection_info"]

    def complete(self, caller: Caller, attachment_id: str) -> None:
        self.volume_call("POST", f"/attachments/{attachment_id}/action", caller,
                         expected=(200, 202, 204), json={"os-complete": None})

    def delete_attachment(self, caller: Caller, attachment_id: str) -> None:
        """Detach: the export and its CHAP account go; the volume is available
        again, its data kept. An attachment already gone is fine."""
        self.volume_call("DELETE", f"/attachments/{attachment_id}", caller,
                         expected=(200, 202, 204, 404))
