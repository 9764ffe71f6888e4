"""networkd's metadata side on a real stack, without a VM: a guest
namespace on a port of the demo project's `private` network (its tap
plugged by networkd's agent, as libvirt's would be) gets the route to
169.254.169.254 from dnsmasq, and networkd's proxy answers there; a port
that is no server's gets 404 from the proxy itself. The first start opened
ssh and ping in the demo project's `default` group. What the proxy forwards
for a server is claimed by test_metadata_cloudinit.py, against computed's
real metadata service."""
from __future__ import annotations

import pytest

from tests.support.guest_namespace import plugged_guest
from tests.support.network import networking_fixture

pytestmark = pytest.mark.e2e

META_DATA = "http://169.254.169.254/openstack/latest/meta_data.json"

demo_net = networking_fixture("demo")
admin_net = networking_fixture("admin")


def test_the_demo_projects_default_group_lets_in_ssh_and_ping(demo_net):
    [group] = demo_net.list("security_group", name="default")
    opened = {(r["protocol"], r["port_range_min"], r["port_range_max"]): r["description"]
              for r in group["security_group_rules"]
              if r["direction"] == "ingress" and r["remote_ip_prefix"] == "0.0.0.0/0"}
    assert "first start" in opened[("tcp", 22, 22)] and "ssh" in opened[("tcp", 22, 22)]
    assert "first start" in opened[("icmp", None, None)]


def test_a_guest_is_routed_to_the_proxy_which_answers_only_servers(demo_net, admin_net,
                                                                   tmp_path):
    private = demo_net.find("network", "private")
    [dhcp_port] = admin_net.list("port", network_id=private["id"], device_owner="network:dhcp")
    dhcp_ip = dhcp_port["fixed_ips"][0]["ip_address"]
    guest, port = plugged_guest(admin_net, private["id"], tmp_path, device_owner="")
    try:
        lease = guest.dhcp(extra=("staticroutes",))
        assert lease is not None and lease["ip"] == port["fixed_ips"][0]["ip_address"]
        assert f"169.254.169.254/32 {dhcp_ip}" in lease["staticroutes"]
        assert f" via {dhcp_ip} " in guest.route_to("169.254.169.254")
        # device_owner "": no server's port, so the proxy answers 404 itself.
        assert guest.http(META_DATA)["status"] == 404
    finally:
        guest.close()
