"""POST /servers reads the image's hw_* properties: a value computed cannot
honour (an unknown disk bus, a CPU topology that does not make the
flavor's vCPUs) is a 400 that names the property, and nothing is made: no
server record, no instance directory, no domain, no claim.

The real boot of an image with properties is tests/e2e/test_server_image_properties.py."""
from __future__ import annotations

import pytest

from tests.support.compute import Images, instances_dir, unique


@pytest.fixture(scope="module")
def images(stack) -> Images:
    return Images(stack, stack.token("demo"))


@pytest.mark.parametrize("properties, words", [
    ({"hw_disk_bus": "floppy"},
     "Invalid image property hw_disk_bus=floppy: it must be one of virtio, scsi, sata, "
     "ide, usb."),
    ({"hw_cdrom_bus": "virtio"}, "Invalid image property hw_cdrom_bus=virtio"),
    ({"hw_qemu_guest_agent": "perhaps"}, "Invalid image property hw_qemu_guest_agent"),
    ({"hw_cpu_sockets": "2", "hw_cpu_cores": "2"},
     "Invalid CPU topology 2 sockets x 2 cores x 1 threads (from hw_cpu_sockets=2, "
     "hw_cpu_cores=2): it must make the flavor's 1 vCPUs."),
])
def test_an_image_property_computed_cannot_honour_is_400_and_leaves_nothing(
        stack, demo, admin, images, properties, words):
    image = images.create(b"\0" * 4096, **properties)
    usage = admin.hypervisor()
    before = set(p.name for p in instances_dir(stack).iterdir()) \
        if instances_dir(stack).exists() else set()
    try:
        name = unique("badprop")
        response = demo.create(name=name, image=image["id"], flavor="1", expect=400)
        assert words in response.json()["badRequest"]["message"], response.text
        assert name not in {s["name"] for s in
                            demo.call("GET", "/servers/detail").json()["servers"]}
        after = set(p.name for p in instances_dir(stack).iterdir()) \
            if instances_dir(stack).exists() else set()
        assert after == before
        now = admin.hypervisor()
        assert (now["vcpus_used"], now["memory_mb_used"], now["running_vms"]) == \
            (usage["vcpus_used"], usage["memory_mb_used"], usage["running_vms"])
    finally:
        images.delete(image["id"])


def test_a_valid_image_property_is_accepted(demo, images):
    """The same image with properties computed honours is launched (202)."""
    image = images.create(b"\0" * 4096, hw_disk_bus="sata", hw_rng_model="virtio",
                          hw_qemu_guest_agent="no", os_type="linux")
    try:
        made = demo.create(image=image["id"], flavor="1")
        demo.delete(made["id"])
    finally:
        images.delete(image["id"])
