"""dnsmasq's files and command line for a network (pure)."""
from __future__ import annotations

from pathlib import Path

import pytest

from networkd.dataplane.contract import DataPlaneError
from networkd.dataplane.dhcp import command, hosts_file, opts_file
from networkd.dataplane.model import Network, Port, Subnet

FIRST = Subnet("s-1", "10.0.0.0/24", "10.0.0.1", True, dhcp_ip="10.0.0.2",
               dns_nameservers=("10.0.0.53", "10.0.0.54"))
SECOND = Subnet("s-2", "10.0.1.0/25", None, True, dhcp_ip="10.0.1.2",
                host_routes=(("192.168.0.0/16", "10.0.1.254"),))
NO_DHCP = Subnet("s-3", "10.0.2.0/24", "10.0.2.1", False)
NETWORK = Network("n-1", "brqn-1", False, mtu=1450, subnets=(FIRST, SECOND, NO_DHCP))


def port(name: str, *ips: tuple[str, str], network: str = "n-1", hostname: str = "") -> Port:
    return Port(f"p-{name}", network, f"FA:16:3E:00:00:0{name}", ips, f"tap{name}",
                hostname=hostname)


def test_hosts_lists_the_ports_fixed_ips_in_dhcp_subnets():
    ports = [port("2", ("s-2", "10.0.1.9"), ("s-3", "10.0.2.9"), hostname="host-10-0-1-9"),
             port("1", ("s-1", "10.0.0.5"), ("s-2", "10.0.1.5"), hostname="vm-one"),
             port("3", ("s-1", "10.0.0.7"), network="elsewhere")]
    assert hosts_file(NETWORK, ports) == (
        "fa:16:3e:00:00:01,vm-one,10.0.0.5\n"
        "fa:16:3e:00:00:01,host-10-0-1-5,10.0.1.5\n"
        "fa:16:3e:00:00:02,host-10-0-1-9,10.0.1.9\n")


def test_a_bad_hostname_falls_back_and_a_bad_mac_is_refused():
    assert hosts_file(NETWORK, [port("1", ("s-1", "10.0.0.5"), hostname="x\ny")]) == (
        "fa:16:3e:00:00:01,host-10-0-0-5,10.0.0.5\n")
    bad = Port("p-9", "n-1", "fa:16:3e:00:00:09\nfa:16:3e:00:00:01", (("s-1", "10.0.0.9"),),
               "tap9")
    with pytest.raises(DataPlaneError):
        hosts_file(NETWORK, [bad])


def test_options_per_subnet():
    assert opts_file(NETWORK).splitlines() == [
        "tag:subnet-s-1,option:router,10.0.0.1",
        "tag:subnet-s-1,option:dns-server,10.0.0.53,10.0.0.54",
        "tag:subnet-s-1,option:classless-static-route,"
        "169.254.169.254/32,10.0.0.2,0.0.0.0/0,10.0.0.1",
        "tag:subnet-s-1,249,169.254.169.254/32,10.0.0.2,0.0.0.0/0,10.0.0.1",
        "tag:subnet-s-1,option:mtu,1450",
        "tag:subnet-s-2,option:router",
        "tag:subnet-s-2,option:classless-static-route,"
        "192.168.0.0/16,10.0.1.254,169.254.169.254/32,10.0.1.2",
        "tag:subnet-s-2,249,192.168.0.0/16,10.0.1.254,169.254.169.254/32,10.0.1.2",
        "tag:subnet-s-2,option:mtu,1450",
    ]


def test_classless_routes_carry_the_metadata_and_default_routes():
    routed = Subnet("s-4", "10.0.4.0/24", "10.0.4.1", True, dhcp_ip="10.0.4.2",
                    host_routes=(("10.9.0.0/16", "10.0.4.9"),))
    text = opts_file(Network("n-4", "brqn-4", False, subnets=(routed,)))
    assert "tag:subnet-s-4,option:classless-static-route,10.9.0.0/16,10.0.4.9," \
           "169.254.169.254/32,10.0.4.2,0.0.0.0/0,10.0.4.1\n" in text
    assert "mtu" not in text


def test_a_subnets_own_default_and_metadata_routes_win():
    # No gateway: the host route to 0.0.0.0/0 is the router (Neutron's rule);
    # a host route to the metadata address replaces networkd's.
    own = Subnet("s-5", "10.0.5.0/24", None, True, dhcp_ip="10.0.5.2",
                 host_routes=(("0.0.0.0/0", "10.0.5.254"), ("169.254.169.254/32", "10.0.5.9")))
    assert opts_file(Network("n-5", "brqn-5", False, subnets=(own,))).splitlines()[:2] == [
        "tag:subnet-s-5,option:router,10.0.5.254",
        "tag:subnet-s-5,option:classless-static-route,"
        "169.254.169.254/32,10.0.5.9,0.0.0.0/0,10.0.5.254",
    ]


def test_command_line():
    directory = Path("/state/lib/networkd/dhcp/n-1")
    assert command(NETWORK, directory) == [
        "dnsmasq", "--conf-file=/dev/null", "--user=root", "--bind-interfaces",
        "--interface=brqn-1", "--except-interface=lo",
        "--listen-address=10.0.0.2", "--listen-address=10.0.1.2", "--port=0",
        "--dhcp-range=set:subnet-s-1,10.0.0.0,static,255.255.255.0,86400s",
        "--dhcp-range=set:subnet-s-2,10.0.1.0,static,255.255.255.128,86400s",
        f"--dhcp-hostsfile={directory}/hosts", f"--dhcp-optsfile={directory}/opts",
        "--leasefile-ro", "--no-hosts", "--no-resolv", f"--pid-file={directory}/pid",
        "--dhcp-authoritative", f"--log-facility={directory}/log",
    ]


def test_ids_unfit_for_a_tag_are_refused():
    odd = Subnet("s,1", "10.0.0.0/24", "10.0.0.1", True, dhcp_ip="10.0.0.2")
    with pytest.raises(DataPlaneError):
        opts_file(Network("n-1", "brqn-1", False, subnets=(odd,)))
