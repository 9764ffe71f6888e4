"""volumed's pure rules: the status machine, quotas, sizes, reading tgtd's
target list, checking downloaded images. No server, no files."""
from __future__ import annotations

import pytest

from shared.errors import BadRequest, RequestEntityTooLarge
from shared.units import GiB
from volumed import images, qemu
from volumed.domain import quotas, sizes, status
from volumed.target.base import Export
from volumed.target.tgt import _free_tid, _matches, parse_targets

TGTADM_SHOW = """\
Target 1: iqn.2010-10.org.openstack:volume-aaa
    System information:
        Driver: iscsi
        State: ready
    I_T nexus information:
        I_T nexus: 3
            Initiator: iqn.2004-10.org.pocketstack:vm alias: none
            Connection: 0
                IP Address: 127.0.0.1
    LUN information:
        LUN: 0
            Type: controller
            Backing store type: null
            Backing store path: None
            Backing store flags:
        LUN: 1
            Type: disk
            Size: 1074 MB, Block size: 512
            Backing store type: rdwr
            Backing store path: /state/lib/volumes/volume-aaa
            Backing store flags:
    Account information:
        volUser1
    ACL information:
        iqn.2004-10.org.pocketstack:vm
Target 3: iqn.2010-10.org.openstack:volume-bbb
    System information:
        Driver: iscsi
        State: ready
    I_T nexus information:
    LUN information:
        LUN: 0
            Type: controller
            Backing store path: None
    Account information:
    ACL information:
        127.0.0.1
"""


def test_parse_targets_reads_luns_accounts_acls_and_sessions():
    targets = parse_targets(TGTADM_SHOW)
    first = targets["iqn.2010-10.org.openstack:volume-aaa"]
    assert first.tid == 1 and first.paths == {1: "/state/lib/volumes/volume-aaa"}
    assert first.accounts == ["volUser1"] and first.acls == ["iqn.2004-10.org.pocketstack:vm"]
    assert first.sessions == 1
    second = targets["iqn.2010-10.org.openstack:volume-bbb"]
    assert second.tid == 3 and second.paths == {} and second.accounts == []
    assert second.acls == ["127.0.0.1"]
    assert _free_tid(targets) == 2


def test_an_export_matches_only_with_the_same_file_account_and_initiator():
    current = parse_targets(TGTADM_SHOW)["iqn.2010-10.org.openstack:volume-aaa"]
    export = Export(iqn=current.iqn, path="/state/lib/volumes/volume-aaa",
                    chap_username="volUser1", chap_password="secret",
                    initiator_name="iqn.2004-10.org.pocketstack:vm")
    assert _matches(current, export)
    assert not _matches(current, Export(**{**export.__dict__, "chap_username": "other"}))
    assert not _matches(current, Export(**{**export.__dict__, "initiator_name": "iqn.x:y"}))
    assert "secret" not in repr(export)


@pytest.mark.parametrize("action,allowed_in,refused_in", [
    ("delete", "available", "in-use"),
    ("extend", "available", "reserved"),
    ("attachment_create", "available", "in-use"),
    ("snapshot", "available", "in-use"),
    ("snapshot_forced", "in-use", "creating"),
    ("begin_detaching", "in-use", "available"),
])
def test_require_allows_and_refuses_with_a_clear_message(action, allowed_in, refused_in):
    status.require(action, allowed_in)
    with pytest.raises(BadRequest) as refused:
        status.require(action, refused_in)
    assert f"but it is {refused_in}" in refused.value.message


@pytest.mark.parametrize("before,file_exists,after", [
    ("creating", True, "available"), ("creating", False, "error"),
    ("downloading", True, "available"), ("downloading", False, "error"),
    ("deleting", True, "error_deleting"), ("deleting", False, None),
    ("extending", True, "available"), ("extending", False, "error_extending"),
    ("reverting", True, "available"), ("reverting", False, "error"),
    ("in-use", True, "in-use"), ("available", True, "available"),
])
def test_true_status_after_a_restart(before, file_exists, after):
    assert status.status_after_unfinished(before, file_exists, None, 0) == after


def test_uploading_goes_back_to_what_it_was():
    assert status.status_after_unfinished("uploading", True, "in-use", 1) == "in-use"
    assert status.status_after_unfinished("uploading", True, None, 0) == "available"


