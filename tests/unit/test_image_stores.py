"""Named stores without a stack: the config (every bad store definition is a
ConfigError naming section and option), which store a location belongs to,
reads by weight with fallback, and the scrubber removing every copy."""
from __future__ import annotations

import datetime as dt
import inspect
import subprocess
import sys

import pytest

from imaged.config import api_schema
from imaged.domain.image import Image, Location
from imaged.scrubber import scrub_once
from imaged.store import Stores
from imaged.store.base import (
    DataNotFound,
    LocationRefused,
    ReadOnlyStore,
    Store,
    StoreError,
    UnknownStore,
)
from imaged.store.file import FileStore
from imaged.store.http import HttpStore
from imaged.store.volume import VolumeStore
from shared.config import ConfigError, load_config, render_defaults
from tests.stack import REPO
from tests.unit.test_image_cache_fill import FakeVolumeStore


def conf_of(tmp_path, text: str):
    path = tmp_path / "imaged-api.conf"
    path.write_text(text)
    return load_config(api_schema(), path)


def two_file_stores(tmp_path, weights=(100, 0)) -> str:
    return (f"[store]\nenabled_backends = fast:file, cheap:file, web:http\n"
            f"default_backend = cheap\n"
            f"[store:fast]\nfilesystem_store_datadir = {tmp_path / 'fast'}\n"
            f"weight = {weights[0]}\n"
            f"[store:cheap]\nfilesystem_store_datadir = {tmp_path / 'cheap'}\n"
            f"weight = {weights[1]}\n")


@pytest.mark.parametrize("text, where, words", [
    ("[store]\nenabled_backends = fast:tape\ndefault_backend = fast\n",
     "[store] enabled_backends", "unknown kind 'tape'"),
    ("[store]\nenabled_backends = fast\n", "[store] enabled_backends", "is not id:kind"),
    ("[store]\nenabled_backends = a:http,a:http\n", "[store] enabled_backends",
     "a is given twice"),
    ("[store]\nenabled_backends = fast:file\ndefault_backend = fast\n",
     "[store:fast] filesystem_store_datadir", "missing"),
    ("[store]\nenabled_backends = fast:file,web:http\ndefault_backend = web\n"
     "[store:fast]\nfilesystem_store_datadir = /tmp/f\n",
     "[store] default_backend", "web is not one of the writable stores"),
    ("[store]\nenabled_backends = a:file,b:file\ndefault_backend = a\n"
     "[store:a]\nfilesystem_store_datadir = /tmp/same\n"
     "[store:b]\nfilesystem_store_datadir = /tmp/same/\n",
     "[store:b] filesystem_store_datadir", "already the directory of store a"),
    ("[store]\nenabled_backends = web:http\ndefault_backend = web\n"
     "[store:web]\nfilesystem_store_datadir = /tmp/w\n",
     "[store:web] filesystem_store_datadir", "applies to file stores only"),
    ("[store]\nenabled_backends = a:file\ndefault_backend = a\n"
     "[store:a]\nfilesystem_store_datadir = /tmp/a\n[store:b]\nweight = 1\n",
     "[store:b]", "no store b in [store] enabled_backends"),
    ("[store:b]\nweight = 1\n", "[store:b]", "enabled_backends, which is empty"),
    ("[store]\nstores = file\ndefault_store = volume\n", "[store] default_store",
     "volume is not one of stores"),
])
def test_a_bad_store_definition_is_a_config_error(tmp_path, text, where, words):
    with pytest.raises(ConfigError) as raised:
        conf_of(tmp_path, text)
    assert f"imaged-api.conf: {where}" in str(raised.value)
    assert words in str(raised.value)


