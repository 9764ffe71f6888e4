"""An rbd volume in the guest's XML: QEMU's own librbd, the monitors, the
cephx user and a libvirt secret of type ceph (never the key itself)."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from computed.virt.guest import RbdVolume, secret_xml, volume_disk_xml

VOLUME = RbdVolume("v1", "vdc", "volumes/volume-v1", ("127.0.0.1",), ("6789",), "cinder",
                   secret_uuid="5a1e0cd3-1a4f-4e55-8d0c-3b3c4d5e6f70")


def test_the_disk_names_pool_image_monitors_user_and_secret():
    disk = ET.fromstring(volume_disk_xml(VOLUME))
    assert disk.get("type") == "network"
    source = disk.find("source")
    assert source is not None
    assert (source.get("protocol"), source.get("name")) == ("rbd", "volumes/volume-v1")
    assert [(h.get("name"), h.get("port")) for h in source.findall("host")] == \
        [("127.0.0.1", "6789")]
    auth = disk.find("auth")
    assert auth is not None and auth.get("username") == "cinder"
    secret = auth.find("secret")
    assert secret is not None
    assert (secret.get("type"), secret.get("uuid")) == ("ceph", VOLUME.secret_uuid)
    target = disk.find("target")
    assert target is not None and target.get("dev") == "vdc"


def test_a_ceph_secret_has_a_usage_name():
    secret = ET.fromstring(secret_xml("u", "pocketstack/node/att", "d", kind="ceph"))
    usage = secret.find("usage")
    assert usage is not None and usage.get("type") == "ceph"
    assert usage.findtext("name") == "pocketstack/node/att"
    assert secret.get("private") == "yes"
