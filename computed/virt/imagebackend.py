"""Where a server's own disks live: Nova's [libvirt] images_type.

    qcow2 (default)  vda, vdb and swap are files of the instance directory:
                     disk, a qcow2 overlay on the image's cached base in
                     _base; disk.local and disk.swap, overlays on the
                     formatted templates beside it (overlays.py: each
                     made once by qemu-img, then written from memory)
    rbd              they are RBD images in a Ceph pool ([libvirt]
                     images_rbd_pool, vms), named as Nova names them:
                     <uuid>_disk, <uuid>_disk.local, <uuid>_disk.swap
                     vda  a copy-on-write clone of the image's protected
                          snapshot when imaged keeps the image, raw, in this
                          same cluster (its location rbd://<fsid>/<pool>/
                          <image>/snap): nothing is downloaded, nothing is
                          copied. Any other image is fetched into _base as
                          for qcow2 and imported into the pool once for the
                          server (Nova's Rbd backend does the same).
                     vdb, swap  the formatted templates of _base, imported
                     QEMU reads them itself with librbd, as the cephx user
                     [libvirt] rbd_user, whose key is in one libvirt secret
                     of type ceph per compute node (Nova's rbd_secret_uuid)

Either way the instance directory stays: console.log, libvirt.xml and the
config drive (disk.config) are files. The flows ask this seam for disks by
what they are (the root, the ephemeral disk, the swap) and never by where
they lie, so launch, rebuild, unshelve, snapshot and terminate read the same
for both backends; the rbd one shells out to the `rbd` and `qemu-img`
commands a student can type to see the same images.
"""
from __future__ import annotations

import abc
import json
import subprocess
import uuid as uuidlib
from pathlib import Path

from computed.domain.devices import LocalDisks
from computed.imagecache import CachedImage
from computed.virt import qemu_img
from computed.virt.guest import FileDisk, LocalDisk, RbdDisk
from computed.virt.overlays import Overlays
from shared import ceph
from shared.units import MiB

COMMAND_TIMEOUT = 600.0
CLUSTER_TIMEOUT = "60"   # seconds librados waits for the monitors or an OSD
#: Nova's names of a server's disks, in the instance directory (qcow2) or
#: after "<uuid>_" in the pool (rbd).
ROOT, EPHEMERAL, SWAP = "disk", "disk.local", "disk.swap"


class DiskError(Exception):
    """A disk could not be made, read or removed; the message says why."""


class InstanceDisks(abc.ABC):
    """How a server's root, ephemeral and swap disks are made, found and
    removed. Each `create_*` leaves nothing behind when it fails; `remove`
    removes what there is, and nothing is an error when already gone."""

    kind: str

    @abc.abstractmethod
    def clone_location(self, image: dict) -> str | None:
        """The location the root disk can be cloned from without fetching
        the image into _base (imaged's record `image`), or None."""

    @abc.abstractmethod
    def create_root(self, server: str, size: int | None, base: CachedImage | None = None,
                    location: str | None = None, standalone: bool = False) -> None:
        """vda of `server`, `size` bytes (None: the image's size): on the
        cached `base` (an overlay; `standalone`: a full copy, for a shelved
        server's image) or a clone of `location` (from clone_location)."""

    @abc.abstractmethod
    def create_scratch(self, server: str, name: str, template: Path, size: int) -> None:
        """An ephemeral (EPHEMERAL) or swap (SWAP) disk on its formatted
        template of _base."""

    @abc.abstractmethod
    def disks(self, server: str, names: LocalDisks, bus: str, root: bool = True
              ) -> list[LocalDisk]:
        """The server's disks as the guest has them (vda unless not `root`:
        a volume-backed server; then vdb and the swap when the flavor gives
        them), for its libvirt XML."""

    @abc.abstractmethod
    def remove(self, server: str) -> list[str]:
        """Remove the server's root, ephemeral and swap disks; their names."""