def test_imaged_api_stops_at_start_on_a_bad_store(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "imaged-api.conf").write_text(
        "[store]\nenabled_backends = fast:tape\ndefault_backend = fast\n")
    done = subprocess.run([sys.executable, "-m", "imaged.app", "--state-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=60, cwd=REPO)
    assert done.returncode == 2 and "unknown kind 'tape'" in done.stderr


def test_the_generated_file_shows_a_store_section_and_reads_back(tmp_path):
    text = render_defaults(api_schema())
    assert "#[store:NAME]" in text and "#weight = 0" in text
    conf = conf_of(tmp_path, text)
    assert conf.named("store") == {} and conf.store.enabled_backends == []


def test_the_simple_case_names_stores_by_their_kind(tmp_path):
    stores = Stores.from_config(conf_of(tmp_path, ""), tmp_path / "lib")
    assert stores.ids() == ["file", "http"] and stores.writable_ids() == ["file"]
    assert stores.default.store_id == "file" and stores.multi is False
    assert [store.store_id for store in stores.listed()] == ["file"]


def test_named_stores_ids_and_lookups(tmp_path):
    stores = Stores.from_config(conf_of(tmp_path, two_file_stores(tmp_path)), tmp_path / "lib")
    assert stores.ids() == ["fast", "cheap", "web"]
    assert stores.writable_ids() == ["fast", "cheap"]
    assert stores.default.store_id == "cheap"
    with pytest.raises(UnknownStore, match="available: fast, cheap, web"):
        stores.by_id("slow")
    with pytest.raises(ReadOnlyStore):
        stores.writable_by_id("web")
    # A location goes to the store that wrote it, else to the one its URL is in.
    url = (tmp_path / "fast" / "x").as_uri()
    assert stores.for_location(Location(url, {"store": "fast"})).store_id == "fast"
    assert stores.for_location(Location(url, {})).store_id == "fast"
    assert stores.for_location(Location(url, {"store": "cheap"})).store_id == "fast"
    # Data written before named stores stays reachable in lib/images.
    old = (tmp_path / "lib" / "images" / "y").as_uri()
    assert stores.for_location(Location(old, {})).store_id == "file"
    assert "file" not in stores.ids()


def written(stores: Stores, store_id: str, image_id: str, data: bytes) -> Location:
    writer = stores.by_id(store_id).open_writer(image_id)
    writer.write(memoryview(data))
    return Location(writer.commit(), {"store": store_id})


def read_all(stores: Stores, locations) -> bytes:
    data = stores.open_best(locations)
    try:
        return data.file.read()
    finally:
        data.close()


def test_reads_go_to_the_heaviest_store_and_fall_back(tmp_path):
    stores = Stores.from_config(conf_of(tmp_path, two_file_stores(tmp_path, (0, 50))),
                                tmp_path / "lib")
    fast = written(stores, "fast", "img", b"from fast")
    cheap = written(stores, "cheap", "img", b"from cheap")
    assert stores.by_weight([fast, cheap]) == [cheap, fast]
    assert read_all(stores, [fast, cheap]) == b"from cheap"
    (tmp_path / "cheap" / "img").unlink()
    assert read_all(stores, [fast, cheap]) == b"from fast"
    (tmp_path / "fast" / "img").unlink()
    with pytest.raises(DataNotFound):
        stores.open_best([fast, cheap])


class PendingDeletes:
    """The two repository calls the scrubber makes."""

    def __init__(self, image: Image):
        self.image, self.deleted = image, False

    def pending_delete_before(self, cutoff, limit):
        return [] if self.deleted else [self.image]

    def set_status(self, image_id, expected, status, values=None, notices=()):
        self.deleted = status == "deleted"


def test_the_scrubber_removes_the_data_from_every_store(tmp_path):
    stores = Stores.from_config(conf_of(tmp_path, two_file_stores(tmp_path)), tmp_path / "lib")
    image = Image(id="img", owner="p", status="pending_delete",
                  deleted_at=dt.datetime(2020, 1, 1),
                  locations=[written(stores, "fast", "img", b"a"),
                             written(stores, "cheap", "img", b"a")])
    repo = PendingDeletes(image)
    assert scrub_once(repo, stores, 0, 10) == 1
    assert repo.deleted
    assert not (tmp_path / "fast" / "img").exists()
    assert not (tmp_path / "cheap" / "img").exists()


@pytest.mark.parametrize("store_class", [FileStore, HttpStore, VolumeStore, FakeVolumeStore])
def test_every_store_implements_the_whole_store_interface(store_class):
    assert issubclass(store_class, Store)
    assert not inspect.isabstract(store_class), store_class.__abstractmethods__


def test_the_file_store_keeps_its_contract(tmp_path):
    """What base.py promises, on the default store: an aborted writer leaves
    nothing, a committed one gives a URL the store owns and reads back, a
    second writer of one image is refused without harming the first, and
    deleting data that is gone is not an error."""
    store = FileStore(tmp_path / "store")
    aborted = store.open_writer("a")
    aborted.write(memoryview(b"half"))
    aborted.abort()
    aborted.abort()
    assert list((tmp_path / "store").iterdir()) == []

    writer = store.open_writer("b")
    with pytest.raises(StoreError):
        store.open_writer("b")
    writer.write(memoryview(b"0123456789"))
    url = writer.commit()
    assert store.handles(url) and store.owns(url)
    data = store.open(url, offset=2, length=3)
    try:
        assert data.length == 3 and data.file is not None and data.file.read(3) == b"234"
    finally:
        data.close()
    store.delete(url)
    store.delete(url)
    with pytest.raises(DataNotFound):
        store.open(url)
    with pytest.raises(LocationRefused):
        store.open((tmp_path / "elsewhere").as_uri())
