"""The rbd store: each image an RBD image in a Ceph pool, as Glance's rbd
store keeps them.

    upload    an RBD image named after the image id is made in the pool
              (rbd_store_pool) as the cephx user rbd_store_user, grown as
              data arrives (its size is only known at the end of a chunked
              upload: doubled each time it is too small, cut to the exact
              size at commit), then given a snapshot `snap`, protected so
              that copy-on-write clones (volumed's volumes, computed's
              disks) can be made of it; the location is
              rbd://<cluster fsid>/<pool>/<image>/snap
    download  read from the snapshot, from any offset (Range requests)
    delete    unprotect and remove the snapshot, then remove the image.
              While clones of the snapshot exist Ceph refuses to unprotect
              it, and the delete is refused with InUseByStore: the image
              keeps its data and stays active (Glance answers 409).

A failed or refused upload removes its RBD image again (snapshot included),
so nothing is left in the pool. A cluster that stops answering fails a
read or write after rados_op_timeout seconds (Glance's store would wait for
ever); when it is not there to have the half-written image removed, the
image is remembered and removed once Ceph is back (store/orphans.py).

The cluster is reached with librados (python3-rados, python3-rbd: Debian's
bindings, linked into the virtualenv); one connection per store, opened at
first use and kept.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from imaged.store.base import (
    DataNotFound,
    ImageData,
    InUseByStore,
    LocationRefused,
    Store,
    StoreError,
    StoreFull,
    StoreWriter,
)
from imaged.store.orphans import Orphans
from shared import ceph
from shared.units import MiB

LOG = logging.getLogger(__name__)
SNAPSHOT = "snap"    # Glance's DEFAULT_SNAPNAME


def _bindings():
    """librados and librbd, imported only by a stack that uses Ceph."""
    try:
        import rados
        import rbd
    except ImportError:
        raise StoreError("The rbd store needs Ceph's Python bindings (python3-rados and "
                         "python3-rbd), which are not installed.") from None
    return rados, rbd


class RbdLocation:
    """rbd://<fsid>/<pool>/<image>/<snapshot>, each part URL-quoted."""

    def __init__(self, fsid: str, pool: str, image: str, snapshot: str = SNAPSHOT):
        self.fsid, self.pool, self.image, self.snapshot = fsid, pool, image, snapshot

    @property
    def url(self) -> str:
        parts = (self.fsid, self.pool, self.image, self.snapshot)
        return "rbd://" + "/".join(quote(part, safe="") for part in parts)

    @classmethod
    def parse(cls, url: str) -> RbdLocation:
        parsed = ceph.parse_rbd_url(url)
        if parsed is None:
            raise LocationRefused(f"{url} is not an rbd location "
                                  f"(rbd://<fsid>/<pool>/<image>/<snapshot>).")
        return cls(*parsed)


