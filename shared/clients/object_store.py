"""The object-store service (OpenStack Swift), as the other services call it:
the one module through which imaged's swift store reaches Swift, as Glance
reaches it only through glance_store's swift driver.

Swift's API is plain HTTP on <storage URL>/<container>/<object>, where the
storage URL (http://host:port/v1/AUTH_<project id>) is the object-store
entry of the caller's catalog: one account per project. The calls used
here: HEAD/PUT a container, PUT/GET/HEAD/DELETE an object, and a listing of
a container's objects by name prefix (to find an image's segments).
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import BinaryIO
from urllib.parse import quote

import requests

from shared.clients.base import Caller, RemoteError, ServiceClient
from shared.clients.identity import IdentityClient
from shared.clients.session import ServiceSession

CATALOG_TYPES = ("object-store",)
LISTING_LIMIT = 10000   # Swift's own limit on one page of a listing


class ObjectStoreClient(ServiceClient):
    """`url` is the caller's storage URL (.../v1/AUTH_<project id>)."""
    service = "swift"

    @classmethod
    def from_catalog(cls, session: ServiceSession, timeout: float) -> ObjectStoreClient:
        """Swift where the service user's catalog says it is: the storage
        URL of the service user's own project."""
        return cls(session, IdentityClient(session).endpoint(CATALOG_TYPES), timeout)

    @staticmethod
    def path(container: str, name: str = "") -> str:
        return f"/{quote(container, safe='')}" + (f"/{quote(name, safe='')}" if name else "")

    # --- containers ------------------------------------------------------------------
    def container_exists(self, caller: Caller, container: str) -> bool:
        response = self.call("HEAD", self.path(container), caller, expected=(204, 200, 404))
        return response.status_code != 404

    def create_container(self, caller: Caller, container: str) -> None:
        """PUT the container (201 made, 202 already there)."""
        self.call("PUT", self.path(container), caller, expected=(201, 202))

    def list_objects(self, caller: Caller, container: str, prefix: str = "") -> list[str]:
        """The names of the container's objects that start with `prefix`
        (every page of the listing)."""
        names: list[str] = []
        marker = ""
        while True:
            params = {"format": "json", "prefix": prefix, "limit": str(LISTING_LIMIT),
                      "marker": marker}
            response = self.call("GET", self.path(container), caller, expected=(200, 204, 404),
                                 params=params)
            page = response.json() if response.status_code == 200 else []
            names += [entry["name"] for entry in page]
            if len(page) < LISTING_LIMIT:
                return names
            marker = page[-1]["name"]

    # --- objects ---------------------------------------------------------------------
    def put_object(self, caller: Caller, container: str, name: str,
                   body: Iterable[bytes] | bytes | BinaryIO,
                   headers: dict | None = None) -> str:
        """PUT an object; an iterable body goes with chunked transfer encoding
        (its size need not be known), a file with its length from its
        position. Returns the object's ETag (its md5)."""
        response = self.call("PUT", self.path(container, name), caller, expected=(201,),
                             data=body, headers=headers or {}, timeout=self.timeout)
        return response.headers.get("ETag", "").strip('"')

    def head_object(self, caller: Caller, container: str, name: str) -> dict | None:
        """The object's headers, or None when there is no such object."""
        response = self.call("HEAD", self.path(container, name), caller, expected=(200, 404))
        return dict(response.headers) if response.status_code == 200 else None

    def get_object(self, caller: Caller, container: str, name: str, offset: int = 0,
                   length: int | None = None) -> requests.Response | None:
        """The object's data as a streamed response (the caller closes it),
        `length` bytes from `offset` (a Range request); None when the object
        does not exist. A 416 (a range past the end) gives an empty read."""
        headers = {}
        if offset or length is not None:
            end = "" if length is None else str(offset + length - 1)
            headers["Range"] = f"bytes={offset}-{end}"
        response = self.call("GET", self.path(container, name), caller,
                             expected=(200, 206, 404, 416), headers=headers, stream=True,
                             timeout=self.timeout)
        if response.status_code == 404:
            response.close()
            return None
        return response

    def delete_object(self, caller: Caller, container: str, name: str) -> None:
        """An object already gone is fine."""
        self.call("DELETE", self.path(container, name), caller, expected=(204, 404))


def stream(response: requests.Response, chunk_size: int) -> Iterator[bytes]:
    """The body of a streamed response, chunk by chunk; a broken connection
    becomes RemoteError (the download stops there)."""
    try:
        yield from response.iter_content(chunk_size)
    except requests.RequestException as exc:
        raise RemoteError(ObjectStoreClient.service, 503, f"reading from swift failed: {exc}",
                          reached=False) from None
