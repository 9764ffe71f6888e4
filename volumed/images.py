"""Calling imaged (Glance v2) for volumes made from images and images made
from volumes, over imaged's public API with the user's token (so a user can
only use images they can see) plus volumed's own service token.

A download is hashed as it streams: the sha512 imaged recorded at upload
(os_hash_value; the md5 `checksum` for an image that has no multihash) must
match, else the volume is not made."""
from __future__ import annotations

import hashlib
import os
import queue
import threading
from pathlib import Path
from typing import Callable

from shared.clients import ServiceSession
from shared.errors import ApiError, BadRequest, NotFound

CHUNK = 1024 * 1024


class ImageError(Exception):
    """imaged refused, or the data is not what imaged said it is."""


class ImagedClient:
    def __init__(self, session: ServiceSession, base_url: str, timeout: float):
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, path: str, user_token: str, **kwargs):
        kwargs.setdefault("timeout", self.timeout)
        try:
            return self.session.request(method, f"{self.base_url}{path}", user_token,
                                        **kwargs)
        except Exception as exc:  # connection refused, timeout, auth of the service user
            raise ImageError(f"imaged could not be reached: {exc}") from None

    def show(self, image_id: str, user_token: str) -> dict:
        """The image record, or 404/400 the way Cinder answers a bad imageRef."""
        try:
            response = self._call("GET", f"/v2/images/{image_id}", user_token)
        except ImageError as exc:
            raise ApiError(f"{exc}; try again later.", 503) from None
        if response.status_code == 404:
            raise NotFound(f"Image {image_id} could not be found.")
        if response.status_code != 200:
            raise BadRequest(f"Image {image_id} cannot be used: imaged answered "
                             f"{response.status_code}.")
        return response.json()

    def download(self, image: dict, user_token: str, write: Callable[[bytes], None]) -> int:
        """Stream the image's data to `write`, chunk by chunk, and check its
        hashes at the end (the caller throws away what it wrote if this
        raises). Returns the number of bytes.

        The hash runs in a thread of its own, beside the network and the
        disk (hashlib releases the GIL while it works)."""
        algorithm = expected_hash(image)[0]
        response = self._call("GET", f"/v2/images/{image['id']}/file", user_token, stream=True)
        hashing = _HashThread(algorithm)
        total = 0
        try:
            with response:
                if response.status_code != 200:
                    raise ImageError(f"imaged refused the download: HTTP "
                                     f"{response.status_code}")
                for chunk in response.iter_content(CHUNK):
                    hashing.feed(chunk)
                    write(chunk)
                    total += len(chunk)
        finally:
            digest = hashing.finish()
        verify(image, algorithm, digest)
        return total

    def download_to_file(self, image: dict, user_token: str, destination: Path) -> int:
        """Into a new file (a scratch file: not fsynced, it is read once)."""
        fd = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            return self.download(image, user_token, out.write)

    def create(self, body: dict, user_token: str) -> dict:
        response = self._call("POST", "/v2/images", user_token, json=body)
        if response.status_code != 201:
            raise ImageError(f"imaged refused to create the image: HTTP "
                             f"{response.status_code} {response.text[:200]}")
        return response.json()

    def upload(self, image_id: str, path: Path, user_token: str) -> None:
        with open(path, "rb") as data:
            response = self._call("PUT", f"/v2/images/{image_id}/file", user_token, data=data,
                                  headers={"Content-Type": "application/octet-stream"})
        if response.status_code not in (200, 204):
            raise ImageError(f"imaged refused the upload: HTTP {response.status_code} "
                             f"{response.text[:200]}")

    def delete(self, image_id: str, user_token: str) -> None:
        self._call("DELETE", f"/v2/images/{image_id}", user_token)


class _HashThread:
    """One hash computed in a thread, fed through a short queue."""

    def __init__(self, algorithm: str):
        self._hash = hashlib.new(algorithm)
        self._queue: queue.Queue = queue.Queue(maxsize=16)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            self._hash.update(chunk)

    def feed(self, chunk: bytes) -> None:
        self._queue.put(chunk)

    def finish(self) -> str:
        self._queue.put(None)
        self._thread.join()
        return self._hash.hexdigest()


def expected_hash(image: dict) -> tuple[str, str]:
    """(algorithm, hex digest) to check a download against: the multihash
    (os_hash_algo/os_hash_value, sha512 by default) when imaged recorded one,
    else the legacy md5 `checksum`, as the OpenStack clients do."""
    algo, value = image.get("os_hash_algo"), image.get("os_hash_value")
    if algo and value:
        if algo not in ("sha512", "sha384", "sha256"):
            raise ImageError(f"image hash algorithm {algo} is not supported")
        return algo, value
    if image.get("checksum"):
        return "md5", image["checksum"]
    raise ImageError("the image has no checksum to verify the download against")


def verify(image: dict, algorithm: str, digest: str) -> None:
    expected_algorithm, expected = expected_hash(image)
    if algorithm != expected_algorithm or digest != expected:
        field = "checksum" if expected_algorithm == "md5" else "os_hash_value"
        raise ImageError(f"the downloaded data does not match the image's {field} "
                         f"({expected_algorithm})")


# Image fields copied into a volume's volume_image_metadata (Cinder does the
# same, plus every custom property of the image).
IMAGE_BASE_FIELDS = ("id", "name", "checksum", "disk_format", "container_format", "size",
                     "min_disk", "min_ram")
IMAGE_SKIPPED = {"id", "name", "status", "visibility", "protected", "os_hidden", "owner",
                 "tags", "created_at", "updated_at", "file", "self", "schema", "locations",
                 "direct_url", "virtual_size", "os_hash_algo", "os_hash_value", "stores"}


def volume_image_metadata(image: dict) -> dict[str, str]:
    metadata = {}
    for field in IMAGE_BASE_FIELDS:
        if image.get(field) is not None:
            key = "image_" + field if field in ("id", "name") else field
            metadata[key] = str(image[field])
    for key, value in image.items():
        if key not in IMAGE_SKIPPED and key not in IMAGE_BASE_FIELDS and value is not None \
                and not key.startswith("os_glance"):
            metadata[key] = value if isinstance(value, str) else str(value)
    return metadata
