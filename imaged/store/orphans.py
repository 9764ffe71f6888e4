"""What a failed upload wrote to a store that was down when the upload
tried to remove it (Swift's segments, an RBD image): remembered in a file of
the store's own directory and removed by a background thread that tries
again every few seconds until the store answers, and again at imaged-api's
next start, so that no orphan outlives an outage.

One record per image: <directory>/<image id>.cleanup, holding what the
removal needs (the storage URL of a Swift account, a Ceph pool)."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

LOG = logging.getLogger(__name__)
SUFFIX = ".cleanup"
RETRY = 5.0          # seconds between two attempts


class Orphans:
    """`remove(image_id, note)` removes what the upload of image_id left
    (raising while the store cannot be reached)."""

    def __init__(self, directory: Path, remove: Callable[[str, str], None], store: str):
        self.directory = directory
        self._remove = remove
        self._store = store
        self._cleaner: threading.Thread | None = None
        self._lock = threading.Lock()

    def remember(self, image_id: str, note: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        (self.directory / f"{image_id}{SUFFIX}").write_text(note + "\n")
        self.resume()

    def resume(self) -> None:
        """Start the cleaner if records are waiting (and it is not running)."""
        if not any(self.directory.glob(f"*{SUFFIX}")):
            return
        with self._lock:
            if self._cleaner is None or not self._cleaner.is_alive():
                self._cleaner = threading.Thread(target=self._clean_until_done,
                                                 name=f"{self._store}-orphans", daemon=True)
                self._cleaner.start()

    def _clean_until_done(self) -> None:
        stop = threading.Event()
        said: dict[str, str] = {}   # what was logged of each record: not again
        while True:
            records = list(self.directory.glob(f"*{SUFFIX}"))
            if not records:
                return
            for record in records:
                image_id = record.name[:-len(SUFFIX)]
                try:
                    self._remove(image_id, record.read_text().strip())
                except Exception as exc:  # noqa: BLE001 - the store is still away
                    if said.get(image_id) != str(exc):
                        said[image_id] = str(exc)
                        LOG.warning("%s: what the failed upload of %s left is not removed "
                                    "yet (tried every %.0f s): %s", self._store, image_id,
                                    RETRY, exc)
                    continue
                record.unlink(missing_ok=True)
                LOG.info("%s: removed what the failed upload of %s left", self._store,
                         image_id)
            stop.wait(RETRY)
