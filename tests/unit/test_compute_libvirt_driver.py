"""The libvirt driver against libvirt's own in-process test hypervisor
(test:///default: no daemon, a made-up i686 host), for what it reads of the
host and what it derives from computed.conf."""
from __future__ import annotations

import pytest

from computed.virt.driver import ComputeDriver
from computed.virt.libvirt_driver import LibvirtDriver, host_arch

TEST_URI = "test:///default"


def driver(run_as_root: bool = True) -> LibvirtDriver:
    return LibvirtDriver(TEST_URI, "qemu", "node-1", run_as_root)


def test_the_libvirt_driver_implements_the_whole_interface():
    assert isinstance(driver(), ComputeDriver)  # an abstract operation left: TypeError


@pytest.mark.parametrize("run_as_root, mode", [(True, 0o700), (False, 0o755)])
def test_the_instance_directory_mode_follows_run_qemu_as_root(run_as_root, mode):
    assert driver(run_as_root).instance_dir_mode() == mode


def test_the_hosts_architecture_is_read_from_libvirt():
    info = driver().host_info()
    assert info.arch == "i686"  # what the test hypervisor reports, not this machine's
    assert (info.virt_type, info.hypervisor_type) == ("qemu", "QEMU")


def test_capabilities_without_an_arch_fall_back_to_the_platform():
    import platform
    assert host_arch("<capabilities><host/></capabilities>") == platform.machine()
    assert host_arch("not xml") == platform.machine()


def test_the_host_is_read_once_per_connection_and_again_on_a_new_one(monkeypatch):
    """Every claim asks for the host's size: libvirt's capabilities are
    parsed once per connection, and again once libvirtd was reconnected to."""
    import libvirt
    reads = []
    real_open = libvirt.open

    class Counting:
        def __init__(self, conn):
            self._conn = conn

        def getCapabilities(self):
            reads.append(1)
            return self._conn.getCapabilities()

        def __getattr__(self, name):
            return getattr(self._conn, name)

    monkeypatch.setattr(libvirt, "open", lambda uri: Counting(real_open(uri)))
    the_driver = driver()
    first = the_driver.host_info()
    assert the_driver.host_info() is first and len(reads) == 1
    the_driver._conn = None  # what a lost connection leads to: a new one
    assert the_driver.host_info() == first and len(reads) == 2
