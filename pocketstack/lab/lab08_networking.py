"""Lab 08: networking and SSH (labs/08-networking.md).

What the steps leave behind: a security group lab8-ssh letting tcp 22 in; a
key pair lab8-key; a server lab8-vm on `private` in that group with that
key, whose port networkd built in the stack's namespace (its MAC in the
DHCP hosts file, its address in the nftables rules); and a floating IP
(described `lab8`) on it, with its NAT rule in the namespace.
"""
from __future__ import annotations

from pocketstack.lab import cleanup, host
from pocketstack.lab.base import Lab, LabContext, NotYet, Requirement

GROUP, KEY, SERVER, NETWORK = "lab8-ssh", "lab8-key", "lab8-vm", "private"
FLOATING_IP_DESCRIPTION = "lab8"


def group_allows_ssh(context: LabContext) -> None:
    groups = context.user.get("network", "/v2.0/security-groups",
                              name=GROUP).json()["security_groups"]
    if not groups:
        raise NotYet(f"no security group {GROUP}")
    if not any(rule["direction"] == "ingress" and rule["protocol"] == "tcp"
               and (rule["port_range_min"] or 0) <= 22 <= (rule["port_range_max"] or 65535)
               for rule in groups[0]["security_group_rules"]):
        raise NotYet(f"{GROUP} has no ingress rule for tcp 22")


def key_pair(context: LabContext) -> None:
    if context.user.get("compute", f"/os-keypairs/{KEY}").status_code != 200:
        raise NotYet(f"no key pair {KEY}")


def the_server(context: LabContext) -> dict:
    found = context.user.get("compute", "/servers/detail",
                             name=f"^{SERVER}$").json()["servers"]
    if not found:
        raise NotYet(f"no server {SERVER}")
    return found[0]


def server_made(context: LabContext) -> None:
    server = the_server(context)
    groups = sorted(group["name"] for group in server.get("security_groups", []))
    if (server["status"], server["key_name"], NETWORK in server["addresses"]) \
            != ("ACTIVE", KEY, True) or GROUP not in groups:
        raise NotYet(f"{SERVER} is {server['status']}, key pair {server['key_name']}, "
                     f"networks {sorted(server['addresses'])}, groups {groups}")


def the_port(context: LabContext) -> dict:
    ports = context.user.get("network", "/v2.0/ports",
                             device_id=the_server(context)["id"]).json()["ports"]
    if not ports:
        raise NotYet(f"{SERVER} has no port")
    return ports[0]


def port_built(context: LabContext) -> None:
    port = the_port(context)
    address = port["fixed_ips"][0]["ip_address"]
    hosts = "".join(path.read_text() for path in
                    (context.state.lib / "networkd" / "dhcp").glob("*/hosts"))
    if f"{port['mac_address']},host-" not in hosts:
        raise NotYet(f"no DHCP host entry for {port['mac_address']}")
    rules = host.in_namespace(context.state, "nft", "list", "ruleset")
    if port["mac_address"] not in rules or address not in rules:
        raise NotYet(f"no nftables rule for {port['mac_address']} / {address} "
                     "in the stack's namespace")


def floating_ip(context: LabContext) -> None:
    port = the_port(context)
    found = context.user.get("network", "/v2.0/floatingips",
                             port_id=port["id"]).json()["floatingips"]
    if not found:
        raise NotYet(f"{SERVER} has no floating IP")
    address = found[0]["floating_ip_address"]
    if f"dnat ip to {port['fixed_ips'][0]['ip_address']}" not in "\n".join(
            line for line in host.in_namespace(context.state, "nft", "list",
                                               "ruleset").splitlines() if address in line):
        raise NotYet(f"no DNAT rule for {address} in the stack's namespace")


class Networking(Lab):
    number = 8
    title = "networking and SSH"
    text = "08-networking.md"

    def requirements(self) -> list[Requirement]:
        return [
            Requirement(f"a security group {GROUP} letting SSH (tcp 22) in", group_allows_ssh,
                        f"step 2: openstack security group create {GROUP}, then security "
                        "group rule create --ingress --protocol tcp --dst-port 22"),
            Requirement(f"a key pair {KEY}", key_pair,
                        f"step 3: openstack keypair create {KEY}"),
            Requirement(f"a server {SERVER} on {NETWORK}, in {GROUP}, with {KEY}", server_made,
                        f"step 3: openstack server create ... --security-group {GROUP} "
                        f"--key-name {KEY} --wait {SERVER}"),
            Requirement(f"{SERVER}'s port built in the stack's namespace (DHCP, nftables)",
                        port_built, f"step 3: wait until {SERVER} is ACTIVE (--wait)"),
            Requirement(f"a floating IP on {SERVER}, NATed in the stack's namespace",
                        floating_ip, "step 5: openstack floating ip create --description "
                        f"{FLOATING_IP_DESCRIPTION} public, then server add floating ip"),
        ]

    def reset(self, context: LabContext) -> list[str]:
        return (cleanup.delete_floating_ips(context.user, FLOATING_IP_DESCRIPTION)
                + cleanup.delete_servers(context.admin, [SERVER])
                + cleanup.delete_security_groups(context.user, [GROUP])
                + cleanup.delete_keypairs(context.user, [KEY]))


LAB = Networking()
