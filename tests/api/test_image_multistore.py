"""Glance-style multi-store on a stack of its own: two file stores ("fast",
weight 100, and "cheap") and a read-only http store ("web"), named in
imaged-api.conf with enabled_backends. Uploads to the default store or to
the one X-Image-Meta-Store names, the discovery calls, copy-image with the
real `openstack` client, downloads from the heaviest store that works,
DELETE /v2/stores/{store}/{image}, and python-glanceclient's --store."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess

import pytest

from tests.stack import CLIENTS_VENV
from tests.support.images import Images, configured_stack, raw_bytes, wait_for

MIB = 1 << 20


@pytest.fixture(scope="module")
def dirs(tmp_path_factory) -> dict:
    return {"fast": tmp_path_factory.mktemp("fast-store").resolve(),
            "cheap": tmp_path_factory.mktemp("cheap-store").resolve()}


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory, stack, dirs):
    config = ("[image]\nshow_multiple_locations = true\n\n"
              "[store]\nenabled_backends = fast:file, cheap:file, web:http\n"
              "default_backend = fast\n\n"
              f"[store:fast]\nfilesystem_store_datadir = {dirs['fast']}\nweight = 100\n"
              "store_description = Quick access\n\n"
              f"[store:cheap]\nfilesystem_store_datadir = {dirs['cheap']}\n"
              "store_description = Seldom-used images\n\n"
              "[store:web]\nstore_description = Images on a web server\n")
    own = configured_stack(tmp_path_factory, stack, 90, config)
    yield own
    own.down()


@pytest.fixture(scope="module")
def demo(own_stack) -> Images:
    """The image API as the demo user sees it on this module's stack."""
    return Images(own_stack, own_stack.token("demo"))


@pytest.fixture(scope="module")
def admin(own_stack) -> Images:
    """The image API as the admin user sees it on this module's stack."""
    return Images(own_stack, own_stack.token("admin"))


def files_of(dirs: dict, image_id: str) -> dict[str, bool]:
    return {name: (folder / image_id).exists() for name, folder in dirs.items()}


def md5_of_download(images: Images, image_id: str) -> str:
    response = images.download(image_id)
    assert response.status_code == 200, response.text
    return hashlib.md5(response.content).hexdigest()


# -- discovery ------------------------------------------------------------------------------

def test_info_stores_lists_the_configured_stores(demo):
    assert demo.request("GET", "/v2/info/stores").json() == {"stores": [
        {"id": "fast", "description": "Quick access", "default": "true"},
        {"id": "cheap", "description": "Seldom-used images"},
        {"id": "web", "description": "Images on a web server", "read-only": "true"}]}


def test_info_stores_detail_is_for_admins(demo, admin, dirs):
    assert demo.request("GET", "/v2/info/stores/detail").status_code == 403
    response = admin.request("GET", "/v2/info/stores/detail")
    assert response.status_code == 200, response.text
    stores = {store["id"]: store for store in response.json()["stores"]}
    assert stores["fast"]["type"] == "file" and stores["fast"]["weight"] == 100
    assert stores["fast"]["properties"] == {"data_dir": str(dirs["fast"])}
    assert stores["cheap"]["weight"] == 0 and "default" not in stores["cheap"]
    assert stores["web"]["type"] == "http" and stores["web"]["properties"] == {}


def test_openstack_client_lists_the_stores(own_stack):
    listed = json.loads(own_stack.openstack("image", "stores", "list", "-f", "json").stdout)
    assert [store["ID"] for store in listed] == ["fast", "cheap", "web"]


def test_create_advertises_the_stores_and_copy_image(demo):
    created = demo.create(name="headers", disk_format="raw", container_format="bare")
    assert created.status_code == 201
    assert created.headers["OpenStack-image-store-ids"] == "fast,cheap"
    assert "copy-image" in created.headers["OpenStack-image-import-methods"].split(",")
    info = demo.request("GET", "/v2/info/import").json()
    assert info["import-methods"]["value"] == ["glance-direct", "web-download", "copy-image"]


# -- upload ---------------------------------------------------------------------------------

def test_upload_goes_to_the_default_store(demo, dirs):
    image = demo.uploaded(raw_bytes(MIB))
    assert image["stores"] == "fast"
    assert image["locations"][0]["metadata"] == {"store": "fast"}
    assert files_of(dirs, image["id"]) == {"fast": True, "cheap": False}