def test_a_detach_cut_short_leaves_the_volume_by_its_attachments():
    """(its attachments left detaching are deleted first, volumed/reconcile.py)"""
    assert status.status_after_unfinished("detaching", True, None, 1) == "in-use"
    assert status.status_after_unfinished("detaching", True, None, 0) == "available"
    assert "detaching" in status.TRANSIENT


def test_an_in_use_volume_stopped_while_extending_is_in_use_again():
    assert status.status_after_unfinished("extending", True, "in-use", 1) == "in-use"


def test_a_snapshot_restoring_when_volumed_stopped_is_available_again():
    assert status.snapshot_status_after_unfinished("restoring", True) == "available"
    assert status.snapshot_status_after_unfinished("restoring", False) == "error"


def test_every_transient_status_is_a_status():
    assert set(status.TRANSIENT) <= set(status.ALL_STATUSES)


def test_quota_check():
    limits = {"volumes": 2, "gigabytes": 10, "snapshots": -1}
    quotas.check(limits, quotas.Usage(volumes=1, gigabytes=9), volumes=1, gigabytes=1)
    with pytest.raises(RequestEntityTooLarge, match="Maximum number of volumes allowed"):
        quotas.check(limits, quotas.Usage(volumes=2), volumes=1)
    with pytest.raises(RequestEntityTooLarge, match="Requested 2G, quota is 10G and 9G"):
        quotas.check(limits, quotas.Usage(gigabytes=9), gigabytes=2)
    quotas.check(limits, quotas.Usage(snapshots=10_000), snapshots=1)  # -1: no limit


@pytest.mark.parametrize("value,expected", [(1, 1), ("3", 3), (2.0, 2)])
def test_parse_size(value, expected):
    assert sizes.parse_size(value) == expected


@pytest.mark.parametrize("value", [0, -2, "x", 1.5, True, None])
def test_parse_size_refuses(value):
    with pytest.raises(BadRequest):
        sizes.parse_size(value)


def test_gib_ceil():
    assert sizes.gib_ceil(1) == 1 and sizes.gib_ceil(GiB) == 1
    assert sizes.gib_ceil(GiB + 1) == 2


def test_downloads_are_verified_against_the_image_hashes():
    image = {"os_hash_algo": "sha512", "os_hash_value": "aa", "checksum": "bb"}
    assert images.expected_hash(image) == ("sha512", "aa")
    images.verify(image, "sha512", "aa")
    with pytest.raises(images.ImageError, match="os_hash_value"):
        images.verify(image, "sha512", "xx")
    assert images.expected_hash({"checksum": "bb"}) == ("md5", "bb")
    with pytest.raises(images.ImageError, match="checksum"):
        images.verify({"checksum": "bb"}, "md5", "xx")
    with pytest.raises(images.ImageError, match="no checksum"):
        images.expected_hash({})
    with pytest.raises(images.ImageError, match="not supported"):
        images.expected_hash({"os_hash_algo": "crc32", "os_hash_value": "1"})


def test_qemu_img_safety_checks():
    qemu.check_safe({"format": "qcow2", "format-specific": {"data": {}}})
    with pytest.raises(qemu.ImageFormatError, match="backing file"):
        qemu.check_safe({"format": "qcow2", "backing-filename": "/etc/shadow"})
    with pytest.raises(qemu.ImageFormatError, match="data file"):
        qemu.check_safe({"format": "qcow2",
                         "format-specific": {"data": {"data-file": "/etc/shadow"}}})
    with pytest.raises(qemu.ImageFormatError, match="subformat"):
        qemu.check_safe({"format": "vmdk",
                         "format-specific": {"data": {"create-type": "monolithicFlat"}}})
    assert qemu.qemu_format("vhd") == "vpc"
    with pytest.raises(qemu.ImageFormatError):
        qemu.qemu_format("ami")


def test_volume_image_metadata_keeps_properties_not_internals():
    metadata = images.volume_image_metadata({
        "id": "i1", "name": "cirros", "checksum": "c", "disk_format": "qcow2",
        "container_format": "bare", "size": 10, "min_disk": 0, "min_ram": 0,
        "status": "active", "os_hash_value": "h", "hw_disk_bus": "virtio",
        "os_glance_import_task": "t", "tags": []})
    assert metadata == {"image_id": "i1", "image_name": "cirros", "checksum": "c",
                        "disk_format": "qcow2", "container_format": "bare", "size": "10",
                        "min_disk": "0", "min_ram": "0", "hw_disk_bus": "virtio"}