class FileDisks(InstanceDisks):
    """images_type = qcow2: overlays in the instance directory."""

    kind = "qcow2"

    def __init__(self, instances_path: Path):
        self.instances_path = instances_path
        self._overlays = Overlays()  # each made once by qemu-img, then from memory

    def _path(self, server: str, name: str) -> Path:
        return self.instances_path / server / name

    def clone_location(self, image: dict) -> str | None:
        return None

    def create_root(self, server: str, size: int | None, base: CachedImage | None = None,
                    location: str | None = None, standalone: bool = False) -> None:
        if base is None:
            raise DiskError("a qcow2 root disk is made on a cached base image")
        path = self._path(server, ROOT)
        try:
            if standalone:
                qemu_img.convert(base.path, base.format, path, "qcow2")
                if size and size > base.virtual_size:
                    qemu_img.resize(path, "qcow2", size)
            else:
                self._overlays.create(path, base.path, base.format, size)
        except qemu_img.QemuImgError:
            path.unlink(missing_ok=True)
            raise

    def create_scratch(self, server: str, name: str, template: Path, size: int) -> None:
        self._overlays.create(self._path(server, name), template, "raw", size)

    def disks(self, server: str, names: LocalDisks, bus: str, root: bool = True
              ) -> list[LocalDisk]:
        return [FileDisk(self._path(server, name), device, "qcow2", bus=bus)
                for name, device in _named(names, root)]

    def remove(self, server: str) -> list[str]:
        removed = []
        for name in (ROOT, EPHEMERAL, SWAP):
            path = self._path(server, name)
            if path.exists():
                path.unlink()
                removed.append(name)
        return removed