def test_upload_goes_to_the_store_the_header_names(demo, dirs):
    data = raw_bytes(MIB + 7)
    image = demo.new()
    response = demo.request("PUT", f"/v2/images/{image['id']}/file", data=data,
                            headers={"Content-Type": "application/octet-stream",
                                     "X-Image-Meta-Store": "cheap"})
    assert response.status_code == 204, response.text
    shown = demo.show(image["id"])
    assert shown["status"] == "active" and shown["stores"] == "cheap"
    assert files_of(dirs, image["id"]) == {"fast": False, "cheap": True}
    assert md5_of_download(demo, image["id"]) == hashlib.md5(data).hexdigest()


@pytest.mark.parametrize("store, words", [("nowhere", "available: fast, cheap, web"),
                                          ("web", "read-only")])
def test_upload_to_an_unknown_or_read_only_store_is_400(demo, dirs, store, words):
    image = demo.new()
    response = demo.request("PUT", f"/v2/images/{image['id']}/file", data=raw_bytes(4096),
                            headers={"Content-Type": "application/octet-stream",
                                     "X-Image-Meta-Store": store})
    assert response.status_code == 400 and words in response.json()["message"]
    assert demo.show(image["id"])["status"] == "queued"
    assert files_of(dirs, image["id"]) == {"fast": False, "cheap": False}


# -- import to several stores ---------------------------------------------------------------

def staged_image(demo: Images, data: bytes) -> dict:
    image = demo.new(disk_format="raw")
    staged = demo.request("PUT", f"/v2/images/{image['id']}/stage", data=data,
                          headers={"Content-Type": "application/octet-stream"})
    assert staged.status_code == 204, staged.text
    return image


def test_glance_direct_import_into_two_stores(demo, dirs):
    image = staged_image(demo, raw_bytes(MIB))
    bad = demo.request("POST", f"/v2/images/{image['id']}/import",
                       json={"method": {"name": "glance-direct"}, "stores": ["fast", "nope"]})
    assert bad.status_code == 400 and "nope" in bad.json()["message"]
    started = demo.request("POST", f"/v2/images/{image['id']}/import",
                           json={"method": {"name": "glance-direct"}, "all_stores": True})
    assert started.status_code == 202, started.text
    active = wait_for(lambda: (lambda i: i if i["status"] == "active" else None)(
        demo.show(image["id"])), timeout=60)
    assert active, demo.show(image["id"])
    assert active["stores"] == "fast,cheap"
    assert active["os_glance_importing_to_stores"] == ""
    assert active["os_glance_failed_import"] == ""
    assert files_of(dirs, image["id"]) == {"fast": True, "cheap": True}


@pytest.mark.parametrize("must_succeed", [False, True])
def test_a_store_that_fails_during_import(demo, dirs, must_succeed):
    """The cheap store's directory disappears: with all_stores_must_succeed
    false the image is active in fast and cheap is recorded as failed; with
    true nothing is kept and the image is queued again."""
    image = staged_image(demo, raw_bytes(MIB))
    away = dirs["cheap"].with_name(dirs["cheap"].name + "-away")
    dirs["cheap"].rename(away)
    try:
        started = demo.request("POST", f"/v2/images/{image['id']}/import", json={
            "method": {"name": "glance-direct"}, "stores": ["fast", "cheap"],
            "all_stores_must_succeed": must_succeed})
        assert started.status_code == 202, started.text
        done = wait_for(lambda: (lambda i: i if i["status"] in ("active", "queued") else None)(
            demo.show(image["id"])), timeout=60)
    finally:
        away.rename(dirs["cheap"])
    assert done, demo.show(image["id"])
    assert done["os_glance_importing_to_stores"] == ""
    if must_succeed:
        assert done["status"] == "queued" and "stores" not in done
        assert done["os_glance_failed_import"] == "fast,cheap"
        assert files_of(dirs, image["id"]) == {"fast": False, "cheap": False}
    else:
        assert done["status"] == "active" and done["stores"] == "fast"
        assert done["os_glance_failed_import"] == "cheap"
        assert files_of(dirs, image["id"]) == {"fast": True, "cheap": False}


# -- copy-image, downloads by weight, DELETE /v2/stores ------------------------------------

