"""The rbd backend: each volume an RBD image in a Ceph pool, as Cinder's RBD
driver keeps them.

    volume      volumes/volume-<id>, made as client.cinder (thin: only what
                is written takes space)
    snapshot    an RBD snapshot snapshot-<id> of its volume's image,
                protected so that volumes can be cloned from it
    from a snapshot   a copy-on-write clone of that snapshot (instant)
    from a volume     a full copy (librbd's deep copy), as Cinder does
                      without rbd_max_clone_depth tricks
    from an image     a copy-on-write clone of the image's own snapshot when
                      imaged keeps it in this same cluster (rbd://<fsid>/...,
                      imaged's rbd store); otherwise the caller's filler
                      writes a scratch file that is imported once
    backup, restore   the image read and written in place through librbd
                (RbdImageIO, a file object over it, as os-brick's wrapper)
    to an image       qemu-img reads it itself (rbd:<pool>/<image>:id=...)
    attach      no iSCSI: the compute host reaches the image itself with
                librbd, given the monitors, pool/name and the cephx user in
                connection_info (driver_volume_type rbd); the user's key is
                the libvirt secret secret_uuid

Ceph refuses to remove a snapshot that clones were made from, and a volume
that still has snapshots: both are BackendError with the reason. The cluster
is reached with librados (Debian's python3-rados, python3-rbd), one
connection opened at first use.
"""
from __future__ import annotations

import contextlib
import io
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, cast

from shared import ceph
from shared.units import GiB
from volumed.backend.base import BackendError, Filler, VolumeBackend

COPY_BLOCK = 4 * 1024 * 1024


def _bindings():
    try:
        import rados
        import rbd
    except ImportError:
        raise BackendError("The rbd backend needs Ceph's Python bindings (python3-rados, "
                           "python3-rbd), which are not installed.") from None
    return rados, rbd


