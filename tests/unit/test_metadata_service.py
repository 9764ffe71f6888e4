"""The metadata service's request side: the proxy's headers (400, 403), the
server and project (404), the answers and how long they are kept, over a
real database, with networkd's answers from the unit tests' FakeNetwork and
the real Flask app (its test client). The real proxy and networkd are in
tests/compute/test_metadata_service.py."""
from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace

import pytest
import requests

from computed.db import repository as repo
from computed.db.models import Instance, VirtualInterface
from computed.domain import states
from computed.metadata.app import create_metadata_app
from computed.metadata.gather import gather
from computed.metadata.proxy_request import Refused, check
from computed.metadata.server import MetadataListenError, proxy_secret, start
from computed.metadata.source import MetadataSource
from shared.clients import RemoteError
from shared.db import transaction
from shared.metadata_proxy import sign
from shared.paths import StateLayout
from tests.unit.compute_fakes import FakeDriver, FakeNetwork, make_deps

SECRET = "s3cret-shared-with-the-proxy"
SERVER_A = "6d0cc6b4-aaaa-4000-8000-000000000001"
SERVER_B = "6d0cc6b4-bbbb-4000-8000-000000000002"
IMAGE = "6d0cc6b4-1111-4000-8000-00000000000f"


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingNetwork(FakeNetwork):
    """FakeNetwork that counts the port listings, and can be made to fail."""

    def __init__(self):
        super().__init__()
        self.port_listings = 0
        self.down = False

    def list_ports(self, caller, **filters):
        if self.down:
            raise RemoteError("networkd", None, "connection refused")
        self.port_listings += 1
        return super().list_ports(caller, **filters)


def headers(instance_id: str, tenant_id: str, secret: str = SECRET, **extra) -> dict:
    return {"X-Instance-ID": instance_id, "X-Tenant-ID": tenant_id,
            "X-Instance-ID-Signature": sign(secret, instance_id),
            "X-Forwarded-For": "10.0.0.5", **extra}


def add_server(deps, uuid: str, project: str, **fields) -> None:
    now = dt.datetime(2026, 1, 1)
    values = dict(uuid=uuid, display_name=f"vm-{uuid[9:13]}", hostname=f"vm-{uuid[9:13]}",
                  project_id=project, user_id="u", image_ref=IMAGE,
                  flavor={"id": "1", "name": "m1.nano"}, vcpus=1, memory_mb=128,
                  root_gb=1, ephemeral_gb=1, swap=0, vm_state=states.ACTIVE,
                  task_state=None, power_state=states.RUNNING,
                  domain_name=f"instance-{uuid[:8]}", reservation_id="r-0000abcd",
                  created_at=now, updated_at=now)
    values.update(fields)
    with transaction(deps.sessions) as session:
        session.add(Instance(**values))


def add_port(deps, network: CountingNetwork, net: dict, uuid: str, project: str) -> dict:
    port = network.add_port(net, project, device_id=uuid, device_owner="compute:nova")
    network.ports[port["id"]]["binding:vif_type"] = "tap"
    with transaction(deps.sessions) as session:
        session.add(VirtualInterface(instance_uuid=uuid, port_id=port["id"],
                                     network_id=net["id"], mac_address=port["mac_address"],
                                     created=True, status="attached",
                                     created_at=dt.datetime(2026, 1, 1)))
    return network.ports[port["id"]]


