"""The metadata service's path through the data plane: the stack's
namespace holds 169.254.169.254/32 on its `lo`, every DHCP subnet routes
guests to it via its DHCP address (option 121), and networkd's metadata
proxy listens there with a socket made inside the namespace, forwarding
signed requests to the metadata service. The service here is a recording
stand-in on 127.0.0.1 (what is claimed is the proxy and the data plane,
not computed's documents); the guests are namespaces on tap-named veths,
plugged by the real data plane."""
from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator

import pytest

from networkd.dataplane import namespace
from networkd.metadata.instances import Instance
from networkd.metadata.listener import MetadataListener
from networkd.metadata.proxy import MetadataProxy
from shared.metadata_proxy import sign, signature_is_valid
from shared.netnames import EXTERNAL_VETH_NS_END
from shared.netns import namespace_inode
from tests.dataplane.world import run
from tests.support.guest_namespace import HTTP_REQUEST
from tests.support.metadata_upstream import RecordingMetadataService

SECRET = "dataplane-test-secret"
META_DATA = "http://169.254.169.254/openstack/latest/meta_data.json"


@pytest.fixture
def upstream() -> Iterator[RecordingMetadataService]:
    service = RecordingMetadataService({"/openstack/latest/meta_data.json": (
        200, "application/json", b'{"uuid": "from the stand-in"}')})
    yield service
    service.close()


@pytest.fixture
def servers() -> dict[str, Instance]:
    """fixed IP -> the server the proxy takes its guest for (networkd reads
    this from its database: networkd.metadata.instances)."""
    return {}


@pytest.fixture
def proxy(world, upstream, servers) -> Iterator[MetadataListener]:
    listener = MetadataListener(world.namespace,
                                MetadataProxy(servers.get, upstream.url, SECRET))
    yield listener
    listener.stop()


def lo_addresses(world) -> list[str]:
    return run("ip", "-n", world.namespace, "-4", "-o", "addr", "show", "dev", "lo"
               ).stdout.split()


def get_from_stack_namespace(world, url: str) -> dict:
    """A request made inside the stack's namespace itself."""
    result = world.in_stack(sys.executable, "-c", HTTP_REQUEST, url, "GET", "{}", "5")
    return json.loads(result.stdout)


def test_the_namespace_holds_the_metadata_address_once(world, topo):
    topo.network("private", "10.63.0.0/24")
    world.plane.apply(topo.state)
    world.plane.apply(topo.state)
    world.new_plane().apply(topo.state)          # a restarted networkd: the same
    assert lo_addresses(world).count("169.254.169.254/32") == 1
    world.plane.teardown()
    assert "169.254.169.254/32" not in lo_addresses(world)


@pytest.mark.parametrize("gateway", [True, False], ids=["routed", "isolated"])
def test_a_guest_reaches_the_proxy_by_its_dhcp_route_and_is_told_apart(
        world, topo, upstream, servers, proxy, gateway):
    topo.external()
    topo.network("private", "10.64.0.0/24", gateway=gateway)
    if gateway:
        topo.router("router1", "private", gateway_host=5)
    topo.group("default", {"direction": "egress"})
    vm = topo.port("vm", "private", 5, groups=("default",))
    stranger = topo.port("stranger", "private", 6, groups=("default",))
    guest, other = world.guest(vm), world.guest(stranger)
    world.plane.apply(topo.state)
    assert world.plane.plug(topo.state) == {vm.id, stranger.id}
    proxy.follow()
    server = Instance(str(uuid.uuid4()), "project-of-vm")
    servers[topo.ip("vm")] = server

    lease = guest.dhcp(extra=("staticroutes",))
    assert lease is not None and other.dhcp(extra=("staticroutes",)) is not None
    assert "169.254.169.254/32 10.64.0.2" in lease["staticroutes"]
    assert " via 10.64.0.2 " in guest.route_to("169.254.169.254")

    # The guest claims to be another instance: its headers are not forwarded.
    pretended = str(uuid.uuid4())
    answer = guest.http(META_DATA, headers={
        "X-Instance-ID": pretended, "X-Tenant-ID": "someone-else",
        "X-Instance-ID-Signature": sign(SECRET, pretended)})
    assert answer == {"status": 200, "content_type": "application/json",
                      "body": '{"uuid": "from the stand-in"}'}
    [sent] = upstream.requests
    headers = upstream.headers()
    assert sent["path"] == "/openstack/latest/meta_data.json"
    assert headers["x-instance-id"] == server.id
    assert headers["x-tenant-id"] == server.project_id
    assert signature_is_valid(SECRET, server.id, headers["x-instance-id-signature"])
    assert headers["x-forwarded-for"] == topo.ip("vm")
    assert pretended not in json.dumps(sent["headers"])

    # A guest that is no server's gets 404 from the proxy, and nothing goes on.
    assert other.http(META_DATA)["status"] == 404
    assert len(upstream.requests) == 1


def test_security_groups_do_not_stand_between_a_guest_and_its_metadata(
        world, topo, servers, proxy):
    # What a guest sends the namespace itself is no security-group matter
    # (networkd/README.md): a group without a single egress rule still reads it.
    topo.network("private", "10.67.0.0/24")
    topo.group("closed")
    vm = topo.port("vm", "private", 5, groups=("closed",))
    guest = world.guest(vm)
    world.plane.apply(topo.state)
    world.plane.plug(topo.state)
    proxy.follow()
    servers[topo.ip("vm")] = Instance(str(uuid.uuid4()), "project-of-vm")
    assert guest.dhcp(extra=("staticroutes",)) is not None
    assert guest.http(META_DATA)["status"] == 200


def test_the_proxy_listens_again_in_a_namespace_made_anew(world, topo, proxy):
    topo.network("private", "10.66.0.0/24")
    proxy.follow()                                # the address is not there yet
    assert proxy.listening_in is None
    world.plane.apply(topo.state)
    proxy.follow()
    first = namespace_inode(world.namespace)
    assert proxy.listening_in == first
    assert get_from_stack_namespace(world, META_DATA)["status"] == 404  # no server's address

    # Made anew between two passes: the proxy still holds the old namespace
    # (its socket is in it), so the new one cannot have its inode number.
    namespace.remove(world.namespace, world.host_veth)
    remake_namespace(world)
    world.plane.apply(topo.state)
    proxy.follow()
    assert proxy.listening_in == namespace_inode(world.namespace) != first
    assert get_from_stack_namespace(world, META_DATA)["status"] == 404

    # Gone at a pass, back at a later one.
    namespace.remove(world.namespace, world.host_veth)
    proxy.follow()
    assert proxy.listening_in is None
    remake_namespace(world)
    world.plane.apply(topo.state)
    proxy.follow()
    assert proxy.listening_in == namespace_inode(world.namespace)
    assert get_from_stack_namespace(world, META_DATA)["status"] == 404


def remake_namespace(world) -> None:
    namespace.ensure(world.namespace, world.host_veth, EXTERNAL_VETH_NS_END,
                     f"{world.gateway}/{world.external.prefixlen}")
