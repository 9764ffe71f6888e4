"""The tiny test image, built from Debian packages and booted for real under
libvirt/QEMU (TCG): what the guest prints on its serial console is what the
compute tests will rely on."""
from __future__ import annotations

import subprocess
import time

import pytest

pytestmark = pytest.mark.e2e

GIB = 1024 ** 3
MIB = 1024 ** 2


def test_build_is_cached_and_small(tiny_image, test_cache_dir):
    """A second build with unchanged inputs reuses the image untouched."""
    from labs.tinyimage import build

    before = tiny_image.stat()
    assert build(test_cache_dir) == tiny_image
    assert tiny_image.stat().st_mtime_ns == before.st_mtime_ns
    assert before.st_size < 64 * MIB
    info = subprocess.run(["qemu-img", "info", "-f", "qcow2", str(tiny_image)],
                          check=True, capture_output=True, text=True).stdout
    assert "file format: qcow2" in info


def test_boot_reports_disks_and_hotplug(boot_tiny_vm, tiny_image, disk_kit):
    started = time.monotonic()
    vm = boot_tiny_vm()
    booted = vm.wait_for(r"^POCKETSTACK-BOOTED\s*$")
    print(f"tiny VM booted to the marker in {time.monotonic() - started:.1f} s")

    image_size = disk_kit.virtual_size(tiny_image, "qcow2")
    first = vm.wait_for(r"^POCKETSTACK-DISKS:.*$")
    assert first.start() < booted.start(), "BOOTED must come after the first marker"
    assert first.group(0).strip() == f"POCKETSTACK-DISKS: vda={image_size} vdb={GIB}"

    # Hot-plug a third virtio disk: a new marker must list it...
    import libvirt
    vdc_xml = disk_kit.disk_xml(disk_kit.raw("hotplug.raw", 64 * MIB), "vdc", "raw")
    vm.domain.attachDeviceFlags(vdc_xml, libvirt.VIR_DOMAIN_AFFECT_LIVE)
    disks, offset = vm.wait_for_disks(lambda d: "vdc" in d, start=booted.end())
    assert disks == {"vda": image_size, "vdb": GIB, "vdc": 64 * MIB}

    # ...and unplugging it must make it go away again.
    vm.domain.detachDeviceFlags(vdc_xml, libvirt.VIR_DOMAIN_AFFECT_LIVE)
    disks, _ = vm.wait_for_disks(lambda d: "vdc" not in d, start=offset)
    assert disks == {"vda": image_size, "vdb": GIB}

    # Without a config drive the guest says so (after giving it ~10 s to show),
    # and without a NIC nor a config drive, root gets no key.
    vm.wait_for(r"^POCKETSTACK-CONFIGDRIVE: none\s*$")
    vm.wait_for(r"^POCKETSTACK-KEY: none\s*$")


USER_DATA = """#!/bin/sh
echo "user-data says hello from $(hostname)"
printf 'pocketstack-userdata-was-here' | dd of=/dev/vdb bs=512 seek=1 conv=notrunc 2>/dev/null
sync
echo "read back: $(dd if=/dev/vdb bs=512 skip=1 count=1 2>/dev/null | head -c 29)"
exit 7
"""


PUBLIC_KEY = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE9AvLwXvepTm5xzSQbNDGz5onBGYcfHHl2ojIx2zCXl"
              " tiny-e2e@pocketstack")


def test_config_drive_and_acpi_shutdown(boot_tiny_vm, disk_kit):
    iso = disk_kit.config_drive({"uuid": "0e0b4f4e-0000-4000-8000-000000000001",
                                 "hostname": "tiny-e2e-host", "name": "tiny",
                                 "public_keys": {"tiny-key": PUBLIC_KEY + "\n"}}, USER_DATA)
    vm = boot_tiny_vm(extra_disks=[disk_kit.cdrom_xml(iso, "hda", "ide")])

    # The SSH server starts with host keys of its own, printed as cloud-init
    # prints them; without a NIC, root's key comes from the config drive.
    ready = vm.wait_for(r"^POCKETSTACK-SSH: ready\s*$")
    block = vm.wait_for(r"^-----BEGIN SSH HOST KEY KEYS-----\s*\n((?:.+\n)+?)"
                        r"-----END SSH HOST KEY KEYS-----\s*$")
    assert block.end() < ready.start()
    types = [line.split()[0] for line in block.group(1).splitlines()]
    assert types == ["ssh-ed25519", "ecdsa-sha2-nistp256"], block.group(0)
    vm.wait_for(r"^POCKETSTACK-KEY: config-drive\s*$")

    # The cdrom is on IDE, so the virtio disks keep their names.
    disks, _ = vm.wait_for_disks(lambda d: True)
    assert sorted(disks) == ["vda", "vdb"]
    vm.wait_for(r"^POCKETSTACK-CONFIGDRIVE: sr0\s*$")
    vm.wait_for(r"^POCKETSTACK-HOSTNAME: tiny-e2e-host\s*$")
    start = vm.wait_for(r"^POCKETSTACK-USERDATA: start\s*$")
    vm.wait_for(r"^user-data says hello from tiny-e2e-host\s*$", start=start.end())
    vm.wait_for(r"^read back: pocketstack-userdata-was-here\s*$", start=start.end())
    vm.wait_for(r"^POCKETSTACK-USERDATA: exit=7\s*$", start=start.end())

    # `virsh shutdown` = ACPI power button: the guest powers itself off.
    vm.domain.shutdown()
    assert vm.wait_shutoff(timeout=30), f"still running; console:\n{vm.log()[-2000:]}"
    assert "POCKETSTACK-POWEROFF" in vm.log()

    # The guest synced before powering off: its write reached the qcow2.
    raw = disk_kit.directory / "ephemeral.raw"
    subprocess.run(["qemu-img", "convert", "-f", "qcow2", "-O", "raw",
                    str(vm.disks["vdb"]), str(raw)], check=True)
    with open(raw, "rb") as f:
        f.seek(512)
        assert f.read(29) == b"pocketstack-userdata-was-here"


def test_acpi_reboot_boots_again(boot_tiny_vm):
    import libvirt

    vm = boot_tiny_vm()
    vm.wait_for(r"^POCKETSTACK-BOOTED\s*$")
    # virsh reboot (ACPI): libvirt presses the power button, the guest powers
    # off, and libvirt resets it instead of letting it stop.
    vm.domain.reboot(libvirt.VIR_DOMAIN_REBOOT_ACPI_POWER_BTN)
    vm.wait_for(r"^POCKETSTACK-BOOTED\s*$", count=2)
    assert vm.is_active()
    vm.domain.shutdown()
    assert vm.wait_shutoff(timeout=30), f"still running; console:\n{vm.log()[-2000:]}"
