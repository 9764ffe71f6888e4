"""networkd's metadata proxy without a kernel: which server a source
address is (a real SQLite database filled by networkd's own functions), and
what the proxy sends to the metadata service and answers the guest (a real
HTTP server on loopback standing for computed's metadata service, which
records what it was sent)."""
from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator

import pytest
import requests

from networkd import networks, ports, subnets
from networkd.access import Access
from networkd.call import Call
from networkd.config import QUOTA_DEFAULTS
from networkd.metadata.instances import Instance, instance_at
from networkd.metadata.listener import ProxyHTTPServer
from networkd.metadata.proxy import UNKNOWN_ERROR, MetadataProxy
from networkd.policies import RULES
from networkd.settings import Settings
from shared.context import RequestContext
from shared.db import transaction
from shared.events import Notifier
from shared.metadata_proxy import sign, signature_is_valid
from shared.policy import PolicyEnforcer
from tests.support.metadata_upstream import RecordingMetadataService
from tests.unit.networkd_db import networkd_database

SECRET = "s3cret-for-tests"
SERVER = "0b5a4f5e-52c5-4b7e-9d55-8d3c6a1f0a11"
GUEST = "10.9.0.3"


# --- which server a source address is ---------------------------------------------------
@pytest.fixture
def sessions(tmp_path):
    yield from networkd_database(tmp_path)


def as_member(sessions, tmp_path, work, project: str = "p1"):
    """One request of a member of `project`: `work(call)` in one transaction."""
    ctx = RequestContext(request_id="req-1", user_id="u1", project_id=project,
                         roles=["member", "reader"])
    with transaction(sessions) as session:
        call = Call(session, Access(PolicyEnforcer(RULES, tmp_path / "policy.yaml"), ctx),
                    Settings(quota_defaults=dict(QUOTA_DEFAULTS)), Notifier("networkd", sessions))
        return work(call)


def test_a_source_address_is_the_server_of_the_compute_port_holding_it(sessions, tmp_path):
    def network(call: Call) -> str:
        made = networks.create(call, {"network": {"name": "n"}})
        subnets.create(call, {"subnet": {"network_id": made.id, "cidr": "10.9.0.0/24",
                                         "ip_version": 4}})
        return made.id

    network_id = as_member(sessions, tmp_path, network)

    def port(owner: str, address: str, device_id: str = "") -> None:
        as_member(sessions, tmp_path, lambda call: ports.create(call, {"port": {
            "network_id": network_id, "device_owner": owner, "device_id": device_id,
            "fixed_ips": [{"ip_address": address}]}}))

    port("compute:nova", GUEST, SERVER)
    port("compute:az-2", "10.9.0.4", "another-server")
    port("", "10.9.0.5", "not-a-server")              # a port no server uses
    port("compute:nova", "10.9.0.6")                  # a server's port without its id

    assert instance_at(sessions, GUEST) == Instance(SERVER, "p1")
    assert instance_at(sessions, "10.9.0.4") == Instance("another-server", "p1")
    assert instance_at(sessions, "10.9.0.2") is None  # the DHCP port's
    assert instance_at(sessions, "10.9.0.5") is None
    assert instance_at(sessions, "10.9.0.6") is None
    assert instance_at(sessions, "10.9.0.77") is None  # nobody's


# --- what the proxy sends and answers ---------------------------------------------------
@pytest.fixture
def upstream() -> Iterator[RecordingMetadataService]:
    running = RecordingMetadataService({"/openstack/latest/meta_data.json": (
        200, "application/json", json.dumps({"uuid": SERVER}).encode())})
    yield running
    running.close()


def proxy_to(upstream_url: str) -> MetadataProxy:
    """The proxy, for which only GUEST is a server."""
    return MetadataProxy({GUEST: Instance(SERVER, "p1")}.get, upstream_url, SECRET)


@pytest.fixture
def over_http(upstream) -> Iterator[str]:
    """The proxy's HTTP server on a loopback socket; its URL. Requests come
    from 127.0.0.1, which is the server here."""
    listening = socket.create_server(("127.0.0.1", 0))
    server = ProxyHTTPServer(listening, MetadataProxy(
        {"127.0.0.1": Instance(SERVER, "p1")}.get, upstream.url, SECRET))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listening.getsockname()[1]}"
    server.shutdown()
    server.server_close()