class RbdDisks(InstanceDisks):
    """images_type = rbd: RBD images in a Ceph pool (see the module's
    docstring). `secret` defines the node's libvirt secret holding the
    user's key, given (uuid, usage, key); it is called before the first
    disk is handed to QEMU."""

    kind = "rbd"

    def __init__(self, ceph_conf: Path, user: str, pool: str, secret_uuid: str,
                 define_secret, node_uuid: str):
        self.ceph_conf, self.user, self.pool = ceph_conf, user, pool
        self._secret_uuid = secret_uuid
        self._define_secret = define_secret
        self.node_uuid = node_uuid
        self._secret_ready = False

    # --- names -----------------------------------------------------------------------
    @staticmethod
    def image_name(server: str, name: str) -> str:
        return f"{server}_{name}"

    def _qemu_target(self, image: str) -> str:
        """qemu-img's name of an RBD image: the user's keyring is found
        through the config (never on the command line)."""
        return f"rbd:{self.pool}/{image}:id={self.user}:conf={self.ceph_conf}"

    def fsid(self) -> str:
        try:
            return ceph.fsid(self.ceph_conf)
        except ceph.CephConfigError as exc:
            raise DiskError(str(exc)) from None

    # --- the seam --------------------------------------------------------------------
    def clone_location(self, image: dict) -> str | None:
        """As Nova's _is_cloneable: a raw image whose location is a snapshot
        in this very cluster."""
        if image.get("disk_format") != "raw":
            return None
        urls = [location.get("url", "") for location in image.get("locations") or []]
        urls.append(image.get("direct_url") or "")
        for url in urls:
            parsed = ceph.parse_rbd_url(url)
            if parsed is not None and parsed[0] == self.fsid():
                return url
        return None

    def create_root(self, server: str, size: int | None, base: CachedImage | None = None,
                    location: str | None = None, standalone: bool = False) -> None:
        name = self.image_name(server, ROOT)
        parsed = ceph.parse_rbd_url(location) if location is not None else None
        if location is not None and parsed is None:
            raise DiskError(f"{location} is not an rbd location")
        if parsed is None and base is None:
            raise DiskError("a root disk is made from a cached base or a location")
        try:
            if parsed is not None:
                _fsid, pool, image, snapshot = parsed
                self._rbd("clone", f"{pool}/{image}@{snapshot}", f"{self.pool}/{name}")
            elif base is not None:
                qemu_img.convert(base.path, base.format, self._qemu_target(name), "raw")
            if size:
                self._grow(name, size)
        except (DiskError, qemu_img.QemuImgError):
            self._remove_image(name)
            raise

    def create_scratch(self, server: str, name: str, template: Path, size: int) -> None:
        image = self.image_name(server, name)
        try:
            qemu_img.convert(template, "raw", self._qemu_target(image), "raw")
            self._grow(image, size)
        except (DiskError, qemu_img.QemuImgError):
            self._remove_image(image)
            raise

    def disks(self, server: str, names: LocalDisks, bus: str, root: bool = True
              ) -> list[LocalDisk]:
        secret = self.secret_uuid()
        self._ensure_secret(secret)
        hosts, ports = ceph.monitors(self.ceph_conf)
        return [RbdDisk(f"{self.pool}/{self.image_name(server, name)}", device,
                        tuple(hosts), tuple(ports), self.user, secret, bus=bus,
                        qemu_source=self._qemu_target(self.image_name(server, name)))
                for name, device in _named(names, root)]

    def remove(self, server: str) -> list[str]:
        """Every image of the pool named <server>_... (Nova's
        _cleanup_rbd: what a failed step may have left is found too)."""
        prefix = f"{server}_"
        removed = []
        for image in self._rbd("ls", self.pool).split():
            if image.startswith(prefix):
                self._remove_image(image, check=True)
                removed.append(f"{self.pool}/{image}")
        return removed

    # --- the node's secret -----------------------------------------------------------
    def secret_uuid(self) -> str:
        """[libvirt] rbd_secret_uuid, else derived from the cluster and the
        user, as volumed derives it: the same on every start."""
        return self._secret_uuid or str(uuidlib.uuid5(
            uuidlib.NAMESPACE_URL, f"ceph://{self.fsid()}/client.{self.user}"))

    def _ensure_secret(self, secret: str) -> None:
        if self._secret_ready:
            return
        try:
            key = ceph.client_key(self.ceph_conf.parent, self.user)
        except ceph.CephConfigError as exc:
            raise DiskError(str(exc)) from None
        self._define_secret(secret, f"pocketstack-disks/{self.node_uuid}/client.{self.user}",
                            f"PocketStack: cephx key of client.{self.user} for instance "
                            f"disks in pool {self.pool}", key)
        self._secret_ready = True

    # --- rbd -------------------------------------------------------------------------
    def _grow(self, image: str, size: int) -> None:
        """Grow (never shrink) an image to `size` bytes, in whole MiB."""
        info = self._rbd("info", "--format", "json", f"{self.pool}/{image}")
        if json.loads(info)["size"] < size:
            self._rbd("resize", "--size", str(-(-size // MiB)), f"{self.pool}/{image}")

    def _remove_image(self, image: str, check: bool = False) -> None:
        try:
            self._rbd("rm", "--no-progress", f"{self.pool}/{image}")
        except DiskError as exc:
            if check and "No such file" not in str(exc):
                raise

    def _rbd(self, *args: str) -> str:
        # A cluster that is away fails the command in a minute, not in the
        # five that librados waits by default.
        command = ["rbd", "--conf", str(self.ceph_conf), "--id", self.user,
                   "--client_mount_timeout", CLUSTER_TIMEOUT,
                   "--rados_osd_op_timeout", CLUSTER_TIMEOUT, *args]
        try:
            done = subprocess.run(command, capture_output=True, text=True,
                                  timeout=COMMAND_TIMEOUT, stdin=subprocess.DEVNULL)
        except FileNotFoundError:
            raise DiskError("the rbd command is not installed (Debian package "
                            "ceph-common)") from None
        except subprocess.TimeoutExpired:
            raise DiskError(f"rbd {args[0]} took longer than {COMMAND_TIMEOUT:.0f} s") \
                from None
        if done.returncode != 0:
            raise DiskError(f"rbd {args[0]} failed: {done.stderr.strip()}")
        return done.stdout


def _named(names: LocalDisks, root: bool) -> list[tuple[str, str]]:
    """(disk name, device) of the disks the flavor gives."""
    pairs = [(ROOT, names.root)] if root else []
    if names.ephemeral:
        pairs.append((EPHEMERAL, names.ephemeral))
    if names.swap:
        pairs.append((SWAP, names.swap))
    return pairs

