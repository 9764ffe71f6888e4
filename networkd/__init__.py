"""networkd: instance networking, a Neutron v2.0 subset.

The API (networks, subnets, ports, routers, floating IPs, security groups,
quotas) keeps its state in a database; the data plane (networkd.dataplane)
makes that state real inside the stack's network namespace: bridges, DHCP,
routing, NAT and firewall rules.
"""
