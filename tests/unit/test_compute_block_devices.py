"""block_device_mapping(_v2) read as Nova reads it: what boots, which
volumes come along, and Nova's 400 messages for what it refuses."""
from __future__ import annotations

import pytest

from computed.domain.block_devices import (
    InvalidBlockDeviceMapping,
    parse_boot_request,
)

IMAGE = "6d0cc6b4-0000-4000-8000-000000000001"
VOLUME = "6d0cc6b4-0000-4000-8000-000000000002"
OTHER = "6d0cc6b4-0000-4000-8000-000000000003"


def test_the_real_clients_image_mapping_is_not_boot_from_volume():
    request = parse_boot_request(IMAGE, [{"uuid": IMAGE, "boot_index": 0,
                                          "source_type": "image",
                                          "destination_type": "local",
                                          "delete_on_termination": True}])
    assert request.image_id == IMAGE and request.volumes == []
    assert not request.volume_backed


def test_volumes_at_boot_and_the_legacy_syntax():
    request = parse_boot_request(IMAGE, [{"source_type": "volume", "uuid": VOLUME,
                                          "destination_type": "volume", "boot_index": -1,
                                          "delete_on_termination": "true"}])
    assert request.volumes[0].volume_id == VOLUME
    assert request.volumes[0].delete_on_termination is True
    assert request.volumes[0].boot_index is None
    assert not request.volume_backed
    legacy = parse_boot_request(IMAGE, None, [{"volume_id": VOLUME, "device_name": "vdc"}])
    assert legacy.volumes[0].volume_id == VOLUME and not legacy.volume_backed


def test_openstack_server_create_volume():
    """The client's body for --volume: no imageRef, the volume at boot_index 0."""
    request = parse_boot_request(None, [{"uuid": VOLUME, "boot_index": 0,
                                         "source_type": "volume",
                                         "destination_type": "volume"}])
    assert request.volume_backed and request.image_id is None
    assert request.root_volume.volume_id == VOLUME
    assert request.root_volume.delete_on_termination is False


def test_openstack_server_create_boot_from_volume():
    """--image I --boot-from-volume 1: an image -> volume mapping, no imageRef."""
    request = parse_boot_request("", [{"uuid": IMAGE, "boot_index": 0,
                                       "source_type": "image", "destination_type": "volume",
                                       "volume_size": 1, "delete_on_termination": True}])
    root = request.root_volume
    assert request.volume_backed and request.image_id is None
    assert root.volume_id is None and root.image_id == IMAGE and root.volume_size == 1
    assert root.delete_on_termination is True and root.source_type == "image"


def test_the_legacy_syntax_boots_a_volume_on_vda():
    request = parse_boot_request(None, None, [{"volume_id": VOLUME, "device_name": "vda",
                                               "delete_on_termination": "1"}])
    assert request.volume_backed and request.root_volume.delete_on_termination


@pytest.mark.parametrize("image, mappings, words", [
    (None, [], "Missing imageRef attribute"),
    (IMAGE, [{"source_type": "volume", "destination_type": "volume", "uuid": VOLUME,
              "boot_index": 0}], "Boot sequence for the instance and image/block device "
                                 "mapping combination is not valid."),
    (None, [{"source_type": "volume", "destination_type": "volume", "uuid": VOLUME,
             "boot_index": 1}], "Boot sequence"),
    (None, [{"source_type": "volume", "destination_type": "volume", "uuid": VOLUME}],
     "Boot sequence"),
    (None, [{"source_type": "volume", "destination_type": "volume", "uuid": VOLUME,
             "boot_index": 0}, {"source_type": "volume", "uuid": OTHER, "boot_index": 0}],
     "Boot sequence"),
    (None, [{"source_type": "volume", "destination_type": "volume", "boot_index": 0}],
     "Block Device Mapping is Invalid: Missing device UUID."),
    (None, [{"source_type": "image", "destination_type": "volume", "uuid": IMAGE,
             "boot_index": 0}],
     "Images with destination_type 'volume' need to have a non-zero size specified"),
    (None, [{"source_type": "image", "destination_type": "volume", "uuid": IMAGE,
             "boot_index": 0, "volume_size": 0}], "non-zero size"),
    (None, [{"source_type": "image", "destination_type": "local", "uuid": IMAGE,
             "boot_index": 0}], "Mapping image to local is not supported."),
    (IMAGE, [{"source_type": "volume", "uuid": "not a uuid!"}], "does not match"),
    (IMAGE, [{"source_type": "volume", "uuid": VOLUME}] * 2, "mapped twice"),
    (IMAGE, [{"source_type": "image", "destination_type": "local", "boot_index": 0,
              "uuid": VOLUME}], "another image"),
    (IMAGE, [{"source_type": "disk", "uuid": VOLUME}], "is not one of"),
    (IMAGE, [{"source_type": "volume", "uuid": VOLUME, "boot_index": "first"}],
     "boot_index"),
    (IMAGE, [{"source_type": "volume", "uuid": VOLUME, "delete_on_termination": "maybe"}],
     "delete_on_termination"),
    (IMAGE, [{"source_type": "snapshot", "destination_type": "volume", "uuid": VOLUME}],
     "not supported by PocketStack"),
    (IMAGE, [{"source_type": "blank", "destination_type": "local", "volume_size": 1}],
     "not supported by PocketStack"),
    (IMAGE, "nope", "is not of type 'array'"),
])
def test_bad_mappings(image, mappings, words):
    with pytest.raises(InvalidBlockDeviceMapping, match=words.replace("(", r"\(")
                       .replace(")", r"\)").replace(".", r"\.")):
        parse_boot_request(image, mappings)


def test_the_two_syntaxes_together_are_refused():
    with pytest.raises(InvalidBlockDeviceMapping, match="Using different "
                       "block_device_mapping syntaxes is not allowed"):
        parse_boot_request(IMAGE, [{"source_type": "volume", "uuid": VOLUME}],
                           [{"volume_id": OTHER}])


def test_a_legacy_volume_on_vda_beside_an_image_is_refused():
    with pytest.raises(InvalidBlockDeviceMapping, match="same device name as the root"):
        parse_boot_request(IMAGE, None, [{"volume_id": VOLUME, "device_name": "/dev/vda"}])
