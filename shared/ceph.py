"""What every client of a Ceph cluster reads, whichever service it is:
the cluster's fsid and monitors from its ceph.conf, a cephx user's key from
its keyring, and the rbd:// locations imaged's rbd store gives its images
(rbd://<fsid>/<pool>/<image>/<snapshot>, each part URL-quoted, as Glance
writes them). Nothing here talks to the cluster."""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit


class CephConfigError(Exception):
    """A config or keyring is missing or says nothing of what is asked."""


def conf_value(conf: Path, key: str) -> str:
    """The value of `key` in a ceph.conf (the first one found)."""
    try:
        text = conf.read_text()
    except OSError as exc:
        raise CephConfigError(f"cannot read the Ceph config {conf}: {exc.strerror} (is "
                              f"Ceph enabled in pocketstack.conf?)") from None
    for line in text.splitlines():
        name, _, value = line.partition("=")
        if name.strip() == key:
            return value.strip()
    raise CephConfigError(f"{conf} names no {key}")


def fsid(conf: Path) -> str:
    return conf_value(conf, "fsid")


def monitors(conf: Path) -> tuple[list[str], list[str]]:
    """The monitors' hosts and msgr1 ports (what QEMU and libvirt name),
    from mon_host = [v2:host:port,v1:host:port]."""
    hosts, ports = [], []
    for host, port in re.findall(r"v1:([0-9.]+):(\d+)", conf_value(conf, "mon_host")):
        hosts.append(host)
        ports.append(port)
    return hosts, ports


def client_key(keyring_dir: Path, user: str) -> str:
    """The key of client.<user>, from ceph.client.<user>.keyring in
    `keyring_dir` (never logged: it goes into a libvirt secret)."""
    keyring = keyring_dir / f"ceph.client.{user}.keyring"
    try:
        for line in keyring.read_text().splitlines():
            name, _, value = line.partition("=")
            if name.strip() == "key":
                return value.strip()
    except OSError as exc:
        raise CephConfigError(f"no keyring for the cephx user {user}: {exc.strerror}") \
            from None
    raise CephConfigError(f"the keyring of the cephx user {user} holds no key")


def parse_rbd_url(url: str) -> tuple[str, str, str, str] | None:
    """(fsid, pool, image, snapshot) of an rbd:// location, None for any
    other URL."""
    parts = urlsplit(url)
    pieces = [unquote(piece) for piece in (parts.netloc + parts.path).split("/")]
    if parts.scheme != "rbd" or len(pieces) != 4 or not all(pieces):
        return None
    return pieces[0], pieces[1], pieces[2], pieces[3]
