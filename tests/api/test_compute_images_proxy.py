"""Nova's 2.1 image proxy (/v2.1/images) over plain HTTP: answered from
imaged with the caller's token, in Nova's shapes: listing with filters and
paging, show, metadata (merge, replace, one key), the metadata quota, delete,
and imaged's visibility and policy holding."""
from __future__ import annotations

import datetime as dt

import pytest

from tests.support.compute import Images, unique

IMAGE_URL = "/images"


@pytest.fixture(scope="module")
def images(stack) -> Images:
    return Images(stack, stack.token("demo"))


@pytest.fixture(scope="module")
def mine(images) -> dict:
    """A private image of demo's project with one property, active."""
    made = images.create(b"\0" * 4096, os_distro="tiny", min_ram=64, min_disk=1)
    yield made
    images.delete(made["id"])


def test_show_is_novas_shape(demo, mine):
    response = demo.call("GET", f"{IMAGE_URL}/{mine['id']}")
    assert response.status_code == 200, response.text
    image = response.json()["image"]
    assert set(image) == {"id", "name", "minRam", "minDisk", "metadata", "created",
                          "updated", "status", "progress", "OS-EXT-IMG-SIZE:size", "links"}
    assert (image["status"], image["progress"]) == ("ACTIVE", 100)
    assert (image["minRam"], image["minDisk"], image["OS-EXT-IMG-SIZE:size"]) == (64, 1, 4096)
    assert image["metadata"]["os_distro"] == "tiny"
    assert "visibility" not in image["metadata"] and "size" not in image["metadata"]
    dt.datetime.strptime(image["created"], "%Y-%m-%dT%H:%M:%SZ")
    rels = {link["rel"]: link for link in image["links"]}
    assert rels["self"]["href"].endswith(f"/v2.1/images/{mine['id']}")
    assert rels["bookmark"]["href"].endswith(f"/images/{mine['id']}")
    assert "/v2.1/" not in rels["bookmark"]["href"]
    assert rels["alternate"]["type"] == "application/vnd.openstack.image"
    assert rels["alternate"]["href"].endswith(f"/images/{mine['id']}")


def test_a_queued_image_is_saving_and_a_missing_one_404(demo, images):
    queued = images.create(None)
    try:
        image = demo.call("GET", f"{IMAGE_URL}/{queued['id']}").json()["image"]
        assert (image["status"], image["progress"], image["OS-EXT-IMG-SIZE:size"]) == \
            ("SAVING", 25, 0)
    finally:
        images.delete(queued["id"])
    missing = demo.call("GET", f"{IMAGE_URL}/{queued['id']}")
    assert missing.status_code == 404
    assert missing.json()["itemNotFound"]["message"] == "Image not found."


def test_listings_filters_and_paging(demo, images, mine):
    name = unique("listed")
    made = [images.create(b"\0" * 512, name=name) for _ in range(3)]
    try:
        summary = demo.call("GET", f"{IMAGE_URL}?name={name}").json()
        assert sorted(i["id"] for i in summary["images"]) == sorted(m["id"] for m in made)
        assert set(summary["images"][0]) == {"id", "name", "links"}
        assert "images_links" not in summary

        first = demo.call("GET", f"{IMAGE_URL}/detail?name={name}&limit=2").json()
        assert len(first["images"]) == 2 and "metadata" in first["images"][0]
        next_link = first["images_links"][0]
        assert next_link["rel"] == "next" and "/v2.1/images/detail?" in next_link["href"]
        assert f"marker={first['images'][1]['id']}" in next_link["href"]
        rest = demo.call("GET", f"{IMAGE_URL}/detail?name={name}&limit=2"
                                f"&marker={first['images'][1]['id']}").json()
        seen = [i["id"] for i in first["images"] + rest["images"]]
        assert sorted(seen) == sorted(m["id"] for m in made)

        by_status = demo.call("GET", f"{IMAGE_URL}/detail?status=SAVING&name={name}")
        assert by_status.json()["images"] == []
        by_ram = demo.call("GET", f"{IMAGE_URL}/detail?minRam=64").json()["images"]
        assert mine["id"] in {i["id"] for i in by_ram}
        assert all(i["minRam"] == 64 for i in by_ram)
        by_property = demo.call("GET", f"{IMAGE_URL}?property-os_distro=tiny").json()
        assert mine["id"] in {i["id"] for i in by_property["images"]}
        future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).strftime(
            "%Y-%m-%dT%H:%M:%SZ")
        assert demo.call("GET", f"{IMAGE_URL}?changes-since={future}").json()["images"] == []
        bad = demo.call("GET", f"{IMAGE_URL}?changes-since=yesterday")
        assert bad.status_code == 400
    finally:
        for image in made:
            images.delete(image["id"])


