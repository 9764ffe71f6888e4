"""openstacksdk from PyPI and the new location APIs: a service user adds the
location of a queued image with validation data (add_image_location) and
lists it (image_locations), as Nova and Cinder do through the SDK. The
data is served by a loopback web server started here. python-glanceclient's
`glance add-location` (which asks for Image API 2.17 first) does the same
from the shell; it has no command that lists locations, and
python-openstackclient has no location commands."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess

import pytest

from tests.stack import CLIENTS_VENV
from tests.support.images import Images, raw_bytes, serve_directory, wait_for

DATA = raw_bytes(200000)

SDK_SCRIPT = """
import json, sys
import openstack
args = json.loads(sys.argv[1])
conn = openstack.connect(auth_url=args["auth_url"], username=args["user"],
                         password=args["password"], project_name=args["project"],
                         user_domain_name="Default", project_domain_name="Default")
if args["action"] == "add":
    conn.image.add_image_location(args["image"], args["url"],
                                  validation_data=args.get("validation"))
    print(json.dumps({}))
else:
    print(json.dumps([{"url": location.url, "metadata": location.metadata}
                      for location in conn.image.image_locations(args["image"])]))
"""


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sdk-web")
    (folder / "disk.raw").write_bytes(DATA)
    with serve_directory(folder) as base:
        yield base + "/disk.raw"


def sdk(stack, user: str, project: str, **args) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if not key.startswith("OS_")}
    payload = {"auth_url": stack.url("identity"), "user": user,
               "password": stack.password(user), "project": project, **args}
    return subprocess.run([str(CLIENTS_VENV / "bin" / "python"), "-c", SDK_SCRIPT,
                           json.dumps(payload)], env=env, capture_output=True, text=True,
                          timeout=120)


def test_a_service_adds_and_lists_a_location_with_openstacksdk(stack, url):
    demo = Images(stack, stack.token("demo"))
    image = demo.new(disk_format="raw")
    validation = {"os_hash_algo": "sha512", "os_hash_value": hashlib.sha512(DATA).hexdigest()}
    added = sdk(stack, "volumed", "service", action="add", image=image["id"], url=url,
                validation=validation)
    assert added.returncode == 0, added.stdout + added.stderr
    active = demo.show(image["id"])
    assert active["status"] == "active" and active["size"] == len(DATA)
    assert active["os_hash_value"] == validation["os_hash_value"]
    assert demo.download(image["id"]).content == DATA

    listed = sdk(stack, "volumed", "service", action="list", image=image["id"])
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert json.loads(listed.stdout) == [{"url": url, "metadata": {"store": "http"}}]
    refused = sdk(stack, "demo", "demo", action="list", image=image["id"])
    assert refused.returncode != 0 and "fetch_image_location" in refused.stderr


def glance(stack, *args: str, user: str, project: str) -> subprocess.CompletedProcess:
    """python-glanceclient with OS_* variables, as `user` of `project`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("OS_")}
    env.update({"OS_AUTH_URL": stack.url("identity"), "OS_USERNAME": user,
                "OS_PASSWORD": stack.password(user), "OS_PROJECT_NAME": project,
                "OS_USER_DOMAIN_NAME": "Default", "OS_PROJECT_DOMAIN_NAME": "Default"})
    return subprocess.run([str(CLIENTS_VENV / "bin" / "glance"), *args], env=env,
                          capture_output=True, text=True, timeout=120)


def shown_property(output: str, name: str) -> str:
    """The value of one row of the Property/Value table glance prints."""
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0] == name:
            return cells[1]
    raise AssertionError(f"no {name} in:\n{output}")


def test_a_service_adds_a_location_with_glance_add_location(stack, url):
    demo = Images(stack, stack.token("demo"))
    image = demo.new(disk_format="raw")
    validation = json.dumps({"os_hash_algo": "sha256",
                             "os_hash_value": hashlib.sha256(DATA).hexdigest()})
    added = glance(stack, "add-location", "--url", url, "--validation-data", validation,
                   image["id"], user="computed", project="service")
    assert added.returncode == 0, added.stdout + added.stderr
    assert shown_property(added.stdout, "status") == "active"
    assert shown_property(added.stdout, "size") == str(len(DATA))
    assert shown_property(added.stdout, "os_hash_algo") == "sha256"
    active = demo.show(image["id"])
    assert active["status"] == "active" and active["checksum"] == hashlib.md5(DATA).hexdigest()
    assert demo.download(image["id"]).content == DATA


def test_glance_add_location_without_validation_data_hashes_in_the_background(stack, url):
    demo = Images(stack, stack.token("demo"))
    image = demo.new(disk_format="raw")
    added = glance(stack, "add-location", "--url", url, image["id"],
                   user="volumed", project="service")
    assert added.returncode == 0, added.stdout + added.stderr
    assert shown_property(added.stdout, "status") == "active"
    assert wait_for(lambda: demo.show(image["id"])["os_hash_value"] ==
                    hashlib.sha512(DATA).hexdigest(), timeout=30)


def test_glance_add_location_with_data_that_does_not_match_leaves_the_image_queued(
        stack, url):
    demo = Images(stack, stack.token("demo"))
    image = demo.new(disk_format="raw")
    wrong = json.dumps({"os_hash_algo": "sha512", "os_hash_value": "0" * 128})
    refused = glance(stack, "add-location", "--url", url, "--validation-data", wrong,
                     image["id"], user="volumed", project="service")
    assert refused.returncode != 0 and "400" in refused.stderr, refused.stderr
    assert demo.show(image["id"])["status"] == "queued"


def test_demo_may_not_add_a_location_to_another_projects_image(stack, url):
    admin = Images(stack, stack.token("admin"))
    image = admin.new(disk_format="raw", visibility="public")
    refused = glance(stack, "add-location", "--url", url, image["id"],
                     user="demo", project="demo")
    assert refused.returncode != 0
    assert "403" in refused.stderr and "add_image_location" in refused.stderr
    assert admin.show(image["id"])["status"] == "queued"
    assert admin.delete(image["id"]).status_code == 204
