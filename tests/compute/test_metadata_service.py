"""computed's metadata service on a real stack: signed requests, as
networkd's proxy sends them, to the metadata port ([metadata] bind_port)
for real servers (the tiny image, booted by libvirt, with a real port in
networkd), checked against what computed's and networkd's APIs say; and
the server's config drive (the ISO on the host, read with isoinfo) against
the service's answers.

Two servers for the module: A (demo, on `private`, a key pair, user_data,
metadata, a config drive) and B (admin's project, nothing of the sort).
The proxy itself, and a guest reading 169.254.169.254, are networkd's tests.
"""
from __future__ import annotations

import json
import re
import subprocess

import pytest
import requests

from shared.metadata_proxy import sign
from tests.support.compute import b64, instances_dir, project_id_of, unique, wait_for

pytestmark = pytest.mark.e2e

USER_DATA = "#!/bin/sh\necho metadata-test\n"


@pytest.fixture(scope="module")
def keypair(demo):
    """A key pair computed generates (the public key is what guests get)."""
    name = unique("md-key")
    response = demo.call("POST", "/os-keypairs", json={"keypair": {"name": name}})
    assert response.status_code == 200, response.text
    yield name, response.json()["keypair"]["public_key"]
    demo.call("DELETE", f"/os-keypairs/{name}")


@pytest.fixture(scope="module")
def servers(stack, demo, admin, keypair):
    made_a = demo.create(name=unique("md-a"), key_name=keypair[0], user_data=b64(USER_DATA),
                         metadata={"course": "iaas-101"}, config_drive=True)
    made_b = admin.create(name=unique("md-b"))
    a = demo.wait_status(made_a["id"], "ACTIVE")
    b = admin.wait_status(made_b["id"], "ACTIVE")
    return a, b


@pytest.fixture(scope="module")
def projects(stack):
    return project_id_of(stack, "demo"), project_id_of(stack, "admin")


@pytest.fixture(scope="module")
def secret(stack, servers) -> str:
    return (stack.state_dir / "etc" / "metadata-proxy-secret").read_text().strip()


class Metadata:
    """Requests to the metadata port, signed as networkd's proxy signs them."""

    def __init__(self, stack, secret: str):
        self.url = f"http://127.0.0.1:{stack.port('computed-metadata')}"
        self.secret = secret

    def get(self, path: str, instance_id: str | None = None, tenant_id: str | None = None,
            signature: str | None = None) -> requests.Response:
        headers = {}
        if instance_id is not None:
            headers = {"X-Instance-ID": instance_id, "X-Tenant-ID": tenant_id or "",
                       "X-Instance-ID-Signature": signature or sign(self.secret,
                                                                    instance_id),
                       "X-Forwarded-For": "10.0.0.99"}
        return requests.get(self.url + path, headers=headers, timeout=30)


@pytest.fixture(scope="module")
def metadata(stack, secret) -> Metadata:
    return Metadata(stack, secret)


def as_server(metadata: Metadata, server: dict, project: str):
    """GET as the guest of `server` would, through the proxy: 200 expected."""
    def get(path: str) -> requests.Response:
        response = metadata.get(path, server["id"], project)
        assert response.status_code == 200, f"{path}: {response.status_code} {response.text}"
        return response
    return get


def server_port(stack, server: dict) -> dict:
    token = stack.token("admin")
    response = requests.get(f"{stack.url('networkd')}/v2.0/ports",
                            params={"device_id": server["id"]},
                            headers={"X-Auth-Token": token}, timeout=30)
    [port] = response.json()["ports"]
    return port


