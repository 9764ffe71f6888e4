"""The swift store's and the stack's Swift settings, without a Swift: how
locations are written and read, which options reach the store, the ports a
second stack shifts, and the catalog entry `up` writes into identity.conf."""
from __future__ import annotations

import pytest

from identity.catalog import catalog_for
from identity.config import schema as identity_schema
from imaged.config import api_schema
from imaged.store import Stores
from imaged.store.base import LocationRefused
from imaged.store.swift import SwiftStore, segment_name
from pocketstack import stackconfig
from shared.config import ConfigError, ensure_config_file, load_config, set_option
from shared.units import MiB


def conf_of(tmp_path, text: str):
    path = tmp_path / "imaged-api.conf"
    path.write_text(text)
    return load_config(api_schema(), path)


def test_a_location_is_the_objects_url_with_a_swift_prefix():
    url = "swift+http://127.0.0.1:8080/v1/AUTH_abc/glance/1234"
    assert SwiftStore.split(url) == ("http://127.0.0.1:8080/v1/AUTH_abc", "glance", "1234")
    assert segment_name("1234", 7) == "1234-00007"


@pytest.mark.parametrize("url", ["swift+http://h/v1/AUTH_a/glance", "http://h/v1/AUTH_a/c/o",
                                 "swift+http://h/v2/AUTH_a/c/o", "swift+http://h/v1//c/o"])
def test_other_urls_are_refused(url):
    with pytest.raises(LocationRefused):
        SwiftStore.split(url)


def test_a_named_swift_store_gets_its_options(tmp_path):
    conf = conf_of(tmp_path, "[store]\nenabled_backends = local:file, objects:swift\n"
                             "default_backend = objects\n\n"
                             f"[store:local]\nfilesystem_store_datadir = {tmp_path / 'f'}\n\n"
                             "[store:objects]\nswift_store_container = images\n"
                             "swift_store_large_object_size = 100\n"
                             "swift_store_large_object_chunk_size = 64\n")
    store = Stores.from_config(conf, tmp_path / "lib").default
    assert isinstance(store, SwiftStore) and store.store_id == "objects"
    assert store.properties() == {"container": "images", "large_object_size": 100 * MiB,
                                  "large_object_chunk_size": 64 * MiB}
    assert store.owns("swift+http://h/v1/AUTH_a/images/x")
    assert not store.owns("swift+http://h/v1/AUTH_a/other/x")


def test_swift_options_in_a_file_store_are_refused(tmp_path):
    conf_text = ("[store]\nenabled_backends = local:file\ndefault_backend = local\n\n"
                 f"[store:local]\nfilesystem_store_datadir = {tmp_path}\n"
                 "swift_store_container = x\n")
    with pytest.raises(ConfigError, match="swift stores only"):
        conf_of(tmp_path, conf_text)


def test_a_second_stack_shifts_swifts_ports():
    shifted = stackconfig.offset_settings(100)["swift"]
    assert shifted == {"proxy_port": 8180, "object_port": 6300, "container_port": 6301,
                       "account_port": 6302, "memcached_port": 11311}


def test_object_store_is_in_the_catalog_only_once_its_url_is_set(tmp_path):
    path = ensure_config_file(identity_schema(), tmp_path)
    types = [entry["type"] for entry in catalog_for(load_config(identity_schema(), path), "p")]
    assert "object-store" not in types
    set_option(path, "catalog", "object_store_url",
               "http://127.0.0.1:8080/v1/AUTH_%(project_id)s")
    conf = load_config(identity_schema(), path)
    entry = next(e for e in catalog_for(conf, "p1") if e["type"] == "object-store")
    assert {e["url"] for e in entry["endpoints"]} == {"http://127.0.0.1:8080/v1/AUTH_p1"}
    assert conf.catalog.region == "RegionOne"   # the rest of the file as it was