def test_a_request_goes_on_signed_and_the_answer_comes_back(upstream):
    answer = proxy_to(upstream.url).answer("GET", "/openstack/latest/meta_data.json", GUEST)
    assert (answer.status, answer.content_type) == (200, "application/json")
    assert json.loads(answer.body) == {"uuid": SERVER}
    [sent] = upstream.requests
    assert (sent["method"], sent["path"]) == ("GET", "/openstack/latest/meta_data.json")
    headers = upstream.headers()
    assert headers["x-instance-id"] == SERVER and headers["x-tenant-id"] == "p1"
    assert headers["x-forwarded-for"] == GUEST
    assert signature_is_valid(SECRET, SERVER, headers["x-instance-id-signature"])


def test_status_type_query_string_and_head_pass_through(upstream):
    proxy = proxy_to(upstream.url)
    missing = proxy.answer("GET", "/openstack/latest/user_data?x=1", GUEST)
    assert (missing.status, missing.content_type, missing.body) == \
        (404, "text/plain", b"404 Not Found\n")
    assert upstream.requests[-1]["path"] == "/openstack/latest/user_data?x=1"
    head = proxy.answer("HEAD", "/openstack/latest/meta_data.json", GUEST)
    assert (head.status, head.body) == (200, b"")
    assert head.content_length == len(json.dumps({"uuid": SERVER}))
    assert upstream.requests[-1]["method"] == "HEAD"


def test_the_target_never_names_another_host(upstream):
    proxy = proxy_to(upstream.url)
    assert proxy.upstream_url("http://evil.example/latest?a=b") == upstream.url + "/latest?a=b"
    assert proxy.upstream_url("//evil.example/latest") == upstream.url + "/latest"
    assert proxy.upstream_url("latest") == upstream.url + "/latest"


def test_an_unknown_source_gets_404_and_nothing_is_forwarded(upstream):
    answer = proxy_to(upstream.url).answer("GET", "/openstack/latest/meta_data.json",
                                           "10.9.0.200")
    assert answer.status == 404
    assert upstream.requests == []


def test_an_unreachable_metadata_service_is_500_and_a_log_line(caplog):
    with socket.socket() as probe:                 # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    with caplog.at_level(logging.ERROR, logger="networkd.metadata.proxy"):
        answer = proxy_to(closed).answer("GET", "/openstack/latest/meta_data.json", GUEST)
    assert answer.status == 500
    assert answer.body.decode().strip() == UNKNOWN_ERROR
    [record] = caplog.records
    assert "cannot be reached" in record.getMessage() and closed in record.getMessage()
    assert SECRET not in record.getMessage()


# --- over HTTP: what the guest's request carries -----------------------------------------
def test_the_guests_own_identity_headers_are_never_forwarded(upstream, over_http):
    other = "11111111-2222-3333-4444-555555555555"
    answer = requests.get(f"{over_http}/openstack/latest/meta_data.json", timeout=10, headers={
        "X-Instance-ID": other, "X-Tenant-ID": "p2",
        "X-Instance-ID-Signature": sign(SECRET, other),
        "X-Forwarded-For": "10.9.0.99", "X-Anything": "from the guest"})
    assert answer.status_code == 200 and answer.json() == {"uuid": SERVER}
    assert answer.headers["Content-Type"] == "application/json"
    [sent] = upstream.requests
    headers = upstream.headers()
    assert headers["x-instance-id"] == SERVER and headers["x-tenant-id"] == "p1"
    assert headers["x-instance-id-signature"] == sign(SECRET, SERVER)
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert "x-anything" not in headers
    assert other not in json.dumps(sent["headers"])


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_other_methods_get_405(upstream, over_http, method):
    answer = requests.request(method, f"{over_http}/openstack/2013-04-04/password",
                              data=b"secret", timeout=10)
    assert answer.status_code == 405
    assert answer.headers["Allow"] == "GET, HEAD"
    assert upstream.requests == []