@pytest.fixture
def world(tmp_path):
    """Server A (project-a, a port on `private` with a floating IP, a key and
    user_data) and server B (project-b, no port, no user_data)."""
    network = CountingNetwork()
    deps = make_deps(tmp_path, FakeDriver(), network=network)
    net = network.add_network("private", "project-a")
    network.add_port(net, "project-a", device_owner="network:dhcp")   # 10.0.0.1
    add_server(deps, SERVER_A, "project-a", key_name="mykey", key_data="ssh-ed25519 AAAA a@b",
               user_data="IyEvYmluL3NoCmVjaG8gaGkK", meta={"course": "iaas-101"})
    port = add_port(deps, network, net, SERVER_A, "project-a")
    network.floating_ips.append({"id": "fip-1", "port_id": port["id"],
                                 "fixed_ip_address": port["fixed_ips"][0]["ip_address"],
                                 "floating_ip_address": "172.24.4.9"})
    network.groups.append({"id": "sg-default", "name": "default"})
    add_server(deps, SERVER_B, "project-b")
    clock = Clock()
    source = MetadataSource(deps, cache_seconds=15, clock=clock)
    client = create_metadata_app(source, SECRET).test_client()
    return deps, network, port, clock, client


# --- the proxy's headers -----------------------------------------------------------------
def values_of(given: dict[str, list[str]]):
    return lambda name: given.get(name, [])


@pytest.mark.parametrize("given, status, message", [
    ({}, 400, "X-Instance-ID header is missing from request."),
    ({"X-Instance-ID": ["i"], "X-Tenant-ID": ["t"]}, 400,
     "X-Instance-ID-Signature header is missing from request."),
    ({"X-Instance-ID": ["i"], "X-Instance-ID-Signature": [sign(SECRET, "i")]}, 400,
     "X-Tenant-ID header is missing from request."),
    ({"X-Instance-ID": ["i", "j"], "X-Tenant-ID": ["t"],
      "X-Instance-ID-Signature": [sign(SECRET, "i")]}, 400,
     "Multiple X-Instance-ID headers found within request."),
    ({"X-Instance-ID": ["i"], "X-Tenant-ID": ["t", "u"],
      "X-Instance-ID-Signature": [sign(SECRET, "i")]}, 400,
     "Multiple X-Tenant-ID headers found within request."),
    ({"X-Instance-ID": ["i"], "X-Tenant-ID": ["t"],
      "X-Instance-ID-Signature": [sign("another secret", "i")]}, 403,
     "Invalid proxy request signature."),
    ({"X-Instance-ID": ["j"], "X-Tenant-ID": ["t"],
      "X-Instance-ID-Signature": [sign(SECRET, "i")]}, 403,
     "Invalid proxy request signature."),
    ({"X-Instance-ID": ["i"], "X-Tenant-ID": ["t"],
      "X-Instance-ID-Signature": ["\u00e9" * 64]}, 403, "Invalid proxy request signature."),
])
def test_the_proxys_headers_are_checked_with_novas_messages(given, status, message):
    with pytest.raises(Refused) as refused:
        check(values_of(given), SECRET)
    assert (refused.value.status, refused.value.explanation) == (status, message)


def test_a_signed_request_names_its_server_project_and_guest():
    asked = check(values_of({"X-Instance-ID": ["i"], "X-Tenant-ID": ["t"],
                             "X-Instance-ID-Signature": [sign(SECRET, "i")],
                             "X-Forwarded-For": ["10.0.0.5"]}), SECRET)
    assert (asked.instance_id, asked.tenant_id, asked.forwarded_for) == ("i", "t", "10.0.0.5")


# --- the service ----------------------------------------------------------------------------
def test_the_root_answers_anyone_the_rest_needs_the_proxys_headers(world):
    *_, client = world
    root = client.get("/")
    assert root.status_code == 200 and root.text.split("\n")[-1] == "latest"
    assert root.content_type == "text/plain; charset=UTF-8"
    refused = client.get("/openstack/latest/meta_data.json")
    assert refused.status_code == 400
    assert refused.text == ("400 Bad Request\n\nX-Instance-ID header is missing from "
                            "request.\n\n   ")
    forged = client.get("/openstack", headers=headers(SERVER_A, "project-a",
                                                      secret="guessed"))
    assert forged.status_code == 403 and "Invalid proxy request signature." in forged.text


