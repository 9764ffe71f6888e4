"""createImage: the image exists (queued) when the 202 returns, with its id
in the body and the Location header; it becomes an active snapshot of the
project; the server keeps running (or stays stopped)."""
from __future__ import annotations

import pytest

from tests.support.compute import Compute, Images, unique, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def images(stack, demo) -> Images:
    return Images(stack, demo.token)


def image_id_of(response) -> str:
    """The new image's id, from the Location header (the 2.1 answer)."""
    location = response.headers["Location"]
    assert "/v2/images/" in location, location
    return location.rsplit("/", 1)[1]


def wait_image(images: Images, image_id: str, status: str = "active") -> dict:
    return wait_for(lambda: (i := images.show(image_id))["status"] == status and i,
                    timeout=120, what=f"image {image_id} {status}")


def test_snapshot_of_a_running_server(stack, demo, images):
    server = demo.create()
    server = demo.wait_status(server["id"], "ACTIVE")
    demo.wait_console(server["id"], r"^POCKETSTACK-BOOTED\s*$")
    name = unique("snap")
    response = demo.action(server["id"], "createImage", {"name": name,
                                                         "metadata": {"purpose": "lab"}})
    assert response.status_code == 202, response.text
    assert response.content == b""                   # a body only from 2.45 on
    image_id = image_id_of(response)
    first = images.show(image_id)  # already there when the 202 returns
    assert first["status"] in ("queued", "saving", "active")
    busy = demo.action(server["id"], "createImage", {"name": unique("again")})
    if busy.status_code != 202:  # the first snapshot still runs
        assert busy.status_code == 409
    else:
        wait_image(images, image_id_of(busy))
        images.delete(image_id_of(busy))

    image = wait_image(images, image_id)
    assert image["name"] == name and image["disk_format"] == "qcow2"
    assert image["image_type"] == "snapshot" and image["instance_uuid"] == server["id"]
    assert image["base_image_ref"] == demo.image_id()
    assert image["purpose"] == "lab" and image["visibility"] == "private"
    assert image["owner"] == server["tenant_id"]
    running = demo.wait_status(server["id"], "ACTIVE", task_state=None)
    assert running["OS-EXT-STS:power_state"] == 1  # it kept running
    events = demo.events(server["id"], "compute.instance.snapshot")
    assert events[:1] == ["compute.instance.snapshot.start"]
    assert "compute.instance.snapshot.end" in events
    demo.delete(server["id"])
    images.delete(image_id)


def test_snapshot_of_a_stopped_server_keeps_it_stopped(demo, images):
    server = demo.create()
    demo.wait_status(server["id"], "ACTIVE")
    assert demo.action(server["id"], "os-stop", None).status_code == 202
    demo.wait_status(server["id"], "SHUTOFF", task_state=None)
    response = demo.action(server["id"], "createImage", {"name": unique("cold")})
    assert response.status_code == 202
    image = wait_image(images, image_id_of(response))
    assert image["size"] > 0
    assert demo.wait_status(server["id"], "SHUTOFF", task_state=None)
    demo.delete(server["id"])
    images.delete(image["id"])


def test_snapshot_of_a_server_in_error_is_409(demo, stack):
    admin = Compute(stack, "admin")
    free_disk = admin.hypervisor()["local_gb_claimable_free"]
    flavor = admin.call("POST", "/flavors", json={"flavor": {
        "name": unique("huge"), "ram": 64, "vcpus": 1, "disk": free_disk + 1}}).json()["flavor"]
    try:
        server = demo.create(flavor=flavor["id"])
        demo.wait_status(server["id"], "ERROR")
        response = demo.action(server["id"], "createImage", {"name": "x"})
        assert response.status_code == 409
        assert "vm_state error" in response.text
        console = demo.action(server["id"], "os-getConsoleOutput", {})
        assert console.status_code == 409  # never built: no console
        demo.delete(server["id"])
    finally:
        admin.call("DELETE", f"/flavors/{flavor['id']}")