def test_a_server_reads_its_openstack_metadata(stack, servers, projects, keypair, metadata):
    a, _ = servers
    get = as_server(metadata, a, projects[0])
    assert get("/openstack").text.split("\n")[-1] == "latest"
    assert get("/openstack/latest/").text.split("\n") == [
        "meta_data.json", "user_data", "vendor_data.json", "network_data.json",
        "vendor_data2.json"]
    answer = get("/openstack/latest/meta_data.json")
    assert answer.headers["Content-Type"].startswith("application/json")
    meta = answer.json()
    assert (meta["uuid"], meta["name"], meta["project_id"]) == (a["id"], a["name"],
                                                                projects[0])
    assert meta["hostname"] == a["name"]   # already a DNS label: taken as it is
    assert meta["public_keys"] == {keypair[0]: keypair[1]}
    assert meta["keys"] == [{"name": keypair[0], "type": "ssh", "data": keypair[1]}]
    assert meta["meta"] == {"course": "iaas-101"}
    assert meta["availability_zone"] == "nova" and meta["launch_index"] == 0
    assert len(meta["random_seed"]) > 600 and meta["devices"] == []
    assert get("/openstack/latest/user_data").text == USER_DATA

    port = server_port(stack, a)
    network = json.loads(get("/openstack/latest/network_data.json").text)
    assert network["links"] == [{"id": ("tap" + port["id"])[:14], "vif_id": port["id"],
                                 "type": "tap", "mtu": None,
                                 "ethernet_mac_address": port["mac_address"]}]
    assert network["networks"] == [{"id": "network0", "type": "ipv4_dhcp",
                                    "link": ("tap" + port["id"])[:14],
                                    "network_id": port["network_id"]}]
    assert get("/openstack/latest/vendor_data.json").json() == {}
    assert get("/openstack/latest/vendor_data2.json").json() == {"static": {}}


def test_a_server_reads_its_ec2_metadata(stack, servers, projects, keypair, metadata):
    a, _ = servers
    get = as_server(metadata, a, projects[0])
    assert get("/").text.split("\n")[-2:] == ["2009-04-04", "latest"]
    assert get("/2009-04-04").text == "meta-data/\nuser-data"
    names = get("/2009-04-04/meta-data/").text.split("\n")
    for name in ("ami-id", "instance-id", "hostname", "local-hostname", "local-ipv4",
                 "public-ipv4", "instance-type", "placement/", "security-groups",
                 "public-keys/", "block-device-mapping/", "reservation-id"):
        assert name in names
    assert re.fullmatch(r"i-[0-9a-f]{8}", get("/latest/meta-data/instance-id").text)
    assert re.fullmatch(r"ami-[0-9a-f]{8}", get("/latest/meta-data/ami-id").text)
    port = server_port(stack, a)
    assert get("/latest/meta-data/local-ipv4").text == port["fixed_ips"][0]["ip_address"]
    assert get("/latest/meta-data/public-ipv4").text == ""
    assert get("/latest/meta-data/instance-type").text == "m1.nano"
    assert get("/latest/meta-data/placement/availability-zone").text == "nova"
    assert get("/latest/meta-data/security-groups").text == "default"
    assert get("/latest/meta-data/public-keys/").text == f"0={keypair[0]}"
    assert get("/2009-04-04/meta-data/public-keys/0/openssh-key").text == keypair[1]
    assert get("/latest/meta-data/block-device-mapping/root").text == "/dev/vda"
    assert re.fullmatch(r"r-[0-9a-f]{8}", get("/latest/meta-data/reservation-id").text)
    assert get("/latest/meta-data/hostname").text == a["name"]
    assert get("/2009-04-04/user-data").text == USER_DATA