def test_a_server_reads_its_own_documents(world):
    _, _, port, _, client = world
    meta = client.get("/openstack/latest/meta_data.json",
                      headers=headers(SERVER_A, "project-a"))
    assert meta.status_code == 200 and meta.content_type == "application/json"
    body = meta.get_json()
    assert (body["uuid"], body["project_id"], body["meta"]) == (
        SERVER_A, "project-a", {"course": "iaas-101"})
    assert body["public_keys"] == {"mykey": "ssh-ed25519 AAAA a@b"}
    user_data = client.get("/openstack/latest/user_data", headers=headers(SERVER_A,
                                                                          "project-a"))
    assert user_data.data == b"#!/bin/sh\necho hi\n"
    network = json.loads(client.get("/openstack/latest/network_data.json",
                                    headers=headers(SERVER_A, "project-a")).data)
    assert network["links"] == [{"id": f"tap{port['id']}"[:14], "vif_id": port["id"],
                                 "type": "tap", "mtu": None,
                                 "ethernet_mac_address": port["mac_address"]}]
    assert network["networks"][0]["type"] == "ipv4_dhcp"
    ec2 = {name: client.get(f"/2009-04-04/meta-data/{name}",
                            headers=headers(SERVER_A, "project-a")).text
           for name in ("local-ipv4", "public-ipv4", "security-groups",
                        "public-keys/0/openssh-key", "block-device-mapping/ephemeral0")}
    assert ec2 == {"local-ipv4": port["fixed_ips"][0]["ip_address"],
                   "public-ipv4": "172.24.4.9", "security-groups": "default",
                   "public-keys/0/openssh-key": "ssh-ed25519 AAAA a@b",
                   "block-device-mapping/ephemeral0": "/dev/vdb"}


def test_no_server_reads_another_ones_documents(world):
    *_, client = world
    client.get("/openstack/latest/meta_data.json", headers=headers(SERVER_A, "project-a"))
    # A's signature does not sign B's id; B's own headers give B's documents only.
    stolen = headers(SERVER_B, "project-b")
    stolen["X-Instance-ID-Signature"] = sign(SECRET, SERVER_A)
    assert client.get("/openstack/latest/meta_data.json", headers=stolen).status_code == 403
    own = client.get("/openstack/latest/meta_data.json", headers=headers(SERVER_B,
                                                                          "project-b"))
    assert own.get_json()["uuid"] == SERVER_B and "public_keys" not in own.get_json()
    assert client.get("/openstack/latest/user_data",
                      headers=headers(SERVER_B, "project-b")).status_code == 404
    # The right signature with another project is "not found", as in Nova.
    wrong_project = client.get("/openstack/latest/meta_data.json",
                               headers=headers(SERVER_A, "project-b"))
    assert wrong_project.status_code == 404
    assert wrong_project.text == ("404 Not Found\n\nThe resource could not be found."
                                  "\n\n   ")


def test_unknown_and_deleted_servers_are_not_found_even_when_kept(world):
    deps, *_, client = world
    assert client.get("/latest/meta-data/", headers=headers(
        "6d0cc6b4-0000-4000-8000-00000000dead", "project-a")).status_code == 404
    assert client.get("/latest/meta-data/", headers=headers(SERVER_A,
                                                            "project-a")).status_code == 200
    with transaction(deps.sessions) as session:
        repo.get_instance(session, SERVER_A, None).deleted = True
    assert client.get("/latest/meta-data/", headers=headers(SERVER_A,
                                                            "project-a")).status_code == 404


def test_documents_are_kept_for_the_cache_time_then_gathered_again(world):
    _, network, _, clock, client = world
    for path in ("/openstack/latest/meta_data.json", "/latest/meta-data/hostname",
                 "/openstack/latest/network_data.json"):
        assert client.get(path, headers=headers(SERVER_A, "project-a")).status_code == 200
    assert network.port_listings == 2   # the server's ports, the networks' DHCP ports
    clock.now += 16
    client.get("/latest/meta-data/hostname", headers=headers(SERVER_A, "project-a"))
    assert network.port_listings == 4


