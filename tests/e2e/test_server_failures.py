"""Launches that fail half way roll back: the server is ERROR with the
reason as its fault, and no domain, instance directory, cached base,
libvirt secret, volume attachment or tgt target is left behind."""
from __future__ import annotations

import hashlib
import shutil
import sqlite3

import pytest

from tests.support.compute import (
    Images,
    Volumes,
    base_name,
    instances_dir,
    leftovers,
    project_id_of,
    stack_secrets,
    unique,
)
from tests.support.images import store_dir
from tests.unit.image_corpus import bad_images

pytestmark = pytest.mark.e2e


def test_qemu_refusing_to_start_rolls_everything_back(stack, demo, admin):
    """A flavor whose RAM the host cannot give (allowed by the RAM
    over-commit ratio): QEMU fails to start after the volume was exported,
    its secret defined, the disks and config drive made."""
    volumes = Volumes(stack, demo.token, project_id_of(stack))
    hypervisor = admin.hypervisor()
    ram = int(hypervisor["memory_mb"] * 1.25)
    if ram > min(hypervisor["memory_mb_claimable_free"], 51200):
        pytest.skip("this host's RAM does not allow the test (quota or allocation ratio)")
    flavor = admin.call("POST", "/flavors", json={"flavor": {
        "name": unique("overcommitted"), "ram": ram, "vcpus": 1, "disk": 1}}).json()["flavor"]
    volume = volumes.create(size=1)
    secrets_before = stack_secrets(stack)
    try:
        made = demo.create(flavor=flavor["id"], block_device_mapping_v2=[
            {"source_type": "volume", "destination_type": "volume", "uuid": volume["id"]}])
        server = demo.wait_status(made["id"], "ERROR")
        assert server["fault"]["message"].startswith("Starting the domain failed")
        assert "allocate memory" in server["fault"]["message"]
        assert server["os-extended-volumes:volumes_attached"] == []
        assert leftovers(stack, made["id"], [volume["id"]]) == []
        assert volumes.show(volume["id"])["status"] == "available"
        assert [a for a in volumes.attachments(volume["id"])] == []
        assert stack_secrets(stack) == secrets_before
        after = admin.hypervisor()
        assert after["vcpus_used"] == hypervisor["vcpus_used"]  # the claim was released
        events = demo.events(made["id"])
        assert "compute.instance.domain.started" not in events
        assert events[-1] == "compute.instance.create.error"
        demo.delete(made["id"])
    finally:
        admin.call("DELETE", f"/flavors/{flavor['id']}")
        volumes.wait(volume["id"], "available")
        volumes.delete(volume["id"])


def _tamper(stack, image_id: str, content: bytes, disk_format: str | None,
            update_hashes: bool) -> None:
    """Swap an active image's stored data behind imaged's back: what an image
    uploaded before imaged inspected uploads (or a tampered store) looks
    like. With update_hashes, imaged's record agrees with the new bytes."""
    (store_dir(stack) / image_id).write_bytes(content)
    if not update_hashes:
        return
    with sqlite3.connect(stack.state_dir / "lib" / "imaged.sqlite") as db:
        db.execute("UPDATE images SET checksum=?, os_hash_value=?, size=?, "
                   "disk_format=COALESCE(?, disk_format) WHERE id=?",
                   (hashlib.md5(content).hexdigest(), hashlib.sha512(content).hexdigest(),
                    len(content), disk_format, image_id))


@pytest.mark.parametrize("kind", ["qcow2-backing-file", "qcow2-declared-raw"])
def test_an_unsafe_image_is_refused_before_it_enters_the_cache(stack, demo, tmp_path, kind):
    hostile = next(image for image in bad_images(tmp_path) if image.name == kind)
    images = Images(stack, demo.token)
    image = images.create(b"\0" * 65536, disk_format="raw")
    _tamper(stack, image["id"], hostile.path.read_bytes(), hostile.disk_format,
            update_hashes=True)
    made = demo.create(image=image["id"])
    server = demo.wait_status(made["id"], "ERROR")
    assert "is unsafe and was refused" in server["fault"]["message"]
    assert hostile.reason in server["fault"]["message"]
    base = instances_dir(stack) / "_base" / base_name(image["id"])
    assert not base.exists()
    assert not list(base.parent.glob(base.name + ".*"))
    assert leftovers(stack, made["id"]) == []
    demo.delete(made["id"])
    images.delete(image["id"])


def test_data_that_does_not_match_its_checksum_is_refused(stack, demo):
    images = Images(stack, demo.token)
    image = images.create(b"\0" * 65536, disk_format="raw")
    _tamper(stack, image["id"], b"\1" * 65536, None, update_hashes=False)
    made = demo.create(image=image["id"])
    server = demo.wait_status(made["id"], "ERROR")
    assert "does not match its sha512 hash" in server["fault"]["message"]
    assert not (instances_dir(stack) / "_base" / base_name(image["id"])).exists()
    assert leftovers(stack, made["id"]) == []
    demo.delete(made["id"])
    images.delete(image["id"])


def test_a_deactivated_image_cannot_boot(stack, demo):
    images = Images(stack, demo.token)
    admin_images = Images(stack, stack.token("admin"))
    image = images.create(shutil.which("true") and b"\0" * 65536)
    admin_images.action(image["id"], "deactivate")
    response = demo.create(image=image["id"], expect=400)
    assert "is not active" in response.text
    admin_images.action(image["id"], "reactivate")
    images.delete(image["id"])