def test_copy_image_then_delete_from_one_store(own_stack, demo, admin, dirs):
    data = os.urandom(2 * MIB)
    data = raw_bytes(4096) + data[4096:]
    image = demo.uploaded(data)
    expected = hashlib.md5(data).hexdigest()
    assert image["stores"] == "fast"

    # copy-image is admin-only (Glance's copy_image rule).
    denied = demo.request("POST", f"/v2/images/{image['id']}/import",
                          json={"method": {"name": "copy-image"}, "stores": ["cheap"]})
    assert denied.status_code == 403
    # (--store takes several values: the image goes first.)
    own_stack.openstack("image", "import", image["id"], "--method", "copy-image",
                        "--store", "cheap", cloud="pocketstack-admin")
    copied = wait_for(lambda: (lambda i: i if i.get("stores") == "fast,cheap" else None)(
        demo.show(image["id"])), timeout=60)
    assert copied, demo.show(image["id"])
    assert copied["status"] == "active" and copied["os_glance_importing_to_stores"] == ""
    assert files_of(dirs, image["id"]) == {"fast": True, "cheap": True}
    assert (dirs["cheap"] / image["id"]).read_bytes() == data
    # Copying again where it already is: 409.
    again = admin.request("POST", f"/v2/images/{image['id']}/import",
                          json={"method": {"name": "copy-image"}, "stores": ["cheap"]})
    assert again.status_code == 409 and "cheap" in again.json()["message"]

    # Downloads read the heaviest store (fast) and fall back to cheap.
    assert md5_of_download(demo, image["id"]) == expected
    hidden = dirs["fast"] / (image["id"] + ".away")
    (dirs["fast"] / image["id"]).rename(hidden)
    try:
        assert md5_of_download(demo, image["id"]) == expected
    finally:
        hidden.rename(dirs["fast"] / image["id"])

    # DELETE /v2/stores/{store}/{image}: admin only; unknown store 404.
    path = f"/v2/stores/fast/{image['id']}"
    assert demo.request("DELETE", path).status_code == 403
    unknown = admin.request("DELETE", f"/v2/stores/nowhere/{image['id']}")
    assert unknown.status_code == 404 and "fast, cheap, web" in unknown.json()["message"]
    assert admin.request("DELETE", path).status_code == 204
    shown = demo.show(image["id"])
    assert shown["status"] == "active" and shown["stores"] == "cheap"
    assert files_of(dirs, image["id"]) == {"fast": False, "cheap": True}
    assert md5_of_download(demo, image["id"]) == expected
    assert admin.request("DELETE", path).status_code == 404  # not in fast any more
    last = admin.request("DELETE", f"/v2/stores/cheap/{image['id']}")
    assert last.status_code == 409 and "only copy" in last.json()["message"]
    assert files_of(dirs, image["id"]) == {"fast": False, "cheap": True}


def test_deleting_an_image_removes_it_from_every_store(demo, admin, dirs):
    image = demo.uploaded(raw_bytes(MIB))
    copy = admin.request("POST", f"/v2/images/{image['id']}/import",
                         json={"method": {"name": "copy-image"}, "all_stores": True})
    assert copy.status_code == 202, copy.text
    assert wait_for(lambda: files_of(dirs, image["id"]) == {"fast": True, "cheap": True}
                    and demo.show(image["id"])["os_glance_importing_to_stores"] == "")
    assert demo.delete(image["id"]).status_code == 204
    assert files_of(dirs, image["id"]) == {"fast": False, "cheap": False}


# -- python-glanceclient --store -------------------------------------------------------------

def test_glance_client_creates_an_image_in_the_store_it_names(own_stack, demo, dirs,
                                                              tmp_path):
    source = tmp_path / "disk.raw"
    source.write_bytes(raw_bytes(MIB))
    result = _glance(own_stack, "image-create", "--name", "glance-store", "--disk-format",
                     "raw", "--container-format", "bare", "--file", str(source),
                     "--store", "cheap")
    image_id = next(line.split("|")[2].strip() for line in result.stdout.splitlines()
                    if line.startswith("| id "))
    shown = demo.show(image_id)
    assert shown["status"] == "active" and shown["stores"] == "cheap"
    assert files_of(dirs, image_id) == {"fast": False, "cheap": True}


def _glance(stack, *args: str) -> subprocess.CompletedProcess:
    """python-glanceclient as demo, with OS_* variables."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("OS_")}
    env.update({"OS_AUTH_URL": stack.url("identity"), "OS_USERNAME": "demo",
                "OS_PASSWORD": stack.password("demo"), "OS_PROJECT_NAME": "demo",
                "OS_USER_DOMAIN_NAME": "Default", "OS_PROJECT_DOMAIN_NAME": "Default"})
    result = subprocess.run([str(CLIENTS_VENV / "bin" / "glance"), *args], env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"glance {' '.join(args)}: {result.stdout}\n{result.stderr}"
    return result
