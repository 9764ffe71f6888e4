"""The prefetcher: a thread in each imaged-api worker that copies the
images queued with PUT /v2/cache/{image_id} into the cache, without any
download (as Glance runs its prefetcher periodically inside glance-api).

Every cache_prefetcher_interval seconds (or at once, when this worker
queued an image) it takes the queue in order. Several workers may look at
the same queue: the O_EXCL partial file lets only one of them copy an
image; the others leave it queued and find it cached at their next pass.
Each pass also forgets the copies of images that were deleted (their data
would never be served: a deleted image is 404 before the cache is asked).
"""
from __future__ import annotations

import logging
import threading

from imaged.cache.entries import CacheEntries, matches
from imaged.cache.fill import chunks_of, start_fill, tee
from imaged.domain import status as st
from imaged.store.base import StoreError

LOG = logging.getLogger(__name__)
SERVABLE = (st.ACTIVE, st.DEACTIVATED)


class Prefetcher(threading.Thread):
    def __init__(self, imaged, entries: CacheEntries, interval: float):
        super().__init__(name="image-cache-prefetcher", daemon=True)
        self.imaged, self.entries, self.interval = imaged, entries, interval
        self._wake = threading.Event()

    def wake(self) -> None:
        self._wake.set()

    def run(self) -> None:
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            try:
                self.run_once()
            except Exception:  # noqa: BLE001 - the thread must outlive a bad pass
                LOG.exception("image cache prefetcher pass failed")

    def run_once(self) -> None:
        forget_gone_images(self.imaged, self.entries)
        for image_id in self.entries.index.queued():
            try:
                self.fetch(image_id)
            except Exception:  # noqa: BLE001 - a store that breaks off: try again later
                LOG.exception("prefetch of image %s failed (kept queued)", image_id)

    def fetch(self, image_id: str) -> None:
        index = self.entries.index
        image = self.imaged.repo.get(image_id)
        if image is None or image.status != st.ACTIVE or not image.locations:
            index.dequeue(image_id)      # nothing that could ever be cached
            return
        location = image.locations[0].url
        store = self.imaged.stores.for_url(location)
        entry = index.get(image_id)
        if entry is not None and matches(entry, image, location):
            index.dequeue(image_id)
            return
        if (image.size or 0) > self.entries.max_size:
            LOG.warning("image %s is bigger than image_cache_max_size: not prefetched", image_id)
            index.dequeue(image_id)
            return
        try:
            data = store.open(location)
        except StoreError as exc:
            LOG.warning("cannot prefetch image %s (kept queued): %s", image_id, exc)
            return
        try:
            fill = start_fill(self.entries, image, location)
            if fill is None:
                return                   # another worker is copying it
            for _ in tee(chunks_of(data), fill):
                pass
        finally:
            data.close()
        if not fill.committed:
            LOG.warning("prefetch of image %s failed: its data does not match it", image_id)
            index.dequeue(image_id)


def forget_gone_images(imaged, entries: CacheEntries) -> None:
    """Remove the copies of images that are gone or can no longer be served."""
    for entry in entries.index.entries():
        image = imaged.repo.get(entry.image_id)
        if image is None or image.status not in SERVABLE:
            entries.remove(entry.image_id)
