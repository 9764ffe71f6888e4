"""The stores imaged can use, and which one handles a location."""
from __future__ import annotations

from pathlib import Path

from imaged.store.base import LocationRefused, Store
from imaged.store.file import FileStore
from imaged.store.http import HttpStore


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
        file_store = FileStore(directory)
        return cls([file_store, HttpStore(conf.store.http_timeout)], default=file_store)
