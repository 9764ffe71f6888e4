"""GET /v2/info/usage: the project's quota usage, in Glance's shape (sizes in
MiB, -1 for no limit), and python-glanceclient's `glance usage` reading it."""
from __future__ import annotations

import os
import subprocess

import pytest

from tests.stack import CLIENTS_VENV
from tests.support.images import Images, configured_stack, raw_bytes, second_project_user

MIB = 1024 * 1024
NAMES = ("image_size_total", "image_count_total", "image_stage_total",
         "image_count_uploading")


def usage_of(client: Images) -> dict:
    response = client.request("GET", "/v2/info/usage")
    assert response.status_code == 200, response.text
    usage = response.json()["usage"]
    assert sorted(usage) == sorted(NAMES)
    return usage


def used(client: Images) -> dict:
    return {name: value["usage"] for name, value in usage_of(client).items()}


def test_usage_follows_create_upload_stage_and_delete(stack):
    token, _ = second_project_user(stack, "usage-counts")
    client = Images(stack, token)
    assert usage_of(client) == {name: {"limit": -1, "usage": 0} for name in NAMES}

    uploaded = client.new()
    assert used(client) == {"image_size_total": 0, "image_count_total": 1,
                            "image_stage_total": 0, "image_count_uploading": 0}
    assert client.upload(uploaded["id"], raw_bytes(2 * MIB)).status_code == 204
    assert used(client)["image_size_total"] == 2

    staged = client.new()
    response = client.request("PUT", f"/v2/images/{staged['id']}/stage", data=raw_bytes(MIB),
                              headers={"Content-Type": "application/octet-stream"})
    assert response.status_code == 204, response.text
    assert client.show(staged["id"])["status"] == "uploading"
    assert used(client) == {"image_size_total": 2, "image_count_total": 2,
                            "image_stage_total": 1, "image_count_uploading": 1}

    assert client.delete(staged["id"]).status_code == 204
    assert used(client) == {"image_size_total": 2, "image_count_total": 1,
                            "image_stage_total": 0, "image_count_uploading": 0}
    assert client.delete(uploaded["id"]).status_code == 204
    assert used(client) == {name: 0 for name in NAMES}


def test_another_projects_images_are_not_counted(stack):
    demo = Images(stack, stack.token("demo"))
    token, _ = second_project_user(stack, "usage-alone")
    alone = Images(stack, token)
    before = used(alone)
    demo.uploaded(raw_bytes(MIB))
    assert used(alone) == before
    assert used(demo)["image_count_total"] >= 1


CONFIG = f"""[quota]
image_count_total = 5
image_size_total = {3 * MIB}
"""


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory, stack):
    own = configured_stack(tmp_path_factory, stack, 95, CONFIG)
    yield own
    own.down()


def test_the_limits_are_those_of_the_config(own_stack):
    client = Images(own_stack, own_stack.token("demo"))
    client.uploaded(raw_bytes(MIB))
    usage = usage_of(client)
    assert usage["image_count_total"] == {"limit": 5, "usage": 1}
    assert usage["image_size_total"] == {"limit": 3, "usage": 1}
    assert usage["image_stage_total"]["limit"] == -1
    assert usage["image_count_uploading"]["limit"] == -1


def test_glance_usage_shows_them(own_stack):
    env = {key: value for key, value in os.environ.items() if not key.startswith("OS_")}
    env.update({"OS_AUTH_URL": own_stack.url("identity"), "OS_USERNAME": "demo",
                "OS_PASSWORD": own_stack.password("demo"), "OS_PROJECT_NAME": "demo",
                "OS_USER_DOMAIN_NAME": "Default", "OS_PROJECT_DOMAIN_NAME": "Default"})
    result = subprocess.run([str(CLIENTS_VENV / "bin" / "glance"), "usage"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {cells[0]: cells[1:] for cells in (
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in result.stdout.splitlines() if line.startswith("|"))}
    assert rows["image_count_total"][0] == "5"
    assert rows["image_size_total"][0] == "3"
    assert rows["image_stage_total"] == ["-1", "0"]
