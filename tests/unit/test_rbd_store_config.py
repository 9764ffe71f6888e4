"""The rbd store's and the stack's Ceph settings, without a cluster: how
locations are written and read, which options reach the store, and the
ports a second stack shifts."""
from __future__ import annotations

import pytest

from imaged.config import api_schema
from imaged.store import Stores
from imaged.store.base import LocationRefused
from imaged.store.rbd import RbdLocation, RbdStore
from pocketstack import stackconfig
from shared.config import ConfigError, load_config


def conf_of(tmp_path, text: str):
    path = tmp_path / "imaged-api.conf"
    path.write_text(text)
    return load_config(api_schema(), path)


def test_a_location_is_glances_rbd_url_quoted_both_ways():
    location = RbdLocation("1f2e", "images", "a/b c", "snap")
    assert location.url == "rbd://1f2e/images/a%2Fb%20c/snap"
    back = RbdLocation.parse(location.url)
    assert (back.fsid, back.pool, back.image, back.snapshot) == ("1f2e", "images", "a/b c",
                                                                 "snap")


@pytest.mark.parametrize("url", ["rbd://image-only", "rbd://fsid/pool/image",
                                 "file:///x/y/z/w", "rbd://fsid//image/snap"])
def test_other_urls_are_refused(url):
    with pytest.raises(LocationRefused):
        RbdLocation.parse(url)


def test_the_simple_case_builds_an_rbd_store_on_the_stacks_ceph(tmp_path):
    conf = conf_of(tmp_path, "[store]\nstores = file,rbd\ndefault_store = rbd\n")
    stores = Stores.from_config(conf, tmp_path / "lib")
    store = stores.default
    assert isinstance(store, RbdStore) and store.store_id == "rbd"
    assert store.ceph_conf == tmp_path / "etc" / "ceph" / "ceph.conf"
    assert (store.user, store.pool, store.chunk_size, store.order) == \
        ("glance", "images", 8 << 20, 23)


def test_a_named_rbd_store_takes_its_own_options(tmp_path):
    conf = conf_of(tmp_path, "[store]\nenabled_backends = ceph:rbd\ndefault_backend = ceph\n"
                             "[store:ceph]\nrbd_store_pool = pics\nrbd_store_user = img\n"
                             "rbd_store_ceph_conf = /srv/ceph.conf\n")
    store = Stores.from_config(conf, tmp_path / "lib").by_id("ceph")
    assert isinstance(store, RbdStore)
    assert (str(store.ceph_conf), store.user, store.pool) == ("/srv/ceph.conf", "img", "pics")


def test_rbd_options_on_a_file_store_stop_imaged(tmp_path):
    with pytest.raises(ConfigError, match="applies to rbd stores only"):
        conf_of(tmp_path, f"[store]\nenabled_backends = fast:file\ndefault_backend = fast\n"
                          f"[store:fast]\nfilesystem_store_datadir = {tmp_path}\n"
                          f"rbd_store_pool = x\n")


def test_ceph_is_off_by_default_and_its_ports_shift_with_the_stack(tmp_path):
    path = tmp_path / stackconfig.STACK_CONF
    assert load_config(stackconfig.schema(), path).ceph.enabled is False
    shifted = stackconfig.offset_settings(100)["ceph"]
    assert (shifted["mon_port"], shifted["mon_v1_port"], shifted["bind_port_min"],
            shifted["bind_port_max"]) == (3400, 6889, 6900, 6999)
    assert stackconfig.offset_settings(0) == {}
