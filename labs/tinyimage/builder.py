"""Build (once) the PocketStack tiny test image: a bootable qcow2 of a few MB.

    build(cache_dir) -> cache_dir/pocketstack-tiny.qcow2

The image is rebuilt only when one of its inputs changes: the version apt
would fetch of the Debian kernel, busybox, dropbear or one of dropbear's
libraries, the syslinux installer, or this package's own source (the /init
script included).  The inputs are written next to the
image; a matching record means "reuse".  A file lock makes concurrent builds
(e.g. several pytest-xdist workers) wait for each other instead of racing.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
import tempfile
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from . import bootdisk, debs, initramfs

log = logging.getLogger(__name__)

IMAGE_NAME = "pocketstack-tiny.qcow2"
RECORD_NAME = "pocketstack-tiny.inputs.json"
BUSYBOX_PACKAGE = "busybox-static"
# The SSH server: dropbear (dynamically linked) and its key generator.
SSH_SERVER_PACKAGE = "dropbear-bin"
SSH_PROGRAMS = {"sbin/dropbear": "usr/sbin/dropbear", "bin/dropbearkey": "usr/bin/dropbearkey"}
# The packages of the shared libraries they load (their DT_NEEDED entries,
# and those of these libraries in turn; libc6 brings the loader).  A library
# missing from this list stops the build with its soname.
LIBRARY_PACKAGES = ("libc6", "libcrypt1", "libtomcrypt1", "libtommath1", "libgmp10", "zlib1g")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def source_fingerprint() -> str:
    """One hash over this package's files: editing /init or the builder
    must produce a new image."""
    digest = hashlib.sha256()
    package = resources.files(__package__)
    for entry in sorted(package.iterdir(), key=lambda e: e.name):
        if entry.name.endswith((".py", ".sh")):
            digest.update(entry.name.encode() + b"\0" + entry.read_bytes())
    return digest.hexdigest()


def current_inputs() -> dict:
    """Everything the image is made from, as apt and the host see it now."""
    kernel = debs.kernel_package()
    versions = debs.candidate_versions(kernel, BUSYBOX_PACKAGE, SSH_SERVER_PACKAGE,
                                       *LIBRARY_PACKAGES)
    syslinux = shutil.which("syslinux")
    if syslinux is None:
        raise RuntimeError("syslinux is not installed (Debian packages syslinux, mtools)")
    return {
        "kernel_package": kernel,
        "kernel_version": versions[kernel],
        "busybox_version": versions[BUSYBOX_PACKAGE],
        "ssh_package_versions": {package: versions[package] for package in
                                 (SSH_SERVER_PACKAGE, *LIBRARY_PACKAGES)},
        "syslinux_sha256": _sha256(Path(syslinux).read_bytes()),
        "source_sha256": source_fingerprint(),
    }


@contextmanager
def _locked(cache_dir: Path):
    """Hold an exclusive lock on the cache directory while building."""
    with open(cache_dir / ".pocketstack-tiny.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _recorded_inputs(cache_dir: Path) -> dict | None:
    try:
        return json.loads((cache_dir / RECORD_NAME).read_text()).get("inputs")
    except (OSError, ValueError):
        return None


def _build_image(inputs: dict, cache_dir: Path, work: Path) -> dict:
    """Download, unpack and assemble; leaves work/image.qcow2.  Returns what
    went into the initramfs (module groups, libraries) for the record."""
    deb_dir = cache_dir / "debs"
    kernel_deb = debs.fetch(inputs["kernel_package"], inputs["kernel_version"], deb_dir)
    busybox_deb = debs.fetch(BUSYBOX_PACKAGE, inputs["busybox_version"], deb_dir)
    ssh_debs = {package: debs.fetch(package, version, deb_dir)
                for package, version in inputs["ssh_package_versions"].items()}
    debs.prune(deb_dir, keep=[kernel_deb, busybox_deb, *ssh_debs.values()])
    kernel_tree = debs.unpack(kernel_deb, work / "kernel")
    busybox_tree = debs.unpack(busybox_deb, work / "busybox")
    ssh_trees = {package: debs.unpack(deb, work / package) for package, deb in ssh_debs.items()}

    release = inputs["kernel_package"].removeprefix("linux-image-")
    vmlinuz = kernel_tree / "boot" / f"vmlinuz-{release}"
    modules_root = kernel_tree / "lib" / "modules" / release
    initrd = work / "initrd.gz"
    server_tree = ssh_trees[SSH_SERVER_PACKAGE]
    contents = initramfs.build_initramfs(
        modules_root, busybox_tree / "bin" / "busybox", initrd,
        programs={target: server_tree / source for target, source in SSH_PROGRAMS.items()},
        library_trees=[ssh_trees[package] for package in LIBRARY_PACKAGES])

    raw = work / "image.raw"
    bootdisk.make_raw_fat(vmlinuz, initrd, raw)
    bootdisk.convert_to_qcow2(raw, work / "image.qcow2")
    return contents


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def build(cache_dir: Path) -> Path:
    """Return the path of the tiny image in cache_dir, building it if it is
    missing or if its inputs changed."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    image = cache_dir / IMAGE_NAME
    with _locked(cache_dir):
        try:
            inputs = current_inputs()
        except debs.AptError as exc:
            if image.exists():  # offline or no `apt-get update`: keep what we have
                log.warning("cannot check image inputs (%s); reusing %s", exc, image)
                return image
            raise
        if image.exists() and _recorded_inputs(cache_dir) == inputs:
            return image
        log.info("building %s from %s", image, inputs)
        with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".build-") as tmp:
            contents = _build_image(inputs, cache_dir, Path(tmp))
            # Same filesystem, so the rename is atomic: readers see either the
            # old image or the new one, never half of one.
            os.replace(Path(tmp) / "image.qcow2", image)
        record = {"inputs": inputs, **contents, "cmdline": bootdisk.KERNEL_CMDLINE}
        _write_atomically(cache_dir / RECORD_NAME, json.dumps(record, indent=2) + "\n")
    return image
