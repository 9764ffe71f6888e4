"""What `pocketstack up` does for computed before and after starting it:

* ensure_libvirt: virtlogd and libvirtd run (started when they do not: see
  shared.host.libvirt_host). They are host
  services shared by every stack on the machine, so `pocketstack down`
  leaves them running (as it leaves the servers' QEMU processes).
* register_tiny_image: the tiny test image is built once (a few MB, from
  Debian's kernel and busybox: labs/tinyimage) and registered in imaged as
  the public qcow2 image `pocketstack-tiny`, if no active image has that name.
  The build is cached in <state>/cache/tinyimage, or in $POCKETSTACK_IMAGE_CACHE
  (several stacks on one machine, such as the test suite's, share one build).
"""
from __future__ import annotations

import os
from pathlib import Path

import requests

from shared.paths import StateLayout

IMAGE_NAME = "pocketstack-tiny"
CACHE_ENV = "POCKETSTACK_IMAGE_CACHE"
TIMEOUT = 120


def ensure_libvirt(state: StateLayout) -> dict:
    """Returns shared.host.libvirt_host.ensure_running's answer; raises
    HostServiceError with the reason."""
    from shared.host.libvirt_host import ensure_running
    return ensure_running(state.root)


def power_off_guests(state: StateLayout) -> list[str]:
    """`pocketstack down`: power off this stack's guests (hard, as a host
    losing power would), keeping their definitions and disks. At the next
    `up`, computed's reconcile shows them SHUTOFF and they can be started
    again. Only domains marked with this stack's node id are touched."""
    import libvirt
    from sqlalchemy import select

    from computed.config import schema
    from computed.db.models import ComputeNode
    from computed.virt.guest import METADATA_NS, parse_metadata
    from shared.config import ConfigError, load_config
    from shared.db import make_engine, session_factory, transaction
    from shared.service import database_url

    try:
        conf = load_config(schema(), state.config_file(schema().filename))
    except ConfigError:
        return []
    engine = make_engine(database_url(conf, state, "computed"))
    try:
        with transaction(session_factory(engine), write=False) as session:
            nodes = set(session.scalars(select(ComputeNode.uuid)))
    except Exception:  # no database yet: computed never ran here
        return []
    finally:
        engine.dispose()
    libvirt.registerErrorHandler(lambda _ctx, _error: None, None)
    stopped = []
    try:
        conn = libvirt.open(conf.libvirt.uri)
    except libvirt.libvirtError:
        return []
    try:
        for domain in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE):
            try:
                labels = parse_metadata(domain.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT,
                                                        METADATA_NS))
                if labels.get("node") in nodes:
                    domain.destroy()
                    stopped.append(domain.name())
            except libvirt.libvirtError:
                continue
    finally:
        conn.close()
    return stopped


def image_cache_dir(state: StateLayout) -> Path:
    return Path(os.environ.get(CACHE_ENV) or state.root / "cache" / "tinyimage")


def _admin_token(identity_url: str, password: str) -> str:
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "password": password, "domain": {"id": "default"}}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
    response = requests.post(f"{identity_url}/v3/auth/tokens", json=body, timeout=TIMEOUT)
    response.raise_for_status()
    return response.headers["X-Subject-Token"]


def register_tiny_image(state: StateLayout, identity_url: str, image_url: str,
                        admin_password: str) -> tuple[str, bool]:
    """(image id, True if it was uploaded now)."""
    from labs.tinyimage import build
    headers = {"X-Auth-Token": _admin_token(identity_url, admin_password)}
    found = requests.get(f"{image_url}/v2/images", params={"name": IMAGE_NAME},
                         headers=headers, timeout=TIMEOUT)
    found.raise_for_status()
    images = found.json()["images"]
    for image in images:
        if image["status"] == "active":
            return image["id"], False
    for image in images:  # left half-made by an interrupted `up`: start again
        requests.delete(f"{image_url}/v2/images/{image['id']}", headers=headers,
                        timeout=TIMEOUT)
    path = build(image_cache_dir(state))
    created = requests.post(f"{image_url}/v2/images", headers=headers, timeout=TIMEOUT, json={
        "name": IMAGE_NAME, "disk_format": "qcow2", "container_format": "bare",
        "visibility": "public", "min_ram": 64,
        "description": "PocketStack's tiny test image: a Debian kernel and a busybox "
                       "initramfs that reports its disks on the serial console."})
    created.raise_for_status()
    image_id = created.json()["id"]
    with open(path, "rb") as data:
        uploaded = requests.put(f"{image_url}/v2/images/{image_id}/file", data=data,
                                headers={**headers,
                                         "Content-Type": "application/octet-stream"},
                                timeout=TIMEOUT)
    if uploaded.status_code != 204:
        requests.delete(f"{image_url}/v2/images/{image_id}", headers=headers, timeout=TIMEOUT)
        raise RuntimeError(f"uploading {path} to imaged failed: HTTP "
                           f"{uploaded.status_code} {uploaded.text[:300]}")
    return image_id, True
