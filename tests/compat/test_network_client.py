"""The unmodified python-openstackclient from PyPI against networkd:
network, subnet and port create/list/show/set/delete, and quota show
(which reads networkd's quotas once `network` is in the catalog)."""
from __future__ import annotations

import json

import pytest

from tests.support.network_api import cidr, unique

pytestmark = pytest.mark.compat
OCTET = 205


def as_json(result) -> object:
    return json.loads(result.stdout)


def show(stack, kind: str, name: str, cloud: str = "pocketstack") -> dict:
    found = as_json(stack.openstack(kind, "show", name, "-f", "json", cloud=cloud))
    assert isinstance(found, dict)
    return found


def test_network_subnet_and_port_lifecycle_with_the_real_client(stack):
    net, sub, port = unique("clinet"), unique("clisub"), unique("cliport")
    block = cidr(OCTET)
    base = block.rsplit(".", 1)[0]
    try:
        created = as_json(stack.openstack("network", "create", "--description", "from the cli",
                                          "--tag", "lab", net, "-f", "json"))
        assert created["name"] == net and created["status"] == "ACTIVE"
        assert created["router:external"] is False and created["shared"] is False
        listed = as_json(stack.openstack("network", "list", "-f", "json"))
        assert {"public", "private", net} <= {n["Name"] for n in listed}
        stack.openstack("network", "set", "--name", net + "-b", "--description", "changed",
                        "--disable", net)
        shown = show(stack, "network", net + "-b")
        assert shown["description"] == "changed" and shown["admin_state_up"] is False
        assert shown["tags"] == ["lab"]

        created = as_json(stack.openstack(
            "subnet", "create", "--network", net + "-b", "--subnet-range", block,
            "--allocation-pool", f"start={base}.10,end={base}.100",
            "--dns-nameserver", "192.0.2.53",
            "--host-route", f"destination=192.168.90.0/24,gateway={base}.5",
            sub, "-f", "json"))
        assert created["cidr"] == block and created["gateway_ip"] == f"{base}.1"
        assert created["allocation_pools"] == [{"start": f"{base}.10", "end": f"{base}.100"}]
        assert created["dns_nameservers"] == ["192.0.2.53"]
        assert created["host_routes"] == [{"destination": "192.168.90.0/24",
                                           "nexthop": f"{base}.5"}]
        listed = as_json(stack.openstack("subnet", "list", "--network", net + "-b",
                                         "-f", "json"))
        assert [s["Name"] for s in listed] == [sub]
        stack.openstack("subnet", "set", "--name", sub + "-b", "--no-dhcp",
                        "--dns-nameserver", "192.0.2.54", sub)
        shown = show(stack, "subnet", sub + "-b")
        assert shown["enable_dhcp"] is False
        assert set(shown["dns_nameservers"]) == {"192.0.2.53", "192.0.2.54"}

        created = as_json(stack.openstack(
            "port", "create", "--network", net + "-b",
            "--fixed-ip", f"subnet={sub}-b,ip-address={base}.42", port, "-f", "json"))
        assert created["name"] == port and created["mac_address"].startswith("fa:16:3e:")
        [address] = created["fixed_ips"]
        assert address["ip_address"] == f"{base}.42"
        listed = as_json(stack.openstack("port", "list", "--network", net + "-b",
                                         "-f", "json"))
        assert port in {p["Name"] for p in listed}
        by_ip = as_json(stack.openstack("port", "list", "--fixed-ip",
                                        f"ip-address={base}.42", "-f", "json"))
        assert [p["Name"] for p in by_ip] == [port]
        stack.openstack("port", "set", "--name", port + "-b", "--description", "nic",
                        "--fixed-ip", f"ip-address={base}.43", port)
        shown = show(stack, "port", port + "-b")
        assert shown["description"] == "nic"
        assert f"{base}.43" in {ip["ip_address"] for ip in shown["fixed_ips"]}
        assert shown["status"] == "DOWN"

        stack.openstack("port", "delete", port + "-b")
        stack.openstack("subnet", "delete", sub + "-b")
        stack.openstack("network", "delete", net + "-b")
        gone = stack.openstack("network", "show", net + "-b", check=False)
        assert gone.returncode != 0 and "No Network found" in gone.stderr
    finally:
        for kind, name in (("port", port), ("port", port + "-b"), ("subnet", sub),
                           ("subnet", sub + "-b"), ("network", net), ("network", net + "-b")):
            stack.openstack(kind, "delete", name, check=False)


def test_errors_reach_the_user_with_neutrons_message(stack):
    net = unique("clierr")
    try:
        stack.openstack("network", "create", net)
        refused = stack.openstack("subnet", "create", "--network", net, "--subnet-range",
                                  "10.0.0.0/24", unique("clierr"), check=False)
        assert refused.returncode != 0
        assert "overlaps with another subnet" in refused.stderr
        shared = stack.openstack("network", "create", "--share", unique("clierr"), check=False)
        assert shared.returncode != 0
        assert "create_network:shared" in shared.stderr
    finally:
        stack.openstack("network", "delete", net, check=False)


def quotas(stack, *args: str, cloud: str = "pocketstack") -> dict:
    shown = as_json(stack.openstack("quota", "show", "--network", *args, "-f", "json",
                                    cloud=cloud))
    assert isinstance(shown, list), shown
    return {row["Resource"]: row for row in shown}


def test_quota_show_reads_networkds_quotas(stack):
    limits = {name: row["Limit"] for name, row in quotas(stack).items()
              if row["Limit"] is not None}
    assert limits == {"networks": 100, "subnets": 100, "ports": 500, "routers": 10,
                      "floating_ips": 50, "security_groups": 10,
                      "security_group_rules": 100}
    usage = quotas(stack, "--usage")
    assert usage["networks"]["In Use"] >= 1  # private, made at first start
    assert usage["ports"]["In Use"] >= 1     # its DHCP port
    assert usage["ports"]["Reserved"] == 0
    defaults = quotas(stack, "--default", "demo", cloud="pocketstack-admin")
    assert defaults["ports"]["Limit"] == 500


def test_plain_quota_show_reads_compute_volume_and_network_quotas(stack):
    """`openstack quota show` with no service option asks computed,
    volumed and networkd, and shows all three."""
    shown = as_json(stack.openstack("quota", "show", "-f", "json"))
    assert isinstance(shown, list), shown
    limits = {row["Resource"]: row["Limit"] for row in shown}
    assert limits["instances"] == 10 and limits["cores"] == 20 and limits["ram"] == 51200
    assert limits["networks"] == 100 and limits["ports"] == 500
    assert "volumes" in limits
    usage = {row["Resource"]: row for row in as_json(
        stack.openstack("quota", "show", "--usage", "-f", "json"))}
    assert usage["instances"]["In Use"] >= 0 and usage["networks"]["In Use"] >= 1