class RbdWriter(StoreWriter):
    """A new RBD image, grown as data comes; snapshot made at commit."""

    def __init__(self, store: RbdStore, image_id: str):
        rados, rbd = _bindings()
        self._rbd = rbd
        self._store = store
        self._name = image_id
        self._ioctx = store.ioctx(store.pool)
        self._size = 0          # the RBD image's size now
        self._written = 0       # bytes of image data so far
        try:
            # Layering only: the clones need it. An image is written once, by
            # one writer, so it needs no exclusive lock, and a lock left by an
            # upload that an outage cut short would keep it from being removed.
            rbd.RBD().create(self._ioctx, image_id, 0, order=store.order, old_format=False,
                             features=rbd.RBD_FEATURE_LAYERING)
        except rbd.ImageExists:
            self._ioctx.close()
            raise StoreError(f"An RBD image {image_id} already exists in pool "
                             f"{store.pool}.") from None
        except rados.Error as exc:
            self._ioctx.close()
            raise StoreError(f"Cannot create RBD image {image_id}: {exc}.") from None
        self._image = rbd.Image(self._ioctx, image_id)
        self._done = False

    def write(self, data: memoryview) -> None:
        end = self._written + len(data)
        try:
            if end > self._size:
                # Doubling keeps the number of resizes logarithmic (Glance's
                # resize-on-write); commit cuts the image to the exact size.
                self._size = max(end, 2 * self._size)
                self._image.resize(self._size)
            self._image.write(bytes(data), self._written)
        except self._rbd.NoSpace:
            raise StoreFull("The Ceph cluster is full.") from None
        except Exception as exc:  # noqa: BLE001 - librbd's errors all end the upload
            raise StoreError(f"Writing to RBD image {self._name} failed: {exc}.") from None
        self._written = end

    def commit(self) -> str:
        try:
            if self._size != self._written:
                self._image.resize(self._written)
            self._image.flush()
            self._image.create_snap(SNAPSHOT)
            self._image.protect_snap(SNAPSHOT)
        except Exception as exc:  # noqa: BLE001
            self.abort()
            raise StoreError(f"Cannot finish RBD image {self._name}: {exc}.") from None
        self._close()
        return RbdLocation(self._store.fsid(), self._store.pool, self._name).url

    def abort(self) -> None:
        if self._done:
            return
        self._close()
        try:
            self._store.remove_image(self._store.pool, self._name)
        except Exception as exc:  # noqa: BLE001 - Ceph is away: removed once it is back
            LOG.warning("could not remove RBD image %s of a failed upload yet: %s",
                        self._name, exc)
            self._store.orphans.remember(self._name, self._store.pool)

    def _close(self) -> None:
        if not self._done:
            self._done = True
            self._image.close()
            self._ioctx.close()


