"""The stores imaged can use, and which one handles a location.

Each store has an id: the kind ("file", "volume", "http") in the simple
case, the operator's name ("fast", "cheap") with Glance's enabled_backends
(store/definitions.py reads the config). Every location imaged writes
records its store in its metadata ({"store": "fast"}), so that reading and
deleting go to the store that wrote it, even when two stores have the same
kind.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path

from imaged.domain.errors import InvalidInput
from imaged.domain.image import Location
from imaged.store.base import (
    DataNotFound,
    ImageData,
    LocationRefused,
    ReadOnlyStore,
    Store,
    StoreError,
    UnknownStore,
)
from imaged.store.definitions import StoreDefinition, store_definitions
from imaged.store.file import FileStore
from imaged.store.http import HttpStore
from shared.paths import StateLayout

LOG = logging.getLogger(__name__)


class Stores:
    def __init__(self, stores: list[Store], default: Store, multi: bool = False):
        self._stores = stores
        self.default = default
        #: Glance's multi-store mode (enabled_backends is set).
        self.multi = multi

    # -- finding a store -------------------------------------------------------------------
    def ids(self) -> list[str]:
        """Every store id a request may name, the read-only http store
        included (not the one kept for data written before named stores)."""
        return [store.store_id for store in self._addressable()]

    def _addressable(self) -> list[Store]:
        return [store for store in self._stores if store.listed or not store.writable]

    def writable_ids(self) -> list[str]:
        """The stores data can be written to (upload, import, copy-image)."""
        return [store.store_id for store in self._stores if store.writable and store.listed]

    def listed(self) -> list[Store]:
        """The stores the operator configured (GET /v2/info/stores)."""
        return [store for store in self._stores if store.listed]

    def by_id(self, store_id: str) -> Store:
        for store in self._addressable():
            if store.store_id == store_id:
                return store
        raise UnknownStore(store_id, self.ids())

    def writable_by_id(self, store_id: str) -> Store:
        """The store data may be written to; UnknownStore or ReadOnlyStore."""
        store = self.by_id(store_id)
        if store.store_id not in self.writable_ids():
            raise ReadOnlyStore(f"Store {store_id} is read-only: data cannot be written to it "
                                f"(writable stores: {', '.join(self.writable_ids())}).")
        return store

    def named_for_writing(self, store_id: str | None) -> Store:
        """The store a request names for new data (the default one when it
        names none); InvalidInput (400) naming the stores for an unknown or
        read-only one."""
        if not store_id:
            return self.default
        try:
            return self.writable_by_id(store_id.strip())
        except (UnknownStore, ReadOnlyStore) as exc:
            raise InvalidInput(str(exc)) from None

    def for_url(self, url: str) -> Store:
        """The store whose kind handles the URL, preferring the one it
        belongs to (of two file stores, the one whose directory holds it)."""
        candidates = [store for store in self._stores if store.handles(url)]
        for store in candidates:
            if store.owns(url):
                return store
        if candidates:
            return candidates[0]  # it refuses the URL itself, with its reason
        schemes = sorted({scheme for store in self._stores for scheme in store.schemes})
        raise LocationRefused(f"No store handles the location {url!r} (known schemes: "
                              f"{', '.join(schemes)}).")

    def for_location(self, location: Location) -> Store:
        """The store that wrote the location (its metadata "store"), else the
        one whose scheme and place the URL names (locations written before
        stores had ids, or added by URL)."""
        store_id = location.metadata.get("store")
        if store_id:
            for store in self._stores:
                if store.store_id == store_id and store.handles(location.url) \
                        and store.owns(location.url):
                    return store
        return self.for_url(location.url)

    def store_id_of(self, location: Location) -> str | None:
        try:
            return self.for_location(location).store_id
        except LocationRefused:
            return None

    # -- reading ---------------------------------------------------------------------------
    def by_weight(self, locations: Iterable[Location]) -> list[Location]:
        """Heaviest store first; equal weights keep the image's order (Glance's
        weight-based location order)."""
        def weight(location: Location) -> int:
            try:
                return self.for_location(location).weight
            except LocationRefused:
                return -(1 << 62)
        return sorted(locations, key=weight, reverse=True)

    def open_best(self, locations: Iterable[Location],
                  read: Callable[[Store, str], ImageData] | None = None) -> ImageData:
        """Open the image's data from the heaviest location that works, trying
        the others when one fails. `read(store, url)` opens one location
        (default: all of its data). DataNotFound when no location has the
        data; the first other StoreError when none could be read."""
        read = read or (lambda store, url: store.open(url))
        failures: list[StoreError] = []
        for location in self.by_weight(locations):
            try:
                return read(self.for_location(location), location.url)
            except StoreError as exc:
                LOG.warning("cannot read %s (%s); trying the next location", location.url, exc)
                failures.append(exc)
        real = [exc for exc in failures if not isinstance(exc, DataNotFound)]
        if real:
            raise real[0]
        raise DataNotFound("No location of the image has its data any more.")

    # -- building --------------------------------------------------------------------------
    @classmethod
    def from_config(cls, conf, state_lib: Path) -> Stores:
        config = store_definitions(conf)
        stores = [_build(definition, conf, state_lib) for definition in config.stores]
        if config.multi and not any(isinstance(s, FileStore) and
                                    s.directory == (state_lib / "images").resolve()
                                    for s in stores):
            # Images written before the switch to named stores stay readable
            # (and deletable) from the single-store directory.
            legacy = FileStore(state_lib / "images")
            legacy.store_id, legacy.listed = "file", False
            if "file" not in {store.store_id for store in stores}:
                stores.append(legacy)
        default = next(store for store in stores if store.store_id == config.default_id)
        return cls(stores, default=default, multi=config.multi)


def _build(definition: StoreDefinition, conf, state_lib: Path) -> Store:
    options = definition.options
    store: Store
    if definition.kind == "file":
        directory = options["filesystem_store_datadir"]
        store = FileStore(Path(directory) if directory else state_lib / "images")
    elif definition.kind == "volume":
        # Imported here: only a stack that uses the volume store needs it.
        from imaged.store.volume import VolumeStore
        from shared.clients import ServiceSession
        store = VolumeStore(ServiceSession.from_config(conf),
                            state_lib / "image-volume-staging" / definition.store_id
                            if definition.store_id != "volume"
                            else state_lib / "image-volume-staging",
                            options["volume_store_type"], options["volume_store_initiator"],
                            options["volume_store_timeout"])
    elif definition.kind == "rbd":
        from imaged.store.rbd import RbdStore
        ceph_conf = options["rbd_store_ceph_conf"]
        store = RbdStore(Path(ceph_conf) if ceph_conf else StateLayout(state_lib.parent).ceph
                         / "ceph.conf", options["rbd_store_user"], options["rbd_store_pool"],
                         options["rbd_store_chunk_size"], options["rados_connect_timeout"],
                         state_lib / "image-rbd-cleanup" / definition.store_id,
                         options["rados_op_timeout"])
    elif definition.kind == "swift":
        from imaged.store.swift import SwiftStore
        from shared.clients import ServiceSession
        store = SwiftStore(ServiceSession.from_config(conf),
                           state_lib / "image-swift-spool" / definition.store_id,
                           options["swift_store_container"],
                           options["swift_store_create_container_on_put"],
                           options["swift_store_large_object_size"],
                           options["swift_store_large_object_chunk_size"],
                           options["swift_store_timeout"])
    else:
        store = HttpStore(options["http_timeout"])
    store.store_id = definition.store_id
    store.description = definition.description
    store.weight = definition.weight
    store.listed = definition.listed
    return store


__all__ = ["Stores", "UnknownStore", "ReadOnlyStore", "LocationRefused", "Store"]
