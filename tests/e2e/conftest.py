"""Fixtures for end-to-end tests that drive real libvirt/QEMU and tgtd.

These tests need root and the Debian packages labs/host/install-packages.sh installs.  They
build the tiny test image once per cache directory ($POCKETSTACK_TEST_CACHE,
default /var/cache/pocketstack-test), so reruns skip the 70 MB kernel
download and the build.  Every domain is transient and destroyed at teardown,
whatever the test did.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

CACHE_ENV = "POCKETSTACK_TEST_CACHE"
DEFAULT_CACHE = "/var/cache/pocketstack-test"
SYSTEM_URI = "qemu:///system"
BOOT_TIMEOUT = 120.0  # generous: TCG on a busy 2-core machine
MARKER_RE = re.compile(r"^POCKETSTACK-DISKS:(.*)$", re.MULTILINE)


def _require_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("e2e tests drive qemu:///system and tgtd: run them as root")


@pytest.fixture(scope="session")
def test_cache_dir() -> Path:
    """Long-lived cache shared by test runs (image, downloaded .debs)."""
    path = Path(os.environ.get(CACHE_ENV, DEFAULT_CACHE))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def tiny_image(test_cache_dir: Path) -> Path:
    """The tiny bootable qcow2, built once (and reused while inputs match)."""
    from labs.tinyimage import build
    return build(test_cache_dir)


@pytest.fixture(scope="session")
def host_state_dir(tmp_path_factory) -> Path:
    """A PocketStack state directory for host services started by tests."""
    return tmp_path_factory.mktemp("state")


@pytest.fixture(scope="session")
def libvirt_conn(host_state_dir: Path):
    """A connection to qemu:///system, with virtlogd/libvirtd started if
    needed.  The daemons are left running afterwards: other tests and
    developers on this machine use them too."""
    _require_root()
    import libvirt

    from shared.host import libvirt_host

    libvirt_host.ensure_running(host_state_dir)
    # Errors are raised as exceptions anyway; don't also print them to stderr
    # (a transient domain that powered off is "not found", which we expect).
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    conn = libvirt.open(SYSTEM_URI)
    yield conn
    conn.close()


@pytest.fixture
def vm_dir(test_cache_dir: Path):
    """A scratch directory for one test's disks and console log.  Not under
    pytest's tmp_path: QEMU runs as libvirt-qemu and cannot traverse
    /tmp/pytest-of-root (mode 0700)."""
    runs = test_cache_dir / "runs"
    runs.mkdir(exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="vm-", dir=runs))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


# --- disk images and domain XML ---------------------------------------------

def qemu_img(*args: str) -> str:
    """Run qemu-img (callers always pass explicit formats)."""
    return subprocess.run(["qemu-img", *args], check=True, capture_output=True,
                          text=True).stdout


def virtual_size(image: Path, fmt: str) -> int:
    info = json.loads(qemu_img("info", "-f", fmt, "--output=json", str(image)))
    return info["virtual-size"]


def make_overlay(base: Path, overlay: Path) -> Path:
    """A qcow2 overlay whose backing file is `base`, like a Nova root disk."""
    qemu_img("create", "-q", "-f", "qcow2", "-b", str(base), "-F", "qcow2", str(overlay))
    return overlay


def make_empty_qcow2(path: Path, size: str) -> Path:
    qemu_img("create", "-q", "-f", "qcow2", str(path), size)
    return path


def make_raw(path: Path, size_bytes: int) -> Path:
    """A sparse raw disk file."""
    with open(path, "wb") as f:
        f.truncate(size_bytes)
    return path


def make_config_drive(directory: Path, meta_data: dict, user_data: str | None) -> Path:
    """An OpenStack config drive: ISO9660 labelled config-2 holding
    openstack/latest/meta_data.json (and user_data)."""
    tree = directory / "config-drive"
    latest = tree / "openstack" / "latest"
    latest.mkdir(parents=True)
    (latest / "meta_data.json").write_text(json.dumps(meta_data))
    if user_data is not None:
        (latest / "user_data").write_text(user_data)
    iso = directory / "config.iso"
    argv = ["genisoimage"] if shutil.which("genisoimage") else ["xorriso", "-as", "mkisofs"]
    subprocess.run(argv + ["-quiet", "-o", str(iso), "-V", "config-2", "-r", "-J", str(tree)],
                   check=True, capture_output=True)
    return iso


def disk_xml(path: Path, dev: str, fmt: str) -> str:
    return (f"<disk type='file' device='disk'><driver name='qemu' type='{fmt}'/>"
            f"<source file='{path}'/><target dev='{dev}' bus='virtio'/></disk>")


def cdrom_xml(iso: Path, dev: str = "hda", bus: str = "ide") -> str:
    """A read-only cdrom on a non-virtio bus, so virtio names stay vda, vdb."""
    return (f"<disk type='file' device='cdrom'><driver name='qemu' type='raw'/>"
            f"<source file='{iso}'/><target dev='{dev}' bus='{bus}'/><readonly/></disk>")


def domain_xml(name: str, disks: list[str], console: Path, memory_mib: int = 192) -> str:
    """A TCG domain booting from its first disk, with ACPI (needed for a
    clean power-off) and the serial console written to a file."""
    return f"""<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>{memory_mib}</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
  <features><acpi/></features>
  <devices>
    {''.join(disks)}
    <serial type='file'><source path='{console}'/><target port='0'/></serial>
  </devices>
