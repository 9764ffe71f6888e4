"""The cloud as one logged-in user sees it: their token, their catalog.

Every call goes to a service's public REST API with the user's token
(X-Auth-Token) and nothing else: no service token, no admin credentials.
So the answers are exactly what policy lets this user see, and what the
`openstack` client would show them. The URLs come from the catalog in the
token, as the clients find them.

A refusal or an unreachable service raises CloudError with the status and
the service's own message, which the pages show as they are.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any
from urllib.parse import urlsplit

import requests

from shared.clients.base import error_message
from shared.request_ids import HEADER as REQUEST_ID_HEADER
from shared.timeutil import parse_iso

LOG = logging.getLogger(__name__)
# The services that serve GET /pocketstack/v1/events, by catalog type.
EVENT_SOURCES = ("identity", "image", "compute", "block-storage", "network")
UPLOAD_CHUNK = 1 << 20
NOVA_MICROVERSION = "2.1"


class CloudError(Exception):
    """A service said no (status, its message), or could not be reached (503)."""

    def __init__(self, status: int, message: str):
        self.status, self.message = status, message
        super().__init__(f"{status}: {message}")


@dataclass
class Login:
    """What a successful login gives: the token (kept server-side only), who
    the user is, and where the services are."""
    token: str
    user_name: str
    user_id: str
    project_name: str
    project_id: str
    roles: list[str]
    expires_at: float
    endpoints: dict[str, str] = field(default_factory=dict)  # type -> public URL


def log_in(identity_url: str, user: str, password: str, project: str,
           timeout: float) -> Login:
    """POST /v3/auth/tokens with a password, scoped to a project of the
    Default domain. Raises CloudError (401 for wrong credentials)."""
    body = {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": user, "password": password, "domain": {"name": "Default"}}}},
        "scope": {"project": {"name": project, "domain": {"name": "Default"}}}}}
    try:
        response = requests.post(f"{identity_url.rstrip('/')}/v3/auth/tokens", json=body,
                                 timeout=timeout)
    except requests.RequestException:
        raise CloudError(503, "identity could not be reached") from None
    if response.status_code != 201:
        raise CloudError(response.status_code, error_message(response))
    data = response.json()["token"]
    endpoints = {}
    for entry in data.get("catalog", []):
        for endpoint in entry["endpoints"]:
            if endpoint["interface"] == "public":
                endpoints[entry["type"]] = endpoint["url"].rstrip("/")
    return Login(token=response.headers["X-Subject-Token"], user_name=data["user"]["name"],
                 user_id=data["user"]["id"], project_name=data["project"]["name"],
                 project_id=data["project"]["id"],
                 roles=[role["name"] for role in data.get("roles", [])],
                 expires_at=parse_iso(data["expires_at"]).timestamp(), endpoints=endpoints)


class SizedStream:
    """A request body of known length read piece by piece from `source`
    (the browser's upload, as it arrives): requests sends it with a
    Content-Length, streaming, without holding the whole file."""

    def __init__(self, source: IO[bytes], length: int):
        self._source, self._length = source, length

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator[bytes]:
        left = self._length
        while left > 0:
            piece = self._source.read(min(UPLOAD_CHUNK, left))
            if not piece:
                raise CloudError(400, "the upload ended before its announced size")
            left -= len(piece)
            yield piece


class Cloud:
    """The services' APIs, called as one user. `request_id` is sent as the
    global request id, so the services' logs tie their lines to the
    dashboard's action."""

    def __init__(self, login: Login, timeout: float, request_id: str | None = None):
        self.login, self.timeout, self.request_id = login, timeout, request_id
        self.http = requests.Session()

    # -- the call ---------------------------------------------------------

    def url(self, service_type: str) -> str:
        try:
            return self.login.endpoints[service_type]
        except KeyError:
            raise CloudError(503, f"the catalog has no {service_type} service") from None

    def call(self, method: str, service_type: str, path: str, *,
             expected: tuple[int, ...] = (200,), **kwargs: Any) -> requests.Response:
        headers = {"X-Auth-Token": self.login.token, **kwargs.pop("headers", {})}
        if service_type == "compute":
            headers.setdefault("X-OpenStack-Nova-API-Version", NOVA_MICROVERSION)
        if self.request_id:
            headers[REQUEST_ID_HEADER] = self.request_id
        kwargs.setdefault("timeout", self.timeout)
        try:
            response = self.http.request(method, self.url(service_type) + path,
                                         headers=headers, **kwargs)
        except requests.RequestException:
            raise CloudError(503, f"the {service_type} service could not be reached") \
                from None
        if response.status_code not in expected:
            raise CloudError(response.status_code, error_message(response))
        return response

    def get(self, service_type: str, path: str, key: str, **params: Any) -> Any:
        return self.call("GET", service_type, path, params=params or None).json()[key]

    def root_url(self, service_type: str) -> str:
        """scheme://host:port of a service: where /pocketstack/v1/events is."""
        parts = urlsplit(self.url(service_type))
        return f"{parts.scheme}://{parts.netloc}"

    # -- identity ---------------------------------------------------------

    def revoke_token(self) -> None:
        """DELETE /v3/auth/tokens: the token stops working everywhere."""
        self.call("DELETE", "identity", "/v3/auth/tokens", expected=(204,),
                  headers={"X-Subject-Token": self.login.token})

    # -- images (Glance v2) -----------------------------------------------

    def images(self) -> list[dict]:
        return self.get("image", "/v2/images", "images", limit=200)

    def image(self, image_id: str) -> dict:
        return self.call("GET", "image", f"/v2/images/{image_id}").json()

    def create_image(self, name: str, disk_format: str, container_format: str) -> dict:
        return self.call("POST", "image", "/v2/images", expected=(201,), json={
            "name": name, "disk_format": disk_format,
            "container_format": container_format}).json()

    def upload_image_data(self, image_id: str, data: IO[bytes], length: int) -> None:
        """PUT /v2/images/{id}/file, streamed from `data` as it is read."""
        self.call("PUT", "image", f"/v2/images/{image_id}/file", expected=(204,),
                  data=SizedStream(data, length),
                  headers={"Content-Type": "application/octet-stream"})

    def delete_image(self, image_id: str) -> None:
        self.call("DELETE", "image", f"/v2/images/{image_id}", expected=(204,))

    # -- compute (Nova v2.1) ----------------------------------------------

    def servers(self) -> list[dict]:
        return self.get("compute", "/servers/detail", "servers")

    def server(self, server_id: str) -> dict:
        return self.get("compute", f"/servers/{server_id}", "server")

    def flavors(self) -> list[dict]:
        return self.get("compute", "/flavors/detail", "flavors")

    def flavor(self, flavor_id: str) -> dict:
        return self.get("compute", f"/flavors/{flavor_id}", "flavor")

    def keypairs(self) -> list[dict]:
        return [item["keypair"] for item in self.get("compute", "/os-keypairs", "keypairs")]

    def launch(self, name: str, image_id: str, flavor_id: str, network_id: str | None,
               key_name: str | None) -> str:
        server: dict[str, Any] = {"name": name, "imageRef": image_id, "flavorRef": flavor_id}
        if network_id:
            server["networks"] = [{"uuid": network_id}]
        if key_name:
            server["key_name"] = key_name
        response = self.call("POST", "compute", "/servers", expected=(202,),
                             json={"server": server})
        return response.json()["server"]["id"]

    def terminate(self, server_id: str) -> None:
        self.call("DELETE", "compute", f"/servers/{server_id}", expected=(204,))

    def server_action(self, server_id: str, action: dict, expected=(202,)) -> requests.Response:
        return self.call("POST", "compute", f"/servers/{server_id}/action", json=action,
                         expected=expected)

    def console_log(self, server_id: str, lines: int = 60) -> str:
        response = self.server_action(server_id, {"os-getConsoleOutput": {"length": lines}},
                                      expected=(200,))
        return response.json()["output"]

    def snapshot(self, server_id: str, name: str) -> str | None:
        """createImage; the new image's id (from the Location of the answer)."""
        response = self.server_action(server_id, {"createImage": {"name": name}})
        location = response.headers.get("Location", "")
        return location.rstrip("/").rsplit("/", 1)[-1] or None

    def volume_attachments(self, server_id: str) -> list[dict]:
        return self.get("compute", f"/servers/{server_id}/os-volume_attachments",
                        "volumeAttachments")

    def attach_volume(self, server_id: str, volume_id: str) -> dict:
        return self.call("POST", "compute", f"/servers/{server_id}/os-volume_attachments",
                         json={"volumeAttachment": {"volumeId": volume_id}}
                         ).json()["volumeAttachment"]

    def detach_volume(self, server_id: str, volume_id: str) -> None:
        self.call("DELETE", "compute",
                  f"/servers/{server_id}/os-volume_attachments/{volume_id}",
                  expected=(202,))

    def hypervisors(self) -> list[dict]:
        """The host's capacity and usage; admin only by default (403 else)."""
        return self.get("compute", "/os-hypervisors/detail", "hypervisors")

    # -- block storage (Cinder v3) -----------------------------------------

    def volumes(self) -> list[dict]:
        return self.get("block-storage", "/volumes/detail", "volumes")

    def create_volume(self, name: str, size_gb: int) -> dict:
        return self.call("POST", "block-storage", "/volumes", expected=(202,), json={
            "volume": {"name": name, "size": size_gb}}).json()["volume"]

    # -- network (Neutron v2.0) ----------------------------------------------

    def networks(self) -> list[dict]:
        return self.get("network", "/v2.0/networks", "networks")

    def subnets(self) -> list[dict]:
        return self.get("network", "/v2.0/subnets", "subnets")

    def routers(self) -> list[dict]:
        return self.get("network", "/v2.0/routers", "routers")

    def floating_ips(self) -> list[dict]:
        return self.get("network", "/v2.0/floatingips", "floatingips")

    # -- events (every service's GET /pocketstack/v1/events) -----------------

    def events(self, since: str | None, limit: int = 100) -> list[dict]:
        """The newest events of the user's project from every service that
        the catalog names, oldest first. A service that refuses or does not
        answer is left out (the timeline shows the others)."""
        found: list[dict] = []
        params: dict[str, Any] = {"limit": limit, **({"since": since} if since else {})}
        for service_type in EVENT_SOURCES:
            if service_type not in self.login.endpoints:
                continue
            url = self.root_url(service_type) + "/pocketstack/v1/events"
            try:
                response = self.http.get(url, params=params, timeout=self.timeout,
                                         headers={"X-Auth-Token": self.login.token})
            except requests.RequestException:
                continue
            if response.status_code == 200:
                found += response.json()["events"]
        return sorted(found, key=lambda event: event["timestamp"])