def test_networkd_out_of_reach_is_novas_500(world):
    _, network, _, _, client = world
    network.down = True
    answer = client.get("/latest/meta-data/", headers=headers(SERVER_A, "project-a"))
    assert answer.status_code == 500
    assert "An unknown error has occurred. Please try your request again." in answer.text


def test_only_get_and_head(world):
    *_, client = world
    head = client.head("/latest/meta-data/hostname", headers=headers(SERVER_A, "project-a"))
    assert head.status_code == 200 and head.data == b""
    assert client.post("/openstack/latest/password",
                       headers=headers(SERVER_A, "project-a")).status_code == 405


# --- the facts -----------------------------------------------------------------------------
def test_ec2_ids_are_made_once_and_kept(world):
    deps, *_ = world
    first_a, first_b = gather(deps, SERVER_A), gather(deps, SERVER_B)
    again_a = gather(deps, SERVER_A)
    assert first_a is not None and first_b is not None and again_a is not None
    assert first_a.ec2_instance_id == again_a.ec2_instance_id
    assert first_a.ec2_instance_id != first_b.ec2_instance_id
    assert first_a.ec2_image_id == first_b.ec2_image_id   # the same image


def test_a_port_of_another_project_on_the_servers_id_does_not_count(world):
    deps, network, port, *_ = world
    net = network.networks[port["network_id"]]
    network.add_port(net, "intruder", device_id=SERVER_A, device_owner="compute:nova")
    facts = gather(deps, SERVER_A)
    assert facts is not None and [nic.port_id for nic in facts.nics] == [port["id"]]


def test_the_builds_device_names_and_the_dhcp_domain(world):
    deps, *_ = world
    with transaction(deps.sessions) as session:
        repo.record_device_names(session, SERVER_B, "sda", "sdb", "sdc")
    facts = gather(deps, SERVER_B, dhcp_domain="novalocal")
    assert facts is not None and facts.hostname == "vm-bbbb.novalocal"
    assert (facts.devices.root, facts.devices.ephemeral, facts.devices.swap) == (
        "/dev/sda", "/dev/sdb", "/dev/sdc")
    assert gather(deps, "6d0cc6b4-0000-4000-8000-00000000dead") is None


# --- the listener ---------------------------------------------------------------------------
def listener_conf(port: int, secret: str = "") -> SimpleNamespace:
    return SimpleNamespace(metadata=SimpleNamespace(
        enabled=True, bind_host="127.0.0.1", bind_port=port,
        metadata_proxy_shared_secret=secret, metadata_cache_expiration=15, dhcp_domain=""))


def test_the_listener_serves_on_its_port_and_a_taken_port_is_a_clear_error(world, tmp_path):
    deps, *_ = world
    state = StateLayout(tmp_path / "state")
    server = start(listener_conf(0), state, deps)   # 0: a free port, for the test
    assert server is not None
    try:
        port = server.server_port
        answer = requests.get(f"http://127.0.0.1:{port}/latest/meta-data/hostname",
                              headers=headers(SERVER_A, "project-a",
                                              secret=proxy_secret(listener_conf(0), state)),
                              timeout=10)
        assert (answer.status_code, answer.text) == (200, "vm-aaaa")
        with pytest.raises(MetadataListenError, match=r"computed.conf: \[metadata\] "
                                                      rf"bind_host/bind_port: .*:{port}"):
            start(listener_conf(port), state, deps)
    finally:
        server.shutdown()
        server.server_close()


def test_the_secret_is_the_options_else_the_stacks_generated_one(tmp_path):
    state = StateLayout(tmp_path / "state")
    assert proxy_secret(listener_conf(0, secret="from-the-config"), state) == \
        "from-the-config"
    generated = proxy_secret(listener_conf(0), state)
    assert len(generated) >= 32 and state.metadata_secret.read_text().strip() == generated
    assert oct(state.metadata_secret.stat().st_mode & 0o777) == "0o600"
    assert proxy_secret(listener_conf(0), state) == generated   # made once, then read
