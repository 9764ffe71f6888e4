"""volumed's use of images (volumes made from images, images made from
volumes), through the shared image client (shared.clients.image): with the
user's token (so a user can only use images they can see) plus volumed's
own service token.

What stays here is what imaged's answers mean to volumed's users, the way
Cinder answers them: an image imaged does not know is volumed's 404, one
it refuses is a 400, an unreachable imaged a 503; any other failure of a
transfer is an ImageError (the flows record it on the volume). A download
is hashed as it streams: the sha512 imaged recorded at upload
(os_hash_value; the md5 `checksum` for an image that has no multihash)
must match, else the volume is not made."""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from shared.clients import Caller, ImageClient, RemoteError, ServiceSession
from shared.errors import ApiError, BadRequest, NotFound


class ImageError(Exception):
    """imaged refused, or the data is not what imaged said it is."""


class VolumeImages:
    def __init__(self, session: ServiceSession, base_url: str, timeout: float):
        self.client = ImageClient(session, base_url, timeout)

    def show(self, image_id: str, user_token: str) -> dict:
        """The image record, or 404/400 the way Cinder answers a bad imageRef."""
        try:
            image = self.client.show(Caller(user_token), image_id)
        except RemoteError as exc:
            if not exc.reached:
                raise ApiError(f"{exc.message}; try again later.", 503) from None
            raise BadRequest(f"Image {image_id} cannot be used: imaged answered "
                             f"{exc.status}.") from None
        if image is None:
            raise NotFound(f"Image {image_id} could not be found.")
        return image

    def download(self, image: dict, user_token: str, write: Callable[[bytes], object]) -> int:
        """Stream the image's data to `write`, chunk by chunk, and check its
        hashes at the end (the caller throws away what it wrote if this
        raises). Returns the number of bytes."""
        algorithm = expected_hash(image)[0]
        total = 0

        def counted(chunk: bytes) -> None:
            nonlocal total
            write(chunk)
            total += len(chunk)
        try:
            digests = self.client.download(Caller(user_token), image["id"], counted,
                                           (algorithm,))
        except RemoteError as exc:
            raise _image_error(exc, "refused the download") from None
        verify(image, algorithm, digests[algorithm])
        return total

    def download_to_file(self, image: dict, user_token: str, destination: Path) -> int:
        """Into a new file (a scratch file: not fsynced, it is read once)."""
        fd = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            return self.download(image, user_token, out.write)

    def create(self, body: dict, user_token: str) -> dict:
        try:
            return self.client.create(Caller(user_token), body)
        except RemoteError as exc:
            raise _image_error(exc, "refused to create the image") from None

    def upload(self, image_id: str, path: Path, user_token: str) -> None:
        try:
            self.client.upload(Caller(user_token), image_id, path)
        except RemoteError as exc:
            raise _image_error(exc, "refused the upload") from None

    def delete(self, image_id: str, user_token: str) -> None:
        """Best effort (cleaning up after a failed upload): only an imaged
        that cannot be reached is an ImageError."""
        try:
            self.client.delete(Caller(user_token), image_id)
        except RemoteError as exc:
            if not exc.reached:
                raise ImageError(str(exc)) from None


def _image_error(exc: RemoteError, what: str) -> ImageError:
    if not exc.reached:
        return ImageError(exc.message)
    return ImageError(f"imaged {what}: HTTP {exc.status} {exc.message[:200]}")


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
