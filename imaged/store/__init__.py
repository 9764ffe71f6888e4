"""The stores imaged can use, and which one handles a location."""
from __future__ import annotations

from pathlib import Path

from imaged.config import API_CONF
from imaged.store.base import LocationRefused, Store
from imaged.store.file import FileStore
from imaged.store.http import HttpStore
from shared.config import ConfigError


class Stores:
    def __init__(self, stores: list[Store], default: Store):
        self._stores = stores
        self.default = default

    def for_url(self, url: str) -> Store:
        for store in self._stores:
            if store.handles(url):
                return store
        raise LocationRefused(f"No store handles the location {url!r} (known schemes: "
                              f"{', '.join(s for store in self._stores for s in store.schemes)}).")

    @classmethod
    def from_config(cls, conf, state_lib: Path) -> "Stores":
        directory = Path(conf.store.filesystem_store_datadir) \
            if conf.store.filesystem_store_datadir else state_lib / "images"
        stores: dict[str, Store] = {"file": FileStore(directory)}
        if "volume" in conf.store.stores:
            # Imported here: only a stack that uses the volume store needs it.
            from imaged.store.volume import VolumeStore
            from shared.clients import ServiceSession
            stores["volume"] = VolumeStore(
                ServiceSession.from_config(conf), state_lib / "image-volume-staging",
                conf.store.volume_store_type, conf.store.volume_store_initiator,
                conf.store.volume_store_timeout)
        if conf.store.default_store not in conf.store.stores:
            raise ConfigError(API_CONF, "store", "default_store",
                              f"{conf.store.default_store} is not one of stores "
                              f"({', '.join(conf.store.stores)}).")
        # The file store reads file:// locations even when it is not in
        # `stores` (images uploaded before the switch stay readable).
        for store_id, store in stores.items():
            store.store_id = store_id
        web = HttpStore(conf.store.http_timeout)
        web.store_id = "http"
        return cls([*stores.values(), web],
                   default=stores[conf.store.default_store])
