"""What POST /servers refuses of a boot from volume, with Nova's 400s, and
that nothing is left of a refused request (no server, no attachment, no
volume made). The boots themselves are in
tests/compat/test_server_boot_from_volume_client.py."""
from __future__ import annotations

import pytest
import requests

from tests.support.compute import Images, Volumes, project_id_of, unique

MISSING = "6d0cc6b4-0000-4000-8000-00000000dead"


@pytest.fixture(scope="module")
def volumes(stack, demo) -> Volumes:
    return Volumes(stack, demo.token, project_id_of(stack))


def refused(demo, body: dict) -> str:
    """POST /servers without imageRef; 400; the message. No server is left."""
    name = unique("bfv-bad")
    response = demo.call("POST", "/servers", json={"server": {
        "name": name, "flavorRef": "1", **body}})
    assert response.status_code == 400, response.text
    listed = demo.call("GET", "/servers").json()["servers"]
    assert name not in {s["name"] for s in listed}
    return response.json()["badRequest"]["message"]


def root_volume(volume_id: str, **extra) -> dict:
    return {"block_device_mapping_v2": [{"source_type": "volume", "destination_type":
                                         "volume", "uuid": volume_id, "boot_index": 0,
                                         **extra}]}


def test_a_volume_that_is_not_bootable_is_refused(demo, volumes):
    blank = volumes.create(size=1)  # empty: not bootable
    try:
        assert refused(demo, root_volume(blank["id"])) == \
            f"Block Device {blank['id']} is not bootable."
        # The legacy syntax: a volume on vda is the root.
        assert refused(demo, {"block_device_mapping": [
            {"volume_id": blank["id"], "device_name": "vda"}]}) == \
            f"Block Device {blank['id']} is not bootable."
        assert volumes.attachments(blank["id"]) == []
        assert volumes.show(blank["id"])["status"] == "available"
    finally:
        volumes.delete(blank["id"])


def test_a_missing_volume_or_image_is_refused(demo):
    assert refused(demo, root_volume(MISSING)) == \
        f"Block Device Mapping is Invalid: failed to get volume {MISSING}."
    assert refused(demo, {"block_device_mapping_v2": [
        {"source_type": "image", "destination_type": "volume", "uuid": MISSING,
         "boot_index": 0, "volume_size": 1}]}) == \
        f"Block Device Mapping is Invalid: failed to get image {MISSING}."


def test_image_to_volume_needs_a_size_that_fits_the_image(stack, demo, volumes):
    tiny = demo.image_id()
    assert refused(demo, {"block_device_mapping_v2": [
        {"source_type": "image", "destination_type": "volume", "uuid": tiny,
         "boot_index": 0}]}) == \
        "Images with destination_type 'volume' need to have a non-zero size specified"
    images = Images(stack, demo.token)
    needy = images.create(b"\0" * 4096, min_disk=2)
    before = {v["id"] for v in volumes_of(volumes)}
    try:
        assert refused(demo, {"block_device_mapping_v2": [
            {"source_type": "image", "destination_type": "volume", "uuid": needy["id"],
             "boot_index": 0, "volume_size": 1}]}) == (
            f"Volume is smaller than the minimum size specified in image metadata. "
            f"Volume size is {1024 ** 3} bytes, minimum size is {2 * 1024 ** 3} bytes.")
    finally:
        images.delete(needy["id"])
    assert {v["id"] for v in volumes_of(volumes)} == before  # no volume was made


def test_the_boot_sequence_must_start_at_zero(demo, volumes):
    volume = volumes.create(size=1)
    try:
        message = refused(demo, root_volume(volume["id"], boot_index=1))
        assert message == ("Block Device Mapping is Invalid: Boot sequence for the instance "
                           "and image/block device mapping combination is not valid.")
        assert refused(demo, {}) == "Missing imageRef attribute"
    finally:
        volumes.delete(volume["id"])


def volumes_of(volumes: Volumes) -> list[dict]:
    response = requests.get(f"{volumes.url}/volumes", headers=volumes.headers, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["volumes"]
