"""A server's documents for the metadata service, gathered once and kept
for [metadata] metadata_cache_expiration seconds (Nova's cache of
InstanceMetadata): cloud-init reads dozens of paths within seconds, and each
gathering asks networkd six questions.

The cache is keyed by the server's id only, and a request is answered from
the entry of the id it was signed for: one server's documents never answer
for another. Whether the server still exists, and what it was built from,
is asked of the database at every request (one indexed read): a deleted
server's documents are gone at once, and a rebuilt or resized server's are
gathered again (its new image's ami-id, its new flavor), not after the
cache's time.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select

from computed.db.models import Instance
from computed.flows import Deps
from computed.metadata.documents import Documents
from computed.metadata.gather import gather
from shared.db import transaction


@dataclass(frozen=True)
class _Entry:
    documents: Documents
    expires: float
    built_from: tuple      # what a rebuild or a resize changes (see _built_from)


class MetadataSource:
    def __init__(self, deps: Deps, *, cache_seconds: float, dhcp_domain: str = "",
                 clock: Callable[[], float] = time.monotonic):
        self._deps = deps
        self._cache_seconds = cache_seconds
        self._dhcp_domain = dhcp_domain
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def documents(self, instance_uuid: str) -> Documents | None:
        """The live server's documents, or None (no such server, or deleted).
        networkd's errors go to the caller (the service answers 500)."""
        built_from = self._built_from(instance_uuid)
        if built_from is None:
            self._forget(instance_uuid)
            return None
        now = self._clock()
        with self._lock:
            entry = self._entries.get(instance_uuid)
        if entry is not None and entry.expires > now and entry.built_from == built_from:
            return entry.documents
        facts = gather(self._deps, instance_uuid, self._dhcp_domain)
        if facts is None:
            return None
        documents = Documents(facts)
        if self._cache_seconds > 0:
            with self._lock:
                self._drop_expired(now)
                self._entries[instance_uuid] = _Entry(documents, now + self._cache_seconds,
                                                      built_from)
        return documents

    def _built_from(self, instance_uuid: str) -> tuple | None:
        """The live server's image, launch time and sizes (a rebuild sets a
        new image and launch time, a resize new sizes), or None when there is
        no such live server."""
        with transaction(self._deps.sessions, write=False) as session:
            row = session.execute(
                select(Instance.image_ref, Instance.launched_at, Instance.vcpus,
                       Instance.memory_mb, Instance.root_gb, Instance.ephemeral_gb)
                .where(Instance.uuid == instance_uuid, Instance.deleted.is_(False))).first()
        return tuple(row) if row is not None else None

    def _forget(self, instance_uuid: str) -> None:
        with self._lock:
            self._entries.pop(instance_uuid, None)

    def _drop_expired(self, now: float) -> None:
        for uuid in [uuid for uuid, entry in self._entries.items() if entry.expires <= now]:
            del self._entries[uuid]
