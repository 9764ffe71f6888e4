"""Servers and Ceph, for real: a volume of volumed's rbd backend is the
guest's vdc, read by QEMU itself from Ceph (librbd, the cephx key of
client.cinder in a libvirt secret of type ceph), no iSCSI involved; the
guest sees it and writes to it; terminate leaves the volume and nothing else.

One stack of this module's own, with its Ceph; imaged on the rbd store."""
from __future__ import annotations

import pytest

from tests.support.ceph import rbd_images, read_rbd
from tests.support.compute import (
    GIB,
    Compute,
    b64,
    instances_dir,
    leftovers,
    secret_usages,
    tgt_targets,
    unique,
)
from tests.support.images import configured_stack
from tests.support.volumes import VolumeApi

pytestmark = pytest.mark.e2e
TYPE = "ceph"


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory, stack):
    api_conf = ("[image]\nshow_image_direct_url = true\n\n"
                "[store]\nstores = file,rbd\ndefault_store = rbd\n")
    own = configured_stack(tmp_path_factory, stack, 55, api_conf, ceph=True)
    own.openstack("volume", "type", "create", "--property", "volume_backend_name=rbd", TYPE,
                  cloud="pocketstack-admin")
    yield own
    own.down()


@pytest.fixture(scope="module")
def demo(own_stack):
    client = Compute(own_stack, "demo")
    yield client
    client.cleanup()


def test_an_rbd_volume_is_vdc_straight_from_ceph(own_stack, demo):
    volumes = VolumeApi(own_stack, "demo")
    volume = volumes.create(size=1, volume_type=TYPE)
    marker = unique("pocketstack-rbd")
    server = demo.create(user_data=b64(f"""#!/bin/sh
printf '{marker}' | dd of=/dev/vdc bs=512 conv=notrunc 2>/dev/null
sync
echo "read back: $(dd if=/dev/vdc bs=512 count=1 2>/dev/null | tr -d '\\000')"
"""), block_device_mapping_v2=[
        {"source_type": "volume", "destination_type": "volume", "uuid": volume["id"],
         "boot_index": -1, "delete_on_termination": False}])
    demo.wait_status(server["id"], "ACTIVE")
    demo.wait_console(server["id"], rf"^POCKETSTACK-DISKS: vda={GIB} vdb={GIB} vdc={GIB}\s*$")
    demo.wait_console(server["id"], rf"^read back: {marker}\s*$")

    xml = (instances_dir(own_stack) / server["id"] / "libvirt.xml").read_text()
    assert f'protocol="rbd" name="volumes/volume-{volume["id"]}"' in xml
    assert '<secret type="ceph"' in xml and 'protocol="iscsi"' not in xml
    assert volume["id"] not in tgt_targets(own_stack)
    assert "ceph" in secret_usages()
    # What the guest wrote is in Ceph.
    assert read_rbd(own_stack, "volumes", f"volume-{volume['id']}", 0,
                    len(marker)).decode() == marker

    demo.delete(server["id"])
    volumes.wait(volume["id"], "available")
    assert leftovers(own_stack, server["id"], [volume["id"]]) == []
    assert f"volume-{volume['id']}" in rbd_images(own_stack, "volumes")
    volumes.delete(volume["id"])
    volumes.wait_gone(volume["id"])
    assert rbd_images(own_stack, "volumes") == []
