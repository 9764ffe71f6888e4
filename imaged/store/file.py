"""The file store: one file per image under a directory of the state dir.

Uploads are written to "<id>.partial" and renamed to "<id>" only once the
upload has been checked, so an image's file exists only for data that was
accepted, and a failed upload removes its partial file. Locations are
file:// URLs; a location outside the store's directory is never read or
deleted (a user must not be able to point an image at /etc/shadow).
"""
from __future__ import annotations

import errno
import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

from imaged.store.base import (
    DataNotFound,
    ImageData,
    LocationRefused,
    Store,
    StoreError,
    StoreFull,
    StoreWriter,
)

PARTIAL_SUFFIX = ".partial"


class FileWriter(StoreWriter):
    def __init__(self, directory: Path, image_id: str):
        self._final = directory / image_id
        self._partial = directory / (image_id + PARTIAL_SUFFIX)
        try:
            # O_EXCL: two uploads of one image can never share a file.
            self._fd = os.open(self._partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise StoreError(f"An upload of image {image_id} is already being written.") \
                from None
        self._open = True

    def write(self, data: memoryview) -> None:
        view = memoryview(data)
        try:
            while view:
                written = os.write(self._fd, view)  # releases the GIL
                view = view[written:]
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise StoreFull("Image storage media is full.") from None
            raise StoreError(f"Writing image data failed: {exc.strerror}.") from None

    def commit(self) -> str:
        self._close()
        os.replace(self._partial, self._final)
        return self._final.as_uri()

    def abort(self) -> None:
        self._close()
        self._partial.unlink(missing_ok=True)

    def _close(self) -> None:
        if self._open:
            self._open = False
            os.close(self._fd)


class FileStore(Store):
    name = "file"
    schemes = ("file",)
    writable = True

    def __init__(self, directory: Path):
        self.directory = directory.resolve()
        self.directory.mkdir(parents=True, exist_ok=True)

    def owns(self, url: str) -> bool:
        """Only locations inside this store's own directory (two file stores
        keep two directories)."""
        try:
            self.path_of(url)
        except LocationRefused:
            return False
        return True

    def properties(self) -> dict:
        return {"data_dir": str(self.directory)}

    def path_of(self, url: str) -> Path:
        """The file behind a file:// URL, only if it is inside the store."""
        parts = urlsplit(url)
        path = Path(unquote(parts.path)).resolve()
        if parts.scheme != "file" or path.parent != self.directory:
            raise LocationRefused(f"{url} is not a location of this file store.")
        return path

    def open_writer(self, image_id: str) -> StoreWriter:
        return FileWriter(self.directory, image_id)

    def open(self, url: str, offset: int = 0, length: int | None = None) -> ImageData:
        try:
            handle = open(self.path_of(url), "rb", buffering=0)  # noqa: SIM115 - ImageData.close closes it
        except FileNotFoundError:
            raise DataNotFound(f"The image data at {url} is gone.") from None
        return ImageData.of_file(handle, os.fstat(handle.fileno()).st_size, offset, length)

    def size_of(self, url: str) -> int:
        raise LocationRefused("file:// locations cannot be added through the API: only "
                              "imaged itself writes into its file store.")

    def delete(self, url: str) -> None:
        self.path_of(url).unlink(missing_ok=True)

    def remove_partial_writes(self) -> int:
        leftovers = list(self.directory.glob("*" + PARTIAL_SUFFIX))
        for path in leftovers:
            path.unlink(missing_ok=True)
        return len(leftovers)