class RbdStore(Store):
    name = "rbd"
    schemes = ("rbd",)
    writable = True

    def __init__(self, ceph_conf: Path, user: str, pool: str, chunk_size_mib: int,
                 connect_timeout: float, cleanup_dir: Path, op_timeout: int = 60):
        self.ceph_conf, self.user, self.pool = ceph_conf, user, pool
        self.op_timeout = op_timeout
        self.orphans = Orphans(cleanup_dir, lambda name, pool: self.remove_image(pool, name),
                               "rbd")
        self.chunk_size = chunk_size_mib * MiB
        #: RBD objects of chunk_size bytes (Glance: order = log2 of its chunk size).
        self.order = self.chunk_size.bit_length() - 1
        self.connect_timeout = connect_timeout
        self._cluster = None
        self._lock = threading.Lock()

    # -- the connection ----------------------------------------------------------------------
    def cluster(self):
        """The connected librados handle (made at first use, then kept)."""
        with self._lock:
            if self._cluster is None:
                rados, _rbd = _bindings()
                if not self.ceph_conf.exists():
                    raise StoreError(f"The rbd store's Ceph config {self.ceph_conf} does not "
                                     f"exist (is Ceph enabled in pocketstack.conf?).")
                # whole seconds: librados refuses "60.0"
                timeouts = {"rados_osd_op_timeout": str(self.op_timeout),
                            "rados_mon_op_timeout": str(self.op_timeout)}
                cluster = rados.Rados(conffile=str(self.ceph_conf), rados_id=self.user,
                                      conf=timeouts)
                try:
                    cluster.connect(timeout=int(self.connect_timeout))
                except rados.Error as exc:
                    cluster.shutdown()
                    raise StoreError(f"Cannot reach the Ceph cluster as client.{self.user}: "
                                     f"{exc}.") from None
                self._cluster = cluster
            return self._cluster

    def ioctx(self, pool: str):
        rados, _rbd = _bindings()
        try:
            return self.cluster().open_ioctx(pool)
        except rados.ObjectNotFound:
            raise StoreError(f"The Ceph pool {pool} does not exist.") from None
        except rados.Error as exc:
            raise StoreError(f"Cannot open the Ceph pool {pool}: {exc}.") from None

    def fsid(self) -> str:
        return self.cluster().get_fsid()

    # -- the contract ------------------------------------------------------------------------
    def owns(self, url: str) -> bool:
        """Locations in this store's cluster (its fsid)."""
        try:
            return RbdLocation.parse(url).fsid == self.fsid()
        except StoreError:
            return False

    def properties(self) -> dict:
        """Glance's: chunk size, pool, thin provisioning, the cluster's fsid."""
        try:
            cluster_id: str | None = self.fsid()
        except StoreError:
            cluster_id = None
        return {"chunk_size": self.chunk_size, "pool": self.pool,
                "thin_provisioning": False, "fsid": cluster_id}

    def open_writer(self, image_id: str) -> StoreWriter:
        return RbdWriter(self, image_id)

    def remove_partial_writes(self) -> int:
        """The images of failed uploads that Ceph was not there to have
        removed: tried again in the background (they count when removed)."""
        self.orphans.resume()
        return 0

    def open(self, url: str, offset: int = 0, length: int | None = None) -> ImageData:
        location = self._own(url)
        _rados, rbd = _bindings()
        ioctx = self.ioctx(location.pool)
        try:
            image = rbd.Image(ioctx, location.image, snapshot=location.snapshot,
                              read_only=True)
        except rbd.ImageNotFound:
            ioctx.close()
            raise DataNotFound(f"RBD image {location.pool}/{location.image}@"
                               f"{location.snapshot} does not exist.") from None
        except Exception as exc:  # noqa: BLE001
            ioctx.close()
            raise StoreError(f"Cannot open RBD image {location.image}: {exc}.") from None
        size = image.size()
        available = max(size - offset, 0)
        count = available if length is None else min(length, available)

        def close() -> None:
            image.close()
            ioctx.close()

        return ImageData(length=count, chunks=self._chunks(image, offset, count), close=close)

    def _chunks(self, image, offset: int, count: int) -> Iterator[bytes]:
        end = offset + count
        while offset < end:
            data = image.read(offset, min(self.chunk_size, end - offset))
            if not data:
                raise StoreError("The RBD image ended before its size.")
            offset += len(data)
            yield data

    def size_of(self, url: str) -> int:
        raise LocationRefused("rbd locations are written by imaged only; they cannot be "
                              "added by URL.")

    def delete(self, url: str) -> None:
        location = self._own(url)
        self.remove_image(location.pool, location.image, location.snapshot)

    def remove_image(self, pool: str, name: str, snapshot: str = SNAPSHOT) -> None:
        """Unprotect and remove the snapshot, then the image; an image that
        is gone already is not an error. InUseByStore while clones of the
        snapshot exist or a client has the image open (nothing changes)."""
        rados, rbd = _bindings()
        with self.ioctx(pool) as ioctx:
            try:
                with rbd.Image(ioctx, name) as image:
                    if any(snap["name"] == snapshot for snap in image.list_snaps()):
                        self._unprotect(image, name, snapshot)
                        image.remove_snap(snapshot)
                rbd.RBD().remove(ioctx, name)
            except rbd.ImageNotFound:
                return
            except rbd.ImageHasSnapshots:
                raise InUseByStore(f"RBD image {pool}/{name} has snapshots other than "
                                   f"{snapshot}.") from None
            except rbd.ImageBusy:
                raise InUseByStore(f"RBD image {pool}/{name} is open by another Ceph "
                                   f"client.") from None
            except (rados.Error, rbd.Error) as exc:  # rbd.Timeout: the cluster is away
                raise StoreError(f"Cannot remove RBD image {pool}/{name}: {exc}.") from None

    @staticmethod
    def _unprotect(image, name: str, snapshot: str) -> None:
        _rados, rbd = _bindings()
        try:
            image.unprotect_snap(snapshot)
        except rbd.InvalidArgument:
            pass  # not protected (any more)
        except rbd.ImageBusy:
            raise InUseByStore(f"The snapshot {name}@{snapshot} has copy-on-write clones "
                               f"(volumes or instance disks made from this image); delete "
                               f"them first.") from None

    def _own(self, url: str) -> RbdLocation:
        location = RbdLocation.parse(url)
        if location.fsid != self.fsid():
            raise LocationRefused(f"{url} is in another Ceph cluster than this store's "
                                  f"({self.fsid()}).")
        return location