class RbdBackend(VolumeBackend):
    def __init__(self, ceph_conf: Path, user: str, pool: str, secret_uuid: str,
                 scratch_dir: Path):
        self.ceph_conf, self.user, self.pool = ceph_conf, user, pool
        self._secret_uuid = secret_uuid
        self.scratch_dir = scratch_dir
        self._cluster = None
        self._lock = threading.Lock()

    # --- names and the connection -------------------------------------------
    @staticmethod
    def image_name(volume_id: str) -> str:
        return f"volume-{volume_id}"

    @staticmethod
    def snap_name(snapshot_id: str) -> str:
        return f"snapshot-{snapshot_id}"

    def cluster(self):
        with self._lock:
            if self._cluster is None:
                rados, _rbd = _bindings()
                if not self.ceph_conf.exists():
                    raise BackendError(f"The Ceph config {self.ceph_conf} does not exist (is "
                                       f"Ceph enabled in pocketstack.conf?).")
                cluster = rados.Rados(conffile=str(self.ceph_conf), rados_id=self.user)
                try:
                    cluster.connect(timeout=30)
                except rados.Error as exc:
                    cluster.shutdown()
                    raise BackendError(f"Cannot reach Ceph as client.{self.user}: {exc}") \
                        from None
                self._cluster = cluster
            return self._cluster

    @contextlib.contextmanager
    def _ioctx(self, pool: str | None = None):
        rados, _rbd = _bindings()
        try:
            ioctx = self.cluster().open_ioctx(pool or self.pool)
        except rados.Error as exc:
            raise BackendError(f"Cannot open the Ceph pool {pool or self.pool}: {exc}") \
                from None
        try:
            yield ioctx
        finally:
            ioctx.close()

    @contextlib.contextmanager
    def _image(self, volume_id: str, read_only: bool = False):
        _rados, rbd = _bindings()
        with self._ioctx() as ioctx:
            try:
                image = rbd.Image(ioctx, self.image_name(volume_id), read_only=read_only)
            except rbd.ImageNotFound:
                raise BackendError(f"Volume {volume_id} does not exist in pool "
                                   f"{self.pool}.") from None
            try:
                yield image
            finally:
                image.close()

    def fsid(self) -> str:
        return self.cluster().get_fsid()

    def secret_uuid(self) -> str:
        """The libvirt secret that holds the cephx user's key on compute
        hosts (Cinder's rbd_secret_uuid): configured, else derived from the
        cluster and the user so every service of the stack agrees on it."""
        return self._secret_uuid or str(uuid.uuid5(uuid.NAMESPACE_URL,
                                                   f"ceph://{self.fsid()}/client.{self.user}"))

    def monitors(self) -> tuple[list[str], list[str]]:
        """The monitors' hosts and msgr1 ports, from the cluster's ceph.conf."""
        return ceph.monitors(self.ceph_conf)

    # --- queries -------------------------------------------------------------
    def device_path(self, volume_id: str) -> Path:
        # Not a file: RBD volumes are reached with librbd, never served by a target.
        return Path(f"rbd:{self.pool}/{self.image_name(volume_id)}")

    def exists(self, volume_id: str) -> bool:
        try:
            with self._image(volume_id, read_only=True):
                return True
        except BackendError:
            return False

    def size_bytes(self, volume_id: str) -> int:
        try:
            with self._image(volume_id, read_only=True) as image:
                return image.size()
        except BackendError as exc:
            raise OSError(str(exc)) from None

    @contextlib.contextmanager
    def open_data(self, volume_id: str | None = None, snapshot_id: str | None = None,
                  writable: bool = False) -> Iterator[BinaryIO]:
        _rados, rbd = _bindings()
        snapshot = None
        name = self.image_name(volume_id or "")
        if snapshot_id:
            found = self._find_snapshot(snapshot_id)
            if found is None:
                raise BackendError(f"Snapshot {snapshot_id} does not exist.")
            name, snapshot = found
        with self._ioctx() as ioctx:
            try:
                image = rbd.Image(ioctx, name, snapshot=snapshot,
                                  read_only=not writable or snapshot is not None)
            except rbd.ImageNotFound:
                raise BackendError(f"RBD image {self.pool}/{name} does not exist.") from None
            try:
                yield cast(BinaryIO, RbdImageIO(image))
                if writable:
                    image.flush()
            finally:
                image.close()

    def qemu_source(self, volume_id: str) -> str:
        """librbd inside qemu-img, as client.<user> (its keyring found through
        the config, never on the command line)."""
        return (f"rbd:{self.pool}/{self.image_name(volume_id)}:id={self.user}"
                f":conf={self.ceph_conf}")

    def snapshot_path(self, snapshot_id: str) -> Path:
        found = self._find_snapshot(snapshot_id)
        name = found[0] if found else "?"
        return Path(f"rbd:{self.pool}/{name}@{self.snap_name(snapshot_id)}")

    def snapshot_exists(self, snapshot_id: str) -> bool:
        try:
            return self._find_snapshot(snapshot_id) is not None
        except BackendError:
            return False

    def _find_snapshot(self, snapshot_id: str) -> tuple[str, str] | None:
        """(image name, snapshot name) of the snapshot, by looking through the
        pool (a backend keeps no database; a teaching cloud's pool is small)."""
        _rados, rbd = _bindings()
        wanted = self.snap_name(snapshot_id)
        with self._ioctx() as ioctx:
            for name in rbd.RBD().list(ioctx):
                try:
                    with rbd.Image(ioctx, name, read_only=True) as image:
                        if any(snap["name"] == wanted for snap in image.list_snaps()):
                            return name, wanted
                except rbd.ImageNotFound:
                    continue
        return None

    # --- creating ------------------------------------------------------------
    def create(self, volume_id: str, size_gib: int, fill: Filler | None = None) -> None:
        rados, rbd = _bindings()
        name = self.image_name(volume_id)
        with self._ioctx() as ioctx:
            try:
                rbd.RBD().create(ioctx, name, size_gib * GiB, old_format=False)
            except rbd.ImageExists:
                raise BackendError(f"Volume {volume_id} already exists.") from None
            except rados.Error as exc:
                raise BackendError(f"Cannot create volume {volume_id}: {exc}") from None
            if fill is None:
                return
            scratch = self.scratch_path(f"fill-{volume_id}")
            try:
                with open(scratch, "wb") as handle:
                    handle.truncate(size_gib * GiB)
                fill(scratch)
                with rbd.Image(ioctx, name) as image:
                    _copy_sparse_file(scratch, image)
            except BaseException:
                with contextlib.suppress(Exception):
                    rbd.RBD().remove(ioctx, name)
                raise
            finally:
                scratch.unlink(missing_ok=True)

    def clone_image(self, location_url: str, volume_id: str, size_gib: int) -> bool:
        """A copy-on-write clone of an image imaged keeps in this cluster
        (rbd://<fsid>/<pool>/<image>/<snapshot>). False when the location is
        elsewhere (the caller then copies the data); BackendError when the
        clone fails (nothing is left)."""
        parsed = ceph.parse_rbd_url(location_url)
        if parsed is None or parsed[0] != self.fsid():
            return False
        _fsid, pool, image, snapshot = parsed
        rados, rbd = _bindings()
        name = self.image_name(volume_id)
        with self._ioctx(pool) as parent, self._ioctx() as ioctx:
            try:
                rbd.RBD().clone(parent, image, snapshot, ioctx, name)
            except rados.Error as exc:
                raise BackendError(f"Cannot clone {pool}/{image}@{snapshot}: {exc}") from None
            try:
                with rbd.Image(ioctx, name) as child:
                    if child.size() < size_gib * GiB:
                        child.resize(size_gib * GiB)
            except BaseException:
                with contextlib.suppress(Exception):
                    rbd.RBD().remove(ioctx, name)
                raise
        return True

    def clone(self, source_volume_id: str, volume_id: str, size_gib: int) -> None:
        rados, rbd = _bindings()
        name = self.image_name(volume_id)
        with self._image(source_volume_id, read_only=True) as source, self._ioctx() as ioctx:
            try:
                source.deep_copy(ioctx, name)
                with rbd.Image(ioctx, name) as copy:
                    if copy.size() < size_gib * GiB:
                        copy.resize(size_gib * GiB)
            except rbd.ImageExists:
                raise BackendError(f"Volume {volume_id} already exists.") from None
            except rados.Error as exc:
                with contextlib.suppress(Exception):
                    rbd.RBD().remove(ioctx, name)
                raise BackendError(f"Cannot copy volume {source_volume_id}: {exc}") from None

    def create_snapshot(self, volume_id: str, snapshot_id: str) -> None:
        rados, _rbd = _bindings()
        with self._image(volume_id) as image:
            try:
                image.create_snap(self.snap_name(snapshot_id))
                image.protect_snap(self.snap_name(snapshot_id))
            except rados.Error as exc:
                with contextlib.suppress(Exception):
                    image.remove_snap(self.snap_name(snapshot_id))
                raise BackendError(f"Cannot snapshot volume {volume_id}: {exc}") from None

    def create_from_snapshot(self, snapshot_id: str, volume_id: str, size_gib: int) -> None:
        found = self._find_snapshot(snapshot_id)
        if found is None:
            raise BackendError(f"Snapshot {snapshot_id} does not exist.")
        parent_name, snap = found
        url = f"rbd://{self.fsid()}/{self.pool}/{parent_name}/{snap}"
        self.clone_image(url, volume_id, size_gib)

    def scratch_path(self, purpose: str) -> Path:
        self.scratch_dir.mkdir(parents=True, exist_ok=True)
        return self.scratch_dir / f"tmp-{purpose}-{uuid.uuid4().hex[:8]}"

    # --- changing ------------------------------------------------------------
    def extend(self, volume_id: str, new_size_gib: int) -> None:
        rados, _rbd = _bindings()
        with self._image(volume_id) as image:
            if new_size_gib * GiB < image.size():
                raise BackendError(f"Volume {volume_id} cannot shrink.")
            try:
                image.resize(new_size_gib * GiB)
            except rados.Error as exc:
                raise BackendError(f"Cannot extend volume {volume_id}: {exc}") from None

    def revert_to_snapshot(self, volume_id: str, snapshot_id: str) -> None:
        rados, _rbd = _bindings()
        with self._image(volume_id) as image:
            try:
                image.rollback_to_snap(self.snap_name(snapshot_id))
            except rados.Error as exc:
                raise BackendError(f"Cannot revert volume {volume_id}: {exc}") from None

    def delete(self, volume_id: str) -> None:
        rados, rbd = _bindings()
        with self._ioctx() as ioctx:
            try:
                rbd.RBD().remove(ioctx, self.image_name(volume_id))
            except rbd.ImageNotFound:
                return
            except rbd.ImageHasSnapshots:
                raise BackendError(f"Volume {volume_id} still has snapshots.") from None
            except rbd.ImageBusy:
                raise BackendError(f"Volume {volume_id} is open by a Ceph client (an "
                                   f"instance still using it?).") from None
            except rados.Error as exc:
                raise BackendError(f"Cannot delete volume {volume_id}: {exc}") from None

    def delete_snapshot(self, snapshot_id: str) -> None:
        rados, rbd = _bindings()
        found = self._find_snapshot(snapshot_id)
        if found is None:
            return
        name, snap = found
        with self._ioctx() as ioctx, rbd.Image(ioctx, name) as image:
            try:
                with contextlib.suppress(rbd.InvalidArgument):  # not protected
                    image.unprotect_snap(snap)
                image.remove_snap(snap)
            except rbd.ImageBusy:
                raise BackendError(f"Snapshot {snapshot_id} has volumes cloned from it; "
                                   f"delete them first.") from None
            except rados.Error as exc:
                raise BackendError(f"Cannot delete snapshot {snapshot_id}: {exc}") from None

    def remove_leftovers(self) -> list[str]:
        removed = []
        if self.scratch_dir.is_dir():
            for path in self.scratch_dir.glob("tmp-*"):
                path.unlink()
                removed.append(path.name)
        return removed

    # --- attaching -----------------------------------------------------------
    def needs_target(self, volume_id: str) -> bool:
        return False

    def connection(self, volume_id: str) -> dict:
        """Cinder's rbd connection_info data for the volume."""
        hosts, ports = self.monitors()
        return {"driver_volume_type": "rbd", "name": f"{self.pool}/{self.image_name(volume_id)}",
                "hosts": hosts, "ports": ports, "cluster_name": "ceph",
                "auth_enabled": True, "auth_username": self.user, "secret_type": "ceph",
                "secret_uuid": self.secret_uuid(), "volume_id": volume_id,
                "discard": True}


class RbdImageIO(io.RawIOBase):
    """An open RBD image as a file: seek, read and write at the offset, as
    the backup formats use a volume file (os-brick's RBDVolumeIOWrapper)."""

    def __init__(self, image):
        super().__init__()
        self._image = image
        self._size = image.size()
        self._offset = 0

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._offset, io.SEEK_END: self._size}[whence]
        self._offset = base + offset
        return self._offset

    def tell(self) -> int:
        return self._offset

    def readinto(self, buffer) -> int:
        count = max(0, min(len(buffer), self._size - self._offset))
        data = self._image.read(self._offset, count) if count else b""
        buffer[:len(data)] = data
        self._offset += len(data)
        return len(data)

    def write(self, data) -> int:
        self._image.write(bytes(data), self._offset)
        self._offset += len(data)
        return len(data)


def _copy_sparse_file(path: Path, image) -> None:
    """Write a file into an RBD image, skipping blocks of zeroes (they stay
    unallocated in Ceph, as the file's holes were)."""
    with open(path, "rb") as source:
        offset = 0
        while True:
            block = source.read(COPY_BLOCK)
            if not block:
                break
            if block.count(0) != len(block):
                image.write(block, offset)
            offset += len(block)
    image.flush()
