"""Where a server's own disks live ([libvirt] images_type): which images
the rbd backend clones instead of fetching (Nova's _is_cloneable), the
libvirt XML of a disk in Ceph (read back as libvirt reads it), and the
qcow2 backend's files made and removed with the real qemu-img. The real
clones, imports and boots against Ceph are in tests/e2e/test_server_rbd.py."""
from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from computed.domain.devices import LocalDisks
from computed.imagecache import CachedImage
from computed.virt.guest import GuestSpec, RbdDisk, domain_xml
from computed.virt.imagebackend import EPHEMERAL, DiskError, FileDisks, RbdDisks
from shared.units import MiB

FSID = "2f1c0a34-9e3b-4c55-8a77-0123456789ab"
SERVER = "6d0cc6b4-0000-4000-8000-000000000001"


@pytest.fixture
def rbd_disks(tmp_path: Path) -> RbdDisks:
    conf = tmp_path / "ceph.conf"
    conf.write_text(f"[global]\nfsid = {FSID}\n"
                    "mon_host = [v2:127.0.0.1:3300,v1:127.0.0.1:6789]\n")
    (tmp_path / "ceph.client.cinder.keyring").write_text(
        "[client.cinder]\n\tkey = QVFCY2VwaGtleQ==\n")
    defined = []
    disks = RbdDisks(conf, "cinder", "vms", "", lambda *args: defined.append(args), "node-1")
    disks.defined = defined  # type: ignore[attr-defined]
    return disks


def image(disk_format: str = "raw", **fields) -> dict:
    return {"id": "img-1", "disk_format": disk_format, **fields}


def test_a_raw_image_of_this_cluster_is_cloned(rbd_disks):
    url = f"rbd://{FSID}/images/img-1/snap"
    assert rbd_disks.clone_location(image(direct_url=url)) == url
    assert rbd_disks.clone_location(image(locations=[{"url": url, "metadata": {}}])) == url


@pytest.mark.parametrize("candidate", [
    image("qcow2", direct_url=f"rbd://{FSID}/images/img-1/snap"),   # not raw: fetched
    image(direct_url="rbd://another-cluster/images/img-1/snap"),     # another cluster
    image(direct_url="file:///var/lib/pocketstack/lib/images/img-1"),
    image(),                                                        # no location shown
])
def test_anything_else_is_fetched_and_imported(rbd_disks, candidate):
    assert rbd_disks.clone_location(candidate) is None


def test_a_disk_in_ceph_is_a_network_disk_with_the_nodes_ceph_secret(rbd_disks, tmp_path):
    disks = rbd_disks.disks(SERVER, LocalDisks(root="vda", ephemeral="vdb"), "virtio")
    assert [(d.name, d.device) for d in disks] == \
        [(f"vms/{SERVER}_disk", "vda"), (f"vms/{SERVER}_disk.local", "vdb")]
    secret_uuid, usage, _description, key = rbd_disks.defined[0]
    assert usage == "pocketstack-disks/node-1/client.cinder" and key == "QVFCY2VwaGtleQ=="
    assert len(rbd_disks.defined) == 1          # defined once per process
    rbd_disks.disks(SERVER, LocalDisks(), "virtio")
    assert len(rbd_disks.defined) == 1

    spec = GuestSpec(uuid=SERVER, domain_name="instance-1", vcpus=1, memory_mb=128,
                     disks=list(disks), volumes=[], console_log=tmp_path / "console.log")
    root = ET.fromstring(domain_xml(spec, "qemu", True))
    vda = next(d for d in root.iterfind("./devices/disk")
               if d.find("target").get("dev") == "vda")
    assert vda.get("type") == "network"
    assert vda.find("driver").attrib == {"name": "qemu", "type": "raw", "cache": "writeback"}
    source = vda.find("source")
    assert (source.get("protocol"), source.get("name")) == ("rbd", f"vms/{SERVER}_disk")
    assert source.find("host").attrib == {"name": "127.0.0.1", "port": "6789"}
    assert vda.find("auth").get("username") == "cinder"
    assert vda.find("auth/secret").attrib == {"type": "ceph", "uuid": secret_uuid}
    assert "QVFCY2VwaGtleQ" not in ET.tostring(root, encoding="unicode")  # never the key
    assert isinstance(disks[0], RbdDisk) and "conf=" in disks[0].qemu_source


def test_an_rbd_location_of_another_kind_is_refused_before_anything_is_made(rbd_disks):
    with pytest.raises(DiskError, match="not an rbd location"):
        rbd_disks.create_root(SERVER, None, location="file:///x")


def test_qcow2_disks_are_overlays_in_the_instance_directory_and_go_with_remove(tmp_path):
    instances = tmp_path / "instances"
    (instances / SERVER).mkdir(parents=True)
    base = instances / "base.raw"
    base.write_bytes(b"\0" * MiB)
    template = instances / "ephemeral.raw"
    template.write_bytes(b"\0" * MiB)
    disks = FileDisks(instances)
    disks.create_root(SERVER, 4 * MiB, base=CachedImage(base, "raw", MiB, True))
    disks.create_scratch(SERVER, EPHEMERAL, template, 2 * MiB)
    info = subprocess.run(["qemu-img", "info", "--output=json", "-U",
                           str(instances / SERVER / "disk")], capture_output=True, text=True,
                          check=True).stdout
    assert '"backing-filename": "' + str(base) in info and '"virtual-size": 4194304' in info
    found = disks.disks(SERVER, LocalDisks(root="vda", ephemeral="vdb"), "virtio")
    assert [d.path.name for d in found] == ["disk", "disk.local"]  # type: ignore[union-attr]
    assert disks.remove(SERVER) == ["disk", "disk.local"]
    assert sorted(p.name for p in (instances / SERVER).iterdir()) == []
