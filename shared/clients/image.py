"""The image service (imaged, Glance v2), as every other service calls it:
the one module through which computed and volumed reach images, as Nova
reaches Glance only through nova/image/glance.py.

A download is hashed as it streams, in a thread of its own beside the
network and the disk (hashlib releases the GIL while it works); the caller
compares the digests with the image record by its own rules (computed
checks both the multihash and the md5 checksum, volumed the one OpenStack's
clients check).
"""
from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from shared.clients.base import Caller, RemoteError, ServiceClient

CHUNK = 1 << 20


class ImageClient(ServiceClient):
    service = "imaged"

    def show(self, caller: Caller, image_id: str) -> dict | None:
        """The image as the caller sees it; None if it does not exist for them."""
        try:
            return self.call("GET", f"/v2/images/{image_id}", caller).json()
        except RemoteError as exc:
            if exc.status == 404:
                return None
            raise

    def download(self, caller: Caller, image_id: str, write: Callable[[bytes], object],
                 algorithms: Iterable[str | None] = ("md5",)) -> dict[str, str]:
        """Stream the image's data to `write`, chunk by chunk; return its
        digests {algorithm: hex} for each algorithm hashlib knows (an unknown
        or None one is left out, for the caller to refuse). RemoteError 204
        if the image has no data. What was written is the caller's to throw
        away if this raises."""
        response = self.call("GET", f"/v2/images/{image_id}/file", caller,
                             expected=(200, 204), stream=True, timeout=self.timeout)
        hashing = _HashThread(name for name in algorithms
                              if name and name in hashlib.algorithms_available)
        try:
            with response:
                if response.status_code == 204:
                    raise RemoteError(self.service, 204, f"image {image_id} has no data")
                for chunk in response.iter_content(CHUNK):
                    hashing.feed(chunk)
                    write(chunk)
        finally:
            digests = hashing.finish()
        return digests

    def find(self, caller: Caller, **filters: str) -> list[dict]:
        """Every image the caller sees whose fields or properties equal
        `filters` (sort_key and sort_dir are passed on too), following
        imaged's pages to the end."""
        images: list[dict] = []
        path: str | None = "/v2/images"
        params: dict | None = dict(filters)
        while path:
            page = self.call("GET", path, caller, params=params).json()
            images += page.get("images", [])
            path, params = page.get("next"), None  # the next link carries the query
        return images

    def list_page(self, caller: Caller, params: list[tuple[str, str]]
                  ) -> tuple[list[dict], str | None]:
        """One page of GET /v2/images with these query parameters: its
        images and imaged's next link (a path carrying the query), if any."""
        page = self.call("GET", "/v2/images", caller, params=params).json()
        return page.get("images", []), page.get("next")

    def next_page(self, caller: Caller, link: str) -> tuple[list[dict], str | None]:
        page = self.call("GET", link, caller).json()
        return page.get("images", []), page.get("next")

    def patch(self, caller: Caller, image_id: str, changes: list[dict]) -> dict:
        """PATCH the image with a JSON patch (Glance's
        openstack-images-v2.1-json-patch); the updated image."""
        return self.call("PATCH", f"/v2/images/{image_id}", caller, json=changes, headers={
            "Content-Type": "application/openstack-images-v2.1-json-patch"}).json()

    def create(self, caller: Caller, body: dict) -> dict:
        return self.call("POST", "/v2/images", caller, expected=(201,), json=body).json()

    def upload(self, caller: Caller, image_id: str, path: Path) -> None:
        with open(path, "rb") as data:
            self.call("PUT", f"/v2/images/{image_id}/file", caller, expected=(200, 204),
                      data=data, headers={"Content-Type": "application/octet-stream"},
                      timeout=self.timeout)

    def delete(self, caller: Caller, image_id: str, missing_ok: bool = True) -> None:
        """An image already gone is fine (RemoteError 404 unless missing_ok)."""
        self.call("DELETE", f"/v2/images/{image_id}", caller,
                  expected=(204, 404) if missing_ok else (204,))


class _HashThread:
    """Digests computed in a thread, fed through a short queue."""

    def __init__(self, algorithms: Iterable[str]):
        self._hashes = {name: hashlib.new(name) for name in algorithms}
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=16)
        self._thread = threading.Thread(target=self._run, name="image-hash", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            for hasher in self._hashes.values():
                hasher.update(chunk)

    def feed(self, chunk: bytes) -> None:
        self._queue.put(chunk)

    def finish(self) -> dict[str, str]:
        self._queue.put(None)
        self._thread.join()
        return {name: hasher.hexdigest() for name, hasher in self._hashes.items()}
