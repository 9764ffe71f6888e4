"""Which stores imaged-api.conf asks for: a list of StoreDefinition.

Two ways to say it, read here and nowhere else:

* the simple case (no `enabled_backends`): `[store] stores = file,volume`
  and `default_store`; each store is named by its kind ("file", "volume"),
  and the read-only "http" store is always there;
* Glance's multi-store: `enabled_backends = fast:file, cheap:file, web:http`,
  `default_backend = fast`, and one `[store:ID]` section per store with its
  own options (each file store its own directory, a weight, a description).

Every mistake is a ConfigError naming the file, section and option, so
imaged stops at start instead of writing data somewhere unexpected. Nothing
here touches the disk or the network (Stores.from_config builds the stores).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from imaged.config import API_CONF, RBD_STORE_OPTS, STORE_KINDS, STORE_OPTS, SWIFT_STORE_OPTS
from shared.config import ConfigError

RBD_OPTION_NAMES = tuple(opt.name for opt in RBD_STORE_OPTS)
SWIFT_OPTION_NAMES = tuple(opt.name for opt in SWIFT_STORE_OPTS)
RESERVED_PREFIX = "os_glance_"  # Glance keeps these ids for its own internal stores
#: Options of a [store:ID] section that only mean something for one kind.
KIND_OF_OPTION = {"filesystem_store_datadir": "file", "volume_store_type": "volume",
                  "volume_store_initiator": "volume", "volume_store_timeout": "volume",
                  "http_timeout": "http", **{name: "rbd" for name in RBD_OPTION_NAMES},
                  **{name: "swift" for name in SWIFT_OPTION_NAMES}}


@dataclass(frozen=True)
class StoreDefinition:
    store_id: str
    kind: str                 # file, volume, http, rbd, swift
    description: str = ""
    weight: int = 0
    #: Shown by GET /v2/info/stores (the operator configured it); False for
    #: the stores imaged adds by itself (the http store of the simple case).
    listed: bool = True
    options: dict = field(default_factory=dict)   # the kind's own options


@dataclass(frozen=True)
class StoreConfig:
    stores: list[StoreDefinition]
    default_id: str
    multi: bool               # enabled_backends is set


def store_definitions(conf) -> StoreConfig:
    if conf.store.enabled_backends:
        return _multi_store(conf)
    return _single_store(conf)


def _single_store(conf) -> StoreConfig:
    section = conf.store
    for store_id in conf.named("store"):
        raise ConfigError(API_CONF, f"store:{store_id}", "-", "[store:ID] sections name the "
                          "stores of [store] enabled_backends, which is empty.")
    if section.default_store not in section.stores:
        raise ConfigError(API_CONF, "store", "default_store",
                          f"{section.default_store} is not one of stores "
                          f"({', '.join(section.stores)}).")
    # The file store is there even when not in `stores`: images uploaded
    # before a switch to the volume store stay readable.
    stores = [StoreDefinition("file", "file", listed="file" in section.stores,
                              options={"filesystem_store_datadir":
                                       section.filesystem_store_datadir})]
    if "volume" in section.stores:
        stores.append(StoreDefinition("volume", "volume", options={
            name: section[name] for name in ("volume_store_type", "volume_store_initiator",
                                             "volume_store_timeout")}))
    if "rbd" in section.stores:
        stores.append(StoreDefinition("rbd", "rbd", options={
            name: section[name] for name in RBD_OPTION_NAMES}))
    if "swift" in section.stores:
        stores.append(StoreDefinition("swift", "swift", options={
            name: section[name] for name in SWIFT_OPTION_NAMES}))
    stores.append(StoreDefinition("http", "http", listed=False,
                                  options={"http_timeout": section.http_timeout}))
    return StoreConfig(stores, section.default_store, multi=False)


def _multi_store(conf) -> StoreConfig:
    sections = conf.named("store")
    stores: list[StoreDefinition] = []
    for entry in conf.store.enabled_backends:
        store_id, colon, kind = (part.strip() for part in entry.partition(":"))
        problem = None
        if not colon or not store_id:
            problem = f"{entry!r} is not id:kind (e.g. fast:file)"
        elif kind not in STORE_KINDS:
            problem = f"store {store_id}: unknown kind {kind!r} (kinds: {', '.join(STORE_KINDS)})"
        elif store_id.startswith(RESERVED_PREFIX) or ":" in store_id or "/" in store_id:
            problem = f"store id {store_id!r} is not allowed (no '/', ':' or {RESERVED_PREFIX})"
        elif any(store.store_id == store_id for store in stores):
            problem = f"store id {store_id} is given twice"
        if problem:
            raise ConfigError(API_CONF, "store", "enabled_backends", problem + ".")
        stores.append(_named_store(store_id, kind, sections.get(store_id)))
    for store_id in sections:
        if store_id not in {store.store_id for store in stores}:
            raise ConfigError(API_CONF, f"store:{store_id}", "-",
                              f"no store {store_id} in [store] enabled_backends.")
    _check_directories(stores)
    default = conf.store.default_backend
    writable = [store.store_id for store in stores if store.kind != "http"]
    if default not in writable:
        raise ConfigError(API_CONF, "store", "default_backend",
                          f"{default or '(empty)'} is not one of the writable stores of "
                          f"enabled_backends ({', '.join(writable) or 'none'}).")
    if not any(store.kind == "http" for store in stores) \
            and all(store.store_id != "http" for store in stores):
        # Locations added by URL (PATCH) stay possible, as in the simple case.
        stores.append(StoreDefinition("http", "http", listed=False,
                                      options={"http_timeout": conf.store.http_timeout}))
    return StoreConfig(stores, default, multi=True)


def _named_store(store_id: str, kind: str, section) -> StoreDefinition:
    where = f"store:{store_id}"
    defaults = {opt.name: opt.default for opt in STORE_OPTS}
    values = {name: section[name] for name in defaults} if section is not None else defaults
    for name, owner in KIND_OF_OPTION.items():
        if owner != kind and values[name] != defaults[name]:
            raise ConfigError(API_CONF, where, name, f"applies to {owner} stores only, and "
                                                     f"{store_id} is a {kind} store.")
    if kind == "file" and not values["filesystem_store_datadir"]:
        raise ConfigError(API_CONF, where, "filesystem_store_datadir",
                          f"missing: file store {store_id} needs a directory of its own.")
    options = {name: values[name] for name, owner in KIND_OF_OPTION.items() if owner == kind}
    return StoreDefinition(store_id, kind, values["store_description"], values["weight"],
                           options=options)


def _check_directories(stores: list[StoreDefinition]) -> None:
    """Two file stores in one directory would delete each other's data."""
    seen: dict[Path, str] = {}
    for store in stores:
        if store.kind != "file":
            continue
        directory = Path(store.options["filesystem_store_datadir"]).resolve()
        if directory in seen:
            raise ConfigError(API_CONF, f"store:{store.store_id}", "filesystem_store_datadir",
                              f"{directory} is already the directory of store "
                              f"{seen[directory]}: each file store needs its own.")
        seen[directory] = store.store_id
