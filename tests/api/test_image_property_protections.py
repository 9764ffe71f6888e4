"""Property protections: an instructor locks os_distro to admins with a
rules file named in imaged-api.conf; members are refused, admins are not."""
from __future__ import annotations

import subprocess
import sys

import pytest
import requests

from tests.stack import REPO, Stack

RULES = """
[^os_distro$]
create = admin
read = @
update = admin
delete = admin

[^x_grading_]
create = admin
read = admin
update = admin
delete = admin

[.*]
create = @
read = @
update = @
delete = @
"""


@pytest.fixture(scope="module")
def protected_stack(tmp_path_factory, stack):
    own = Stack(tmp_path_factory.mktemp("protections"), stack.port_offset + 80)
    assert own.up().returncode == 0
    (own.state_dir / "etc" / "property-protections.conf").write_text(RULES)
    own.down()
    own.set_option("imaged-api.conf", "image", "property_protection_file",
                   "property-protections.conf")
    result = own.up()
    assert result.returncode == 0, result.stderr
    yield own
    own.down()


def client(stack, user):
    session = requests.Session()
    session.headers.update({"X-Auth-Token": stack.token(user), "Accept": "application/json"})
    return session, stack.url("imaged") + "/v2/images"


def test_members_cannot_set_a_locked_property(protected_stack):
    demo, url = client(protected_stack, "demo")
    refused = demo.post(url, json={"name": "x", "os_distro": "debian"})
    assert refused.status_code == 403
    assert "Property 'os_distro' is protected" in refused.json()["message"]
    image = demo.post(url, json={"name": "y", "os_version": "12"}).json()
    patch = demo.patch(f"{url}/{image['id']}", headers={
        "Content-Type": "application/openstack-images-v2.1-json-patch"},
        json=[{"op": "add", "path": "/os_distro", "value": "debian"}])
    assert patch.status_code == 403
    assert "os_distro" not in demo.get(f"{url}/{image['id']}").json()


def test_admins_can_and_unreadable_properties_are_hidden(protected_stack):
    admin, url = client(protected_stack, "admin")
    created = admin.post(url, json={"name": "graded", "os_distro": "debian",
                                    "x_grading_key": "42", "visibility": "public"})
    assert created.status_code == 201, created.text
    image = created.json()
    assert image["os_distro"] == "debian" and image["x_grading_key"] == "42"
    demo, _ = client(protected_stack, "demo")
    seen = demo.get(f"{url}/{image['id']}").json()
    assert seen["os_distro"] == "debian"
    assert "x_grading_key" not in seen


def test_a_bad_rules_file_stops_imaged(tmp_path):
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "imaged-api.conf").write_text("[image]\nproperty_protection_file = bad-rules.conf\n")
    (etc / "bad-rules.conf").write_text("[^a$]\ncreate = @,!\nread = @\nupdate = @\n"
                                        "delete = @\n")
    result = subprocess.run([sys.executable, "-m", "imaged.app", "--state-dir", str(tmp_path)],
                            capture_output=True, text=True, timeout=120, cwd=REPO)
    assert result.returncode != 0
    assert "[image] property_protection_file" in result.stderr
    assert "both '@' and '!'" in result.stderr
