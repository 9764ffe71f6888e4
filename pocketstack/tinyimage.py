"""The tiny test image, registered by `pocketstack up` once imaged runs.

It is built once (under 20 MB, from Debian's kernel, busybox and dropbear:
labs/tinyimage) and registered in imaged as the public qcow2 image
`pocketstack-tiny`, if no active image has that name, so that a first server
is one command away. Its SSH server lets `root` in with the server's key pair;
the image says so with Glance's common property os_admin_user, which clients
read to know whom to log in as. The
build is cached in <state>/cache/tinyimage, or in $POCKETSTACK_IMAGE_CACHE
(several stacks on one machine, such as the test suite's, share one build).
It goes through imaged's public API as the admin user, as a person would.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import requests

from labs.tinyimage import build
from pocketstack import processes
from pocketstack.progress import Progress
from shared.clients import ServiceSession
from shared.paths import StateLayout

IMAGE_NAME = "pocketstack-tiny"
LOGIN_USER = "root"
# At most 255 characters: Nova's image metadata values are (and a server's
# snapshot carries this property on).
DESCRIPTION = ("PocketStack's tiny test image: a Debian kernel and a busybox initramfs that "
               "reports its disks and network on the serial console; SSH (dropbear) as "
               f"{LOGIN_USER} with the key pair's key only (metadata service or config "
               "drive); host keys on the console.")
CACHE_ENV = "POCKETSTACK_IMAGE_CACHE"
TIMEOUT = 120
START_WAIT = 60.0  # for identity and imaged to answer, as `up` waits for a service


def image_cache_dir(state: StateLayout) -> Path:
    return Path(os.environ.get(CACHE_ENV) or state.root / "cache" / "tinyimage")


@dataclass
class Lookup:
    """What imaged has under the tiny image's name, and the admin token the
    lookup used (a registration goes on with it)."""
    headers: dict
    images: list[dict]

    def active_id(self) -> str | None:
        return next((image["id"] for image in self.images if image["status"] == "active"),
                    None)


def look_up(admin: ServiceSession, image_url: str) -> Lookup:
    """List the images named IMAGE_NAME as admin (the session keeps its
    token for the next `up`: see shared.clients.session)."""
    headers = {"X-Auth-Token": admin.token()}
    found = requests.get(f"{image_url}/v2/images", params={"name": IMAGE_NAME},
                         headers=headers, timeout=TIMEOUT)
    found.raise_for_status()
    return Lookup(headers, found.json()["images"])


def register_tiny_image(state: StateLayout, image_url: str, found: Lookup,
                        progress: Progress) -> tuple[str, bool]:
    """(image id, True if it was uploaded now), given what look_up() found.
    The build (tens of seconds the first time) and the upload show on
    `progress`."""
    headers = found.headers
    active = found.active_id()
    if active:
        return active, False
    for image in found.images:  # left half-made by an interrupted `up`: start again
        requests.delete(f"{image_url}/v2/images/{image['id']}", headers=headers,
                        timeout=TIMEOUT)
    with progress.waiting(f"building {IMAGE_NAME} (cached after the first time)"):
        path = build(image_cache_dir(state))
    created = requests.post(f"{image_url}/v2/images", headers=headers, timeout=TIMEOUT, json={
        "name": IMAGE_NAME, "disk_format": "qcow2", "container_format": "bare",
        "visibility": "public", "min_ram": 64,
        "os_admin_user": LOGIN_USER, "description": DESCRIPTION})
    created.raise_for_status()
    image_id = created.json()["id"]
    with progress.transfer(f"uploading {IMAGE_NAME}", path.stat().st_size) as sent, \
            open(path, "rb") as data:
        uploaded = requests.put(f"{image_url}/v2/images/{image_id}/file",
                                data=sent.reading(data),
                                headers={**headers,
                                         "Content-Type": "application/octet-stream"},
                                timeout=TIMEOUT)
    if uploaded.status_code != 204:
        requests.delete(f"{image_url}/v2/images/{image_id}", headers=headers, timeout=TIMEOUT)
        raise RuntimeError(f"uploading {path} to imaged failed: HTTP "
                           f"{uploaded.status_code} {uploaded.text[:300]}")
    return image_id, True


class TinyImageLookup:
    """The tiny image looked up in imaged in a thread of its own, as soon
    as identity and imaged answer, while `up` waits for the services that
    start after them: the admin's login costs identity a bcrypt hash, a
    quarter of a second that no one then waits for."""

    def __init__(self, identity: tuple[str, int], imaged: tuple[str, int],
                 admin: ServiceSession):
        self._apis = [identity, imaged]
        self.image_url = f"http://{imaged[0]}:{imaged[1]}"
        self._admin = admin
        self._cancelled = threading.Event()
        self._found: Lookup | None = None
        self._error: Exception | None = None
        # a daemon thread: a failed `up` does not wait for it to give up
        self._thread = threading.Thread(target=self._look_up, name="tiny-image", daemon=True)
        self._thread.start()

    def _look_up(self) -> None:
        try:
            if processes.wait_until(
                    lambda: self._cancelled.is_set() or all(
                        processes.http_status(host, port, 2.0) not in (None, 503)
                        for host, port in self._apis), START_WAIT, interval=0.05) \
                    and not self._cancelled.is_set():
                self._found = look_up(self._admin, self.image_url)
        except Exception as exc:  # said by result()
            self._error = exc

    def result(self) -> Lookup:
        """What imaged has under the tiny image's name; raises what the
        lookup raised."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        if self._found is None:
            raise RuntimeError("identity or imaged did not answer")
        return self._found

    def cancel(self) -> None:
        self._cancelled.set()
