"""A volume whose connection_info says access_mode "ro" (volumed's read-only
flag) is given to the guest read-only: libvirt's <readonly/> on its disk, as
Nova's libvirt driver does; "rw" (or nothing) is writable."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from types import SimpleNamespace

from computed.db.models import BlockDeviceMapping
from computed.flows.volumes import volume_spec
from computed.virt.guest import volume_disk_xml


def connection(access_mode: str | None) -> dict:
    info = {"driver_volume_type": "iscsi", "target_portal": "127.0.0.1:3260",
            "target_iqn": "iqn.2010-10.org.openstack:volume-v1", "target_lun": 1,
            "auth_username": "user"}
    if access_mode is not None:
        info["access_mode"] = access_mode
    return info


def disk_for(access_mode: str | None) -> ET.Element:
    deps = SimpleNamespace(settings=SimpleNamespace(initiator_iqn="iqn.2004-10.test:host"))
    bdm = BlockDeviceMapping(volume_id="6d0cc6b4-0000-4000-8000-000000000001",
                             device_name="vdc", secret_uuid="s-1",
                             connection=connection(access_mode))
    return ET.fromstring(volume_disk_xml(volume_spec(deps, bdm)))  # type: ignore[arg-type]


def test_ro_access_mode_makes_a_read_only_disk():
    assert disk_for("ro").find("readonly") is not None


def test_rw_or_no_access_mode_is_writable():
    assert disk_for("rw").find("readonly") is None
    assert disk_for(None).find("readonly") is None
