"""computed's calls to imaged (Glance v2) and volumed (Cinder v3), over
their public REST APIs, as Nova calls Glance and Cinder.

A call made for a user carries the user's token and computed's own service
token (X-Service-Token); a call computed makes for itself (cleaning up after
a restart, when no user token is at hand) carries its service token alone,
with the admin role of its service user.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import requests

from shared.clients import ServiceSession

LOG = logging.getLogger("computed.clients")
CHUNK = 1 << 20
API_TIMEOUT = 60.0  # a call without image data; data transfers get the configured timeout
VOLUME_MICROVERSION = "volume 3.44"  # the attachments API with os-complete


@dataclass(frozen=True)
class Caller:
    """Who a call is for: a user's token and project, or (token None) the
    service itself, acting in its own project."""
    token: str | None
    project_id: str


class RemoteError(Exception):
    """Another service said no; status and its message."""

    def __init__(self, service: str, status: int, message: str):
        self.service, self.status, self.message = service, status, message
        super().__init__(f"{service} answered {status}: {message}")


def _message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:500] or response.reason
    if isinstance(body, dict):
        if "message" in body:
            return str(body["message"])
        for value in body.values():
            if isinstance(value, dict) and "message" in value:
                return str(value["message"])
    return str(body)[:500]


class _Client:
    service = "service"

    def __init__(self, session: ServiceSession, url: str, timeout: float):
        self.session, self.url, self.timeout = session, url.rstrip("/"), timeout

    def _call(self, method: str, path: str, caller: Caller, expected=(200,), **kwargs):
        kwargs.setdefault("timeout", API_TIMEOUT)
        try:
            response = self.session.request(method, f"{self.url}{path}", caller.token,
                                            **kwargs)
        except requests.RequestException as exc:
            raise RemoteError(self.service, 503, f"cannot reach {self.service}: {exc}") \
                from None
        if response.status_code not in expected:
            raise RemoteError(self.service, response.status_code, _message(response))
        return response


class ImagedClient(_Client):
    service = "imaged"

    def show(self, caller: Caller, image_id: str) -> dict | None:
        """The image as the caller sees it; None if it does not exist for them."""
        try:
            return self._call("GET", f"/v2/images/{image_id}", caller).json()
        except RemoteError as exc:
            if exc.status == 404:
                return None
            raise

    def download(self, caller: Caller, image_id: str, target: BinaryIO,
                 hash_algorithm: str | None) -> dict[str, str]:
        """Stream the image's data into `target`; return its digests
        {"md5": ..., "<hash_algorithm>": ...} to compare with the record."""
        hashers = {"md5": hashlib.md5()}
        if hash_algorithm and hash_algorithm in hashlib.algorithms_available:
            hashers[hash_algorithm] = hashlib.new(hash_algorithm)
        response = self._call("GET", f"/v2/images/{image_id}/file", caller,
                              expected=(200, 204), stream=True, timeout=self.timeout)
        with response:
            if response.status_code == 204:
                raise RemoteError(self.service, 204, f"image {image_id} has no data")
            for chunk in response.iter_content(CHUNK):
                target.write(chunk)
                for hasher in hashers.values():
                    hasher.update(chunk)
        return {name: hasher.hexdigest() for name, hasher in hashers.items()}

    def create(self, caller: Caller, body: dict) -> dict:
        return self._call("POST", "/v2/images", caller, expected=(201,), json=body).json()

    def upload(self, caller: Caller, image_id: str, path: Path) -> None:
        with open(path, "rb") as data:
            self._call("PUT", f"/v2/images/{image_id}/file", caller, expected=(204,),
                       data=data, headers={"Content-Type": "application/octet-stream"},
                       timeout=self.timeout)

    def delete(self, caller: Caller, image_id: str) -> None:
        self._call("DELETE", f"/v2/images/{image_id}", caller, expected=(204, 404))


class VolumedClient(_Client):
    service = "volumed"

    def _volume_call(self, method: str, path: str, caller: Caller, expected=(200,), **kw):
        headers = {"OpenStack-API-Version": VOLUME_MICROVERSION, **kw.pop("headers", {})}
        return self._call(method, f"/v3/{caller.project_id}{path}", caller, expected,
                          headers=headers, **kw)

    def show_volume(self, caller: Caller, volume_id: str) -> dict | None:
        try:
            return self._volume_call("GET", f"/volumes/{volume_id}", caller).json()["volume"]
        except RemoteError as exc:
            if exc.status == 404:
                return None
            raise

    def reserve(self, caller: Caller, volume_id: str, instance_uuid: str) -> str:
        """POST attachments without a connector: the volume is reserved for
        this server (nobody else can take it); returns the attachment id."""
        body = {"attachment": {"volume_uuid": volume_id, "instance_uuid": instance_uuid}}
        answer = self._volume_call("POST", "/attachments", caller, json=body).json()
        return answer["attachment"]["id"]

    def connect(self, caller: Caller, attachment_id: str, connector: dict) -> dict:
        """PUT the connector: volumed exports the volume to this host's
        initiator and answers with connection_info (portal, IQN, LUN, CHAP)."""
        body = {"attachment": {"connector": connector}}
        answer = self._volume_call("PUT", f"/attachments/{attachment_id}", caller,
                                   json=body).json()
        return answer["attachment"]["connection_info"]

    def complete(self, caller: Caller, attachment_id: str) -> None:
        self._volume_call("POST", f"/attachments/{attachment_id}/action", caller,
                          expected=(200, 202, 204), json={"os-complete": None})

    def delete_attachment(self, caller: Caller, attachment_id: str) -> None:
        """Detach: the export and its CHAP account go; the volume is available
        again, its data kept. An attachment already gone is fine."""
        self._volume_call("DELETE", f"/attachments/{attachment_id}", caller,
                          expected=(200, 202, 204, 404))

    def delete_volume(self, caller: Caller, volume_id: str) -> None:
        self._volume_call("DELETE", f"/volumes/{volume_id}", caller,
                          expected=(202, 204, 404))
