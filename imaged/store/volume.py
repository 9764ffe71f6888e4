"""The volume store: each image's data in a volume of volumed, the way
Glance's cinder store keeps images in Cinder.

    upload    the body is staged in a local file (its size is only known at
              the end of a chunked upload); at commit, imaged, as its own
              service user in the `service` project, creates a volume of
              ceil(size / GiB) GiB, attaches it (attachments API, a connector
              for this host), copies the staged file onto the LUN with
              QEMU's iSCSI client (qemu-img convert), detaches, and records
              the location cinder://<volume id>
    download  attach, copy the image's bytes from the LUN into a local
              scratch file (qemu-img convert again), detach, send the file
    delete    DELETE the volume

Why stage instead of growing the volume as data arrives (what Glance does):
the upload flow only learns at the end whether the data is acceptable
(format inspection), and a staged file lets the volume be made once, at the
right size, only for accepted data. Nothing piles up in memory.

Any failure after the volume exists removes the attachment and the volume
again, so a failed upload leaves nothing behind in volumed.

The CHAP password volumed hands out with each attachment goes to qemu-img
as a QEMU secret object read from a 0600 file, never on a command line
(where `ps` shows it) and never in a log. Every qemu-img call names its
formats: -O raw, or driver=raw in --image-opts (which excludes -f/-O).
"""
from __future__ import annotations

import errno
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from imaged.store.base import (
    DataNotFound,
    ImageData,
    LocationRefused,
    Store,
    StoreError,
    StoreFull,
    StoreWriter,
)
from shared.clients import Caller, RemoteError, ServiceSession, VolumeClient
from shared.units import GiB

LOG = logging.getLogger(__name__)
SECTOR = 512
SIZE_KEY = "image_size"               # volume metadata: the image's bytes in the volume
POLL = 0.5


def _unreachable(exc: RemoteError) -> StoreError:
    LOG.warning("%s", exc.message)
    return StoreError("The volume store cannot reach volumed or identity.")