def test_requests_not_from_the_proxy_or_for_another_server_are_refused(
        servers, projects, metadata):
    a, b = servers
    missing = metadata.get("/openstack/latest/meta_data.json")
    assert missing.status_code == 400
    assert "X-Instance-ID header is missing from request." in missing.text
    forged = metadata.get("/openstack/latest/meta_data.json", a["id"], projects[0],
                          signature=sign("not the secret", a["id"]))
    assert forged.status_code == 403 and "Invalid proxy request signature." in forged.text
    # A's signature never reads B: the signature is of the id it is sent with.
    stolen = metadata.get("/openstack/latest/meta_data.json", b["id"], projects[1],
                          signature=sign(metadata.secret, a["id"]))
    assert stolen.status_code == 403
    # The right signature with the other project's id: not found, as in Nova.
    assert metadata.get("/openstack/latest/meta_data.json", a["id"],
                        projects[1]).status_code == 404
    unknown = "6d0cc6b4-0000-4000-8000-00000000dead"
    assert metadata.get("/latest/meta-data/", unknown, projects[0]).status_code == 404
    # B reads its own, which has neither A's key nor any user_data.
    own = metadata.get("/openstack/latest/meta_data.json", b["id"], projects[1])
    assert own.status_code == 200 and own.json()["uuid"] == b["id"]
    assert "public_keys" not in own.json()
    for path in ("/openstack/latest/user_data", "/latest/user-data"):
        assert metadata.get(path, b["id"], projects[1]).status_code == 404
    assert metadata.get("/latest/meta-data/instance-id", b["id"], projects[1]).text != \
        metadata.get("/latest/meta-data/instance-id", a["id"], projects[0]).text


def iso_file(iso, path: str) -> bytes:
    result = subprocess.run(["isoinfo", "-J", "-i", str(iso), "-x", "/" + path],
                            capture_output=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return result.stdout


def iso_paths(iso) -> set[str]:
    listing = subprocess.run(["isoinfo", "-J", "-f", "-i", str(iso)], capture_output=True,
                             text=True, timeout=30, check=True).stdout
    return {line.lstrip("/") for line in listing.split()}


def ec2_tree(get, path: str):
    """The EC2 tree as a client walks it: a name with "/" is a directory,
    public-keys lists "0=<name>" for the directory 0/."""
    tree = {}
    for name in get(path).text.split("\n"):
        if name.endswith("/"):
            tree[name[:-1]] = ec2_tree(get, f"{path}{name}")
        elif "=" in name and path.endswith("public-keys/"):
            index = name.split("=", 1)[0]
            tree[index] = ec2_tree(get, f"{path}{index}/")
        else:
            tree[name] = get(f"{path}{name}").text
    return tree


def as_text(value):
    """A config drive JSON value as the service prints it."""
    if isinstance(value, dict):
        return {key: as_text(item) for key, item in value.items()}
    if isinstance(value, list):
        return "\n".join(str(item) for item in value)
    return "" if value == "" else str(value)


def test_the_config_drive_says_what_the_service_says(stack, servers, projects, metadata):
    a, _ = servers
    get = as_server(metadata, a, projects[0])
    iso = instances_dir(stack) / a["id"] / "disk.config"
    paths = iso_paths(iso)
    for version in ("2012-08-10", "2016-10-06", "latest"):
        for name in get(f"/openstack/{version}").text.split("\n"):
            drive = iso_file(iso, f"openstack/{version}/{name}")
            served = get(f"/openstack/{version}/{name}").content
            if name == "meta_data.json":
                drive_doc, served_doc = json.loads(drive), json.loads(served)
                drive_doc.pop("random_seed", None)
                served_doc.pop("random_seed", None)
                assert drive_doc == served_doc
            else:
                assert drive == served, f"openstack/{version}/{name}"
    assert {"ec2/latest/meta-data.json", "ec2/latest/user-data",
            "ec2/2009-04-04/meta-data.json"} <= paths
    drive_ec2 = json.loads(iso_file(iso, "ec2/latest/meta-data.json"))
    assert as_text(drive_ec2) == ec2_tree(get, "/latest/meta-data/")
    assert iso_file(iso, "ec2/latest/user-data").decode() == USER_DATA


def test_a_deleted_server_is_not_found(servers, projects, metadata, admin):
    _, b = servers
    assert metadata.get("/latest/meta-data/", b["id"], projects[1]).status_code == 200
    admin.delete(b["id"])
    wait_for(lambda: metadata.get("/latest/meta-data/", b["id"],
                                  projects[1]).status_code == 404,
             timeout=10, what="a deleted server's metadata gone")