</domain>"""


# --- a booted tiny VM ---------------------------------------------------------

def parse_marker(line_rest: str) -> dict[str, int]:
    """' vda=123 vdb=456' -> {'vda': 123, 'vdb': 456}."""
    return {name: int(size) for name, size in
            (item.split("=", 1) for item in line_rest.split())}


class TinyVM:
    """A running transient domain of the tiny image and its serial log."""

    def __init__(self, conn, name: str, console: Path, xml: str,
                 disks: dict[str, Path]):
        self.conn, self.name, self.console, self.disks = conn, name, console, disks
        self.domain = conn.createXML(xml, 0)

    def log(self) -> str:
        try:
            return self.console.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_for(self, pattern: str, timeout: float = BOOT_TIMEOUT, start: int = 0,
                 count: int = 1) -> re.Match:
        """Wait until `pattern` has matched `count` times in the console log
        after offset `start`; return the last match."""
        regex = re.compile(pattern, re.MULTILINE)
        deadline = time.monotonic() + timeout
        while True:
            matches = list(regex.finditer(self.log(), start))
            if len(matches) >= count:
                return matches[count - 1]
            if time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} not seen on {self.name}'s console within "
                                     f"{timeout:.0f} s; console:\n{self.log()[-3000:]}")
            time.sleep(0.2)

    def wait_for_disks(self, predicate, timeout: float = 60.0, start: int = 0):
        """Wait for a POCKETSTACK-DISKS marker after `start` whose disks
        satisfy predicate(dict); return (disks, end offset of that line)."""
        deadline = time.monotonic() + timeout
        while True:
            for match in MARKER_RE.finditer(self.log(), start):
                disks = parse_marker(match.group(1))
                if predicate(disks):
                    return disks, match.end()
            if time.monotonic() > deadline:
                raise AssertionError(f"no matching disk marker within {timeout:.0f} s; "
                                     f"console:\n{self.log()[-3000:]}")
            time.sleep(0.2)

    def is_active(self) -> bool:
        import libvirt
        try:
            return bool(self.domain.isActive())
        except libvirt.libvirtError:  # a transient domain vanishes once off
            return False

    def wait_shutoff(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.is_active():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.2)
        return True

    def destroy(self) -> None:
        if self.is_active():
            with contextlib.suppress(Exception):  # already gone: fine
                self.domain.destroy()


class DiskKit:
    """The disk helpers above, bound to one test's scratch directory (handed
    to tests as the `disk_kit` fixture)."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.disk_xml = disk_xml
        self.cdrom_xml = cdrom_xml
        self.virtual_size = virtual_size

    def raw(self, name: str, size_bytes: int) -> Path:
        return make_raw(self.directory / name, size_bytes)

    def config_drive(self, meta_data: dict, user_data: str | None = None) -> Path:
        return make_config_drive(self.directory, meta_data, user_data)


@pytest.fixture
def disk_kit(vm_dir: Path) -> DiskKit:
    return DiskKit(vm_dir)


@pytest.fixture
def boot_tiny_vm(libvirt_conn, tiny_image: Path, vm_dir: Path):
    """Factory: boot_tiny_vm(extra_disks=[xml...]) boots the tiny image with
    vda = overlay of the image and vdb = empty 1 GiB qcow2.  Every VM it
    made is destroyed at teardown."""
    made: list[TinyVM] = []

    def boot(extra_disks: list[str] = ()) -> TinyVM:
        index = len(made)
        vda = make_overlay(tiny_image, vm_dir / f"root-{index}.qcow2")
        vdb = make_empty_qcow2(vm_dir / f"ephemeral-{index}.qcow2", "1G")
        console = vm_dir / f"console-{index}.log"
        name = f"pstest-{uuid.uuid4().hex[:8]}"
        disks = [disk_xml(vda, "vda", "qcow2"), disk_xml(vdb, "vdb", "qcow2"), *extra_disks]
        vm = TinyVM(libvirt_conn, name, console, domain_xml(name, disks, console),
                    {"vda": vda, "vdb": vdb})
        made.append(vm)
        return vm

    yield boot
    for vm in made:
        vm.destroy()
