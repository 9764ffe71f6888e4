"""The staging area: where an image's data waits between PUT /stage (or
the web-download) and the end of its import.

One directory, one file per image: `<id>` once staged, `<id>.partial` while
arriving, `<id>.converted` while qemu-img writes. Staged data is NOT in a
store: it has not been judged yet, so nothing may ever serve it, and it is
removed whatever way the import ends (`remove`).

StagingWriter is a store writer (store/base.py), so staging reuses the
upload's streaming code (hash and inspect on the way) unchanged;
FileSource reads a file the way that code reads a request body.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

from imaged.incoming import IncomingData
from imaged.store.base import StoreWriter
from imaged.store.file import FileWriter

LOG = logging.getLogger(__name__)
SUFFIXES = ("", ".partial", ".converted")


class Staging:
    def __init__(self, directory: Path):
        self.directory = directory.resolve()
        self.directory.mkdir(parents=True, exist_ok=True)

    def path(self, image_id: str) -> Path:
        return self.directory / image_id

    def converted_path(self, image_id: str) -> Path:
        return self.directory / (image_id + ".converted")

    def writer(self, image_id: str) -> StoreWriter:
        """`<id>.partial`, renamed to `<id>` by commit (exclusive: two stages
        of one image cannot share a file)."""
        return FileWriter(self.directory, image_id)

    def has(self, image_id: str) -> bool:
        return self.path(image_id).is_file()

    def remove(self, image_id: str) -> None:
        for suffix in SUFFIXES:
            (self.directory / (image_id + suffix)).unlink(missing_ok=True)

    def files(self) -> list[str]:
        return sorted(p.name for p in self.directory.iterdir())

    def sweep(self, still_needed) -> None:
        """Remove staged data whose image no longer needs it (deleted while
        uploading, or a worker that died mid-import). `still_needed(id)`
        says whether the image is uploading or importing."""
        for name in self.files():
            image_id = name.split(".", 1)[0]
            if not still_needed(image_id):
                LOG.info("removing stale staging data %s", name)
                (self.directory / name).unlink(missing_ok=True)


class FileSource(IncomingData):
    """A file read like a request body (readinto/finish), so that upload's
    stream_into_store can move it into a store with the same hashing threads."""

    expected = None
    direct = False

    def __init__(self, path: Path):
        self._file = open(path, "rb", buffering=0)  # noqa: SIM115 - closed by close()

    def readinto(self, buffer: bytearray) -> int:
        view, filled = memoryview(buffer), 0
        while filled < len(view):
            count = self._file.readinto(view[filled:])
            if not count:
                break
            filled += count
        return filled

    def finish(self) -> None:
        self._file.close()

    @staticmethod
    def size(path: Path) -> int:
        return os.stat(path).st_size