def test_metadata_calls(demo, mine):
    url = f"{IMAGE_URL}/{mine['id']}/metadata"
    assert demo.call("GET", url).json()["metadata"]["os_distro"] == "tiny"
    merged = demo.call("POST", url, json={"metadata": {"role": "lab"}})
    assert merged.status_code == 200, merged.text
    assert merged.json()["metadata"]["role"] == "lab"
    assert merged.json()["metadata"]["os_distro"] == "tiny"

    one = demo.call("GET", f"{url}/role")
    assert one.json() == {"meta": {"role": "lab"}}
    assert demo.call("GET", f"{url}/nothing").status_code == 404
    changed = demo.call("PUT", f"{url}/role", json={"meta": {"role": "web"}})
    assert changed.status_code == 200 and changed.json() == {"meta": {"role": "web"}}
    mismatch = demo.call("PUT", f"{url}/role", json={"meta": {"other": "x"}})
    assert mismatch.status_code == 400
    assert "Request body and URI mismatch" in mismatch.text

    replaced = demo.call("PUT", url, json={"metadata": {"only": "this"}})
    assert replaced.status_code == 200 and replaced.json() == {"metadata": {"only": "this"}}
    now = demo.call("GET", url).json()["metadata"]
    assert now.get("only") == "this" and "os_distro" not in now and "role" not in now

    assert demo.call("DELETE", f"{url}/only").status_code == 204
    assert "only" not in demo.call("GET", url).json()["metadata"]
    gone = demo.call("DELETE", f"{url}/only")
    assert gone.status_code == 404 and "Invalid metadata key" in gone.text

    bad_key = demo.call("POST", url, json={"metadata": {"bad/key": "x"}})
    assert bad_key.status_code == 400
    missing = demo.call("GET", f"{IMAGE_URL}/6d0cc6b4-0000-4000-8000-00000000dead/metadata")
    assert missing.status_code == 404 and "Image not found." in missing.text


def test_the_metadata_quota_is_403(demo, mine):
    limits = demo.call("GET", "/limits").json()["limits"]["absolute"]
    too_many = {f"k{n}": "v" for n in range(limits["maxImageMeta"] + 1)}
    response = demo.call("POST", f"{IMAGE_URL}/{mine['id']}/metadata",
                         json={"metadata": too_many})
    assert response.status_code == 403
    assert response.json()["forbidden"]["message"] == "Image metadata limit exceeded"
    assert "k0" not in demo.call("GET", f"{IMAGE_URL}/{mine['id']}/metadata").json()[
        "metadata"]


def test_imaged_decides_who_sees_and_deletes(stack, demo, images):
    """The user's token goes to imaged: demo neither sees the admin
    project's private image nor deletes it; it deletes its own (204), which
    is then 404."""
    admins = Images(stack, stack.token("admin"))
    hidden = admins.create(b"\0" * 512, visibility="private")
    private = images.create(b"\0" * 512)
    try:
        assert demo.call("GET", f"{IMAGE_URL}/{hidden['id']}").status_code == 404
        assert demo.call("DELETE", f"{IMAGE_URL}/{hidden['id']}").status_code == 404
        assert hidden["id"] not in {i["id"] for i in demo.call("GET", IMAGE_URL).json()[
            "images"]}
        assert admins.show(hidden["id"])["status"] == "active"
        deleted = demo.call("DELETE", f"{IMAGE_URL}/{private['id']}")
        assert deleted.status_code == 204, deleted.text
        assert demo.call("GET", f"{IMAGE_URL}/{private['id']}").status_code == 404
        again = demo.call("DELETE", f"{IMAGE_URL}/{private['id']}")
        assert again.status_code == 404 and "Image not found." in again.text
    finally:
        admins.delete(hidden["id"])
        images.delete(private["id"])


def test_a_public_image_cannot_be_deleted_by_a_member(demo):
    tiny = demo.image_id()
    response = demo.call("DELETE", f"{IMAGE_URL}/{tiny}")
    assert response.status_code == 403
    assert response.json()["forbidden"]["message"] == \
        "You are not allowed to delete the image."
    assert demo.call("GET", f"{IMAGE_URL}/{tiny}").json()["image"]["status"] == "ACTIVE"