class VolumeWriter(StoreWriter):
    """Stages the upload in a file; commit() moves it into a new volume."""

    def __init__(self, store: VolumeStore, image_id: str):
        self._store, self._image_id = store, image_id
        self._path = store.staging / f"{image_id}.{uuid.uuid4().hex}.upload"
        self._fd: int | None = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                                       0o600)
        self._size = 0

    def write(self, data: memoryview) -> None:
        if self._fd is None:
            raise StoreError("Image data written after the upload was closed.")
        view = memoryview(data)
        try:
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
                self._size += written
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise StoreFull("Image staging space is full.") from None
            raise StoreError(f"Staging image data failed: {exc.strerror}.") from None

    def commit(self) -> str:
        self._close()
        try:
            volume_id = self._store.create_volume(self._image_id, self._size)
            try:
                with self._store.attached(volume_id) as lun:
                    if self._size:
                        lun.write_from(self._path)
            except BaseException:
                self._store.remove_quietly(volume_id)
                raise
        finally:
            self._path.unlink(missing_ok=True)
        return f"cinder://{volume_id}"

    def abort(self) -> None:
        self._close()
        self._path.unlink(missing_ok=True)

    def _close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class Lun:
    """One attached volume, reached with QEMU's own iSCSI initiator."""

    def __init__(self, info: dict, initiator: str, workdir: Path, timeout: float):
        self._info, self._initiator, self._timeout = info, initiator, timeout
        self._secret = workdir / "chap"
        fd = os.open(self._secret, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(info["auth_password"])

    def _opts(self, size: int | None = None) -> str:
        """--image-opts of the LUN: a raw format layer over the iscsi protocol
        driver (size: read only the image's bytes, not the whole volume)."""
        info = self._info
        parts = ["driver=raw"] + ([f"size={size}"] if size is not None else []) + [
            "file.driver=iscsi", "file.transport=tcp", f"file.portal={info['target_portal']}",
            f"file.target={info['target_iqn']}", f"file.lun={info['target_lun']}",
            f"file.user={info['auth_username']}", "file.password-secret=chap",
            f"file.initiator-name={self._initiator}"]
        return ",".join(parts)

    def _secret_object(self) -> list[str]:
        return ["--object", f"secret,id=chap,file={_escaped(self._secret)}"]

    def write_from(self, source: Path) -> None:
        # --target-image-opts excludes -f/-O: both sides are then given as
        # options, and driver=raw names the format of each. The volume is new
        # and sparse, so it reads as zeros: --target-is-zero lets qemu-img
        # skip writing the zero blocks of the image.
        source_opts = f"driver=raw,file.driver=file,file.filename={_escaped(source)}"
        self._run(["qemu-img", "convert", "-n", "--target-is-zero", *self._secret_object(),
                   "--image-opts", source_opts, "--target-image-opts", self._opts()])

    def read_into(self, target: Path, size: int) -> None:
        # The raw layer's size must be whole sectors; the file is cut back after.
        rounded = -(-size // SECTOR) * SECTOR
        self._run(["qemu-img", "convert", *self._secret_object(), "--image-opts",
                   self._opts(rounded), "-O", "raw", str(target)])
        os.truncate(target, size)

    def _run(self, argv: list[str]) -> None:
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=self._timeout)
        except subprocess.TimeoutExpired:
            raise StoreError(f"qemu-img took longer than {self._timeout:g} s on a volume "
                             f"of the volume store.") from None
        if done.returncode != 0:
            LOG.error("qemu-img %s failed: %s", argv[1], done.stderr.strip())
            raise StoreError("Copying image data to or from its volume failed.")


def _escaped(path: Path) -> str:
    """A path inside QEMU's comma-separated options: a comma is doubled."""
    return str(path).replace(",", ",,")


class VolumeStore(Store):
    name = "volume"
    schemes = ("cinder",)
    writable = True

    def __init__(self, session: ServiceSession, staging: Path, volume_type: str = "",
                 initiator: str = "", timeout: float = 300.0):
        self._session = session
        self._client: VolumeClient | None = None
        self.staging = staging
        self.staging.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.volume_type = volume_type
        self.initiator = initiator or \
            f"iqn.2004-10.org.pocketstack:imaged-{socket.gethostname().lower()}"
        self.timeout = timeout

    # --- the Store interface ------------------------------------------------------------
    def open_writer(self, image_id: str) -> StoreWriter:
        return VolumeWriter(self, image_id)

    def open(self, url: str, offset: int = 0, length: int | None = None) -> ImageData:
        volume_id = self.volume_of(url)
        volume = self._show(volume_id)
        if volume is None:
            raise DataNotFound(f"The volume {volume_id} that held the image data is gone.")
        size = int(volume.get("metadata", {}).get(SIZE_KEY, volume["size"] * GiB))
        scratch = self.staging / f"{volume_id}.{uuid.uuid4().hex}.read"
        try:
            if size:
                with self.attached(volume_id) as lun:
                    lun.read_into(scratch, size)
            else:
                scratch.touch(mode=0o600)
            # Handed to ImageData, which closes it when the response is sent.
            handle = open(scratch, "rb", buffering=0)  # noqa: SIM115
        finally:
            scratch.unlink(missing_ok=True)  # the open handle keeps the data until closed
        return ImageData.of_file(handle, size, offset, length)

    def size_of(self, url: str) -> int:
        raise LocationRefused("cinder:// locations cannot be added through the API: only "
                              "imaged itself writes into its volume store.")

    def delete(self, url: str) -> None:
        self.delete_volume(self.volume_of(url))

    # --- volumes --------------------------------------------------------------------------
    def volumes(self) -> tuple[VolumeClient, Caller]:
        """volumed, found in the catalog at first use (as Glance's cinder store
        finds Cinder: nothing to configure per port), and imaged's service
        user in its own project, for whom every call is made."""
        if self._client is None:
            try:
                self._client = VolumeClient.from_catalog(self._session, self.timeout)
            except RemoteError as exc:
                if not exc.reached:
                    raise _unreachable(exc) from None
                raise StoreError(f"The volume store cannot find volumed in the catalog "
                                 f"({exc.status}: {exc.message}).") from None
        return self._client, Caller(None, self._session.project_id())

    @staticmethod
    def volume_of(url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme != "cinder" or not parts.netloc or parts.path not in ("", "/"):
            raise LocationRefused(f"{url} is not a location of the volume store.")
        return parts.netloc

    def create_volume(self, image_id: str, size: int) -> str:
        """A new volume big enough for `size` bytes, available; its id."""
        body = {"volume": {"size": max(1, -(-size // GiB)), "name": f"image-{image_id}",
                           "description": "Image data kept by imaged's volume store.",
                           "metadata": {"glance_image_id": image_id, SIZE_KEY: str(size)}}}
        if self.volume_type:
            body["volume"]["volume_type"] = self.volume_type
        client, caller = self.volumes()
        try:
            volume_id = client.create_volume(caller, body)["id"]
        except RemoteError as exc:
            if not exc.reached:
                raise _unreachable(exc) from None
            if exc.status == 413:
                raise StoreFull(f"volumed refused a volume for the image: {exc.message}") \
                    from None
            raise StoreError(f"volumed refused a volume for the image "
                             f"({exc.status}: {exc.message}).") from None
        deadline = time.monotonic() + self.timeout
        while True:
            volume = self._show(volume_id)
            state = volume["status"] if volume else "gone"
            if state == "available":
                return volume_id
            if state in ("error", "gone") or time.monotonic() > deadline:
                self.remove_quietly(volume_id)
                raise StoreError(f"The volume for the image did not become available "
                                 f"(status {state}).")
            time.sleep(POLL)

    def delete_volume(self, volume_id: str) -> None:
        """DELETE the volume; waits while a download still has it attached."""
        client, caller = self.volumes()
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                client.delete_volume(caller, volume_id)
                break
            except RemoteError as exc:
                if not exc.reached:
                    raise _unreachable(exc) from None
                if not (exc.status == 400 and "attachment" in exc.message
                        and time.monotonic() < deadline):
                    raise StoreError(f"volumed did not delete volume {volume_id} "
                                     f"({exc.status}: {exc.message}).") from None
            time.sleep(POLL)
        while self._show(volume_id) is not None and time.monotonic() < deadline:
            time.sleep(POLL)

    def remove_quietly(self, volume_id: str) -> None:
        """Roll back a volume made for an upload that failed (the upload's
        own error is the one to report)."""
        try:
            self.delete_volume(volume_id)
        except Exception:  # noqa: BLE001
            LOG.exception("could not remove volume %s of a failed upload", volume_id)

    @contextmanager
    def attached(self, volume_id: str) -> Iterator[Lun]:
        """Attach the volume to this host for the duration of the block; the
        attachment (and so the iSCSI export and its CHAP account) goes at
        the end, whatever happens inside."""
        client, caller = self.volumes()
        attachment_id = self._reserve(volume_id)
        workdir = None
        try:
            connector = {"initiator": self.initiator, "ip": "127.0.0.1",
                         "host": socket.gethostname(), "platform": "x86_64",
                         "os_type": "linux", "multipath": False}
            try:
                info = client.connect(caller, attachment_id, connector)
            except RemoteError as exc:
                if not exc.reached:
                    raise _unreachable(exc) from None
                raise StoreError(f"volumed did not export volume {volume_id} "
                                 f"({exc.status}: {exc.message}).") from None
            try:
                client.complete(caller, attachment_id)
            except RemoteError as exc:  # the export is there: the copy can go on
                LOG.warning("volumed did not mark the attachment of volume %s complete: "
                            "%s", volume_id, exc)
            workdir = Path(tempfile.mkdtemp(prefix="lun-", dir=self.staging))
            yield Lun(info, self.initiator, workdir, self.timeout)
        finally:
            if workdir is not None:
                shutil.rmtree(workdir, ignore_errors=True)
            try:
                client.delete_attachment(caller, attachment_id)
            except RemoteError as exc:
                LOG.error("detaching volume %s failed: %s", volume_id, exc)

    def _reserve(self, volume_id: str) -> str:
        """POST an attachment (no connector yet: nothing exported, so nothing
        to undo if this fails); its id. A volume is attached once at a time:
        while another request reads it, wait and retry."""
        client, caller = self.volumes()
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                return client.reserve(caller, volume_id, mode="rw")
            except RemoteError as exc:
                if not exc.reached:
                    raise _unreachable(exc) from None
                if exc.status == 404:
                    raise DataNotFound(f"The volume {volume_id} of the image is gone.") \
                        from None
                busy = exc.status == 400 and "attach" in exc.message
                if not busy or time.monotonic() > deadline:
                    raise StoreError(f"volumed did not attach volume {volume_id} "
                                     f"({exc.status}: {exc.message}).") from None
            time.sleep(POLL)

    def _show(self, volume_id: str) -> dict | None:
        client, caller = self.volumes()
        try:
            return client.show_volume(caller, volume_id)
        except RemoteError as exc:
            if not exc.reached:
                raise _unreachable(exc) from None
            raise StoreError(f"volumed answered {exc.status} about volume "
                             f"{volume_id}.") from None
