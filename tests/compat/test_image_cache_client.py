"""The unmodified python-glanceclient and the image cache API (/v2/cache):
`glance cache-queue`, `cache-list`, `cache-delete`, `cache-clear`,
`cache-clean` and `cache-prune` as an admin runs them, and a user who is
refused. The client asks imaged's versions document for Image API 2.14
(2.18 for clean and prune) first, and wants the image endpoint named
directly (OS_IMAGE_URL): the cache is one API node's.

A download copies only images of a remote store: the images here are in the
http store, their data served by a loopback web server started here and given
to them with the 2.17 locations API, as a service does it. That a
download came from the cache is proven by removing the file from the web
server first."""
from __future__ import annotations

import hashlib
import os
import subprocess
import uuid
from pathlib import Path

from tests.stack import CLIENTS_VENV
from tests.support.images import Images, raw_bytes, wait_for, web_server_fixture

SIZE = 250_000


web = web_server_fixture()


def glance(stack, *args: str, user: str = "admin", check: bool = True):
    """python-glanceclient as `user` (of the project of the same name), with
    the image endpoint given directly, as the cache commands require."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("OS_")}
    env.update({"OS_AUTH_URL": stack.url("identity"), "OS_USERNAME": user,
                "OS_PASSWORD": stack.password(user), "OS_PROJECT_NAME": user,
                "OS_USER_DOMAIN_NAME": "Default", "OS_PROJECT_DOMAIN_NAME": "Default",
                "OS_IMAGE_URL": stack.url("imaged")})
    result = subprocess.run([str(CLIENTS_VENV / "bin" / "glance"), *args], env=env,
                            capture_output=True, text=True, timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(f"glance {' '.join(args)}: {result.stdout}\n{result.stderr}")
    return result


def cache_table(stack) -> dict[str, dict[str, str]]:
    """`glance cache-list` as {image id: its row (column name: cell)}."""
    output = glance(stack, "cache-list").stdout
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")]
            for line in output.splitlines() if line.startswith("|")]
    header, body = rows[0], rows[1:]
    assert header == ["ID", "State", "Last Accessed (UTC)", "Last Modified (UTC)", "Size",
                      "Hits"], output
    return {row[0]: dict(zip(header, row, strict=True)) for row in body}


def state_of(stack, image_id: str) -> str | None:
    row = cache_table(stack).get(image_id)
    return row["State"] if row else None


def web_image(stack, web, seed: str) -> tuple[str, bytes, Path]:
    """An active image of demo whose data is a new file on the web server,
    its location added by the volumed service user with validation data.
    Returns (image id, data, the file)."""
    base, folder = web
    data = (seed.encode() + raw_bytes(SIZE))[:SIZE]
    path = folder / f"{uuid.uuid4().hex}.raw"
    path.write_bytes(data)
    demo = Images(stack, stack.token("demo"))
    image = demo.new(name=f"cache-cli-{seed}")
    service = Images(stack, stack.token("volumed", "service"))
    response = service.request("POST", f"/v2/images/{image['id']}/locations", json={
        "url": f"{base}/{path.name}", "validation_data": {
            "os_hash_algo": "sha512", "os_hash_value": hashlib.sha512(data).hexdigest()}})
    assert response.status_code == 202, response.text
    assert wait_for(lambda: demo.show(image["id"])["status"] == "active")
    return image["id"], data, path


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def test_cache_queue_then_list_shows_the_prefetched_image_and_download_uses_it(
        stack, web, tmp_path):
    image_id, data, path = web_image(stack, web, "queued")
    assert state_of(stack, image_id) is None
    queued = glance(stack, "cache-queue", image_id)
    assert queued.stderr == ""                  # the client prints refusals and goes on
    assert state_of(stack, image_id) in ("queued", "cached")
    assert wait_for(lambda: state_of(stack, image_id) == "cached", timeout=60)
    row = cache_table(stack)[image_id]
    assert row["Size"] == str(SIZE) and row["Hits"] == "0"
    assert row["Last Modified (UTC)"] != "N/A"

    path.unlink()                               # only the cache has the data now
    saved = tmp_path / "saved.raw"
    glance(stack, "image-download", "--file", str(saved), image_id, user="demo")
    assert md5(saved.read_bytes()) == md5(data)
    assert cache_table(stack)[image_id]["Hits"] == "1"


def test_cache_delete_drops_the_copy(stack, web):
    image_id, _, _ = web_image(stack, web, "deleted")
    glance(stack, "cache-queue", image_id)
    assert wait_for(lambda: state_of(stack, image_id) == "cached", timeout=60)
    deleted = glance(stack, "cache-delete", image_id)
    assert deleted.stderr == ""
    assert state_of(stack, image_id) is None
    unknown = glance(stack, "cache-delete", str(uuid.uuid4()))
    assert "Unable to delete image" in unknown.stderr and "404" in unknown.stderr


def test_cache_clear_by_target(stack, web, tmp_path):
    image_id, data, _ = web_image(stack, web, "cleared")
    # The first download through the API fills the cache.
    glance(stack, "image-download", "--file", str(tmp_path / "first.raw"), image_id,
           user="demo")
    assert md5((tmp_path / "first.raw").read_bytes()) == md5(data)
    assert state_of(stack, image_id) == "cached"
    assert glance(stack, "cache-clear", "--target", "queue").stderr == ""
    assert state_of(stack, image_id) == "cached"
    assert glance(stack, "cache-clear", "--target", "cache").stderr == ""
    assert state_of(stack, image_id) is None
    assert glance(stack, "cache-clear").stderr == ""
    assert cache_table(stack) == {}


def test_cache_clean_and_prune(stack, web):
    image_id, _, _ = web_image(stack, web, "kept")
    glance(stack, "cache-queue", image_id)
    assert wait_for(lambda: state_of(stack, image_id) == "cached", timeout=60)
    assert glance(stack, "cache-clean").stderr == ""
    # Nothing stalled, and the cache is far under image_cache_max_size.
    pruned = glance(stack, "cache-prune")
    assert pruned.stdout.strip() == "Pruned 0 file(s), 0 byte(s)."
    assert state_of(stack, image_id) == "cached"


def test_the_cache_is_for_admins(stack, web):
    image_id, _, _ = web_image(stack, web, "refused")
    listed = glance(stack, "cache-list", user="demo", check=False)
    assert listed.returncode != 0
    assert "403" in listed.stderr and "cache_list" in listed.stderr
    queued = glance(stack, "cache-queue", image_id, user="demo")
    assert "You are not permitted to queue the image" in queued.stderr
    assert glance(stack, "cache-clear", user="demo").stderr.startswith(
        "You are not permitted to delete image(s) from cache.")
    assert state_of(stack, image_id) is None
