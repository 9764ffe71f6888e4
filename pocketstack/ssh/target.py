"""Which server, and where to reach it.

A floating IP first: the machine reaches it through the stack's veth, as a
person outside the cloud would. Else the fixed IP, which only the stack's
network namespace routes to: the connection is made from a socket created
inside that namespace (shared/netns.py), as Neutron's routers are the only
place a tenant network is reachable from.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from pocketstack.cloud import Cloud

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
DEFAULT_LOGIN = "root"


class TargetError(RuntimeError):
    """The server cannot be reached (yet); the message says why."""


@dataclass(frozen=True)
class Address:
    ip: str
    kind: str            # "floating" or "fixed"
    network: str         # the network's name, as in the server's addresses
    fixed_ip: str        # the fixed IP behind it (itself, for a fixed address)

    @property
    def inside_namespace(self) -> bool:
        """A fixed IP is only reachable from inside the stack's namespace."""
        return self.kind == "fixed"


def find_server(cloud: Cloud, name_or_id: str) -> dict:
    """The server by id, else by exact name (one only), as the openstack
    client's find does."""
    if UUID.match(name_or_id):
        answer = cloud.get("compute", f"/servers/{name_or_id}")
        if answer.status_code == 200:
            return answer.json()["server"]
    answer = cloud.get("compute", "/servers/detail", name=f"^{re.escape(name_or_id)}$")
    if answer.status_code != 200:
        raise TargetError(f"listing servers failed: HTTP {answer.status_code}")
    servers = [s for s in answer.json()["servers"]
               if s["name"] == name_or_id or s["id"] == name_or_id]
    if not servers:
        raise TargetError(f"No server with a name or ID of '{name_or_id}' exists.")
    if len(servers) > 1:
        raise TargetError(f"More than one server named '{name_or_id}' exists; "
                          "use its ID (openstack server list).")
    return servers[0]


def refresh(cloud: Cloud, server_id: str) -> dict:
    answer = cloud.get("compute", f"/servers/{server_id}")
    if answer.status_code != 200:
        raise TargetError(f"server {server_id} is gone (HTTP {answer.status_code})")
    return answer.json()["server"]


def require_active(server: dict) -> None:
    if server["status"] != "ACTIVE":
        hint = " (try --wait)" if server["status"] == "BUILD" else \
            " (openstack server start)" if server["status"] == "SHUTOFF" else ""
        raise TargetError(f"server {server['name']} is {server['status']}, not ACTIVE{hint}")


def addresses(server: dict) -> list[Address]:
    """Floating IPs first, then fixed ones, from Nova's `addresses`."""
    found = []
    for network, entries in sorted(server.get("addresses", {}).items()):
        fixed = [e for e in entries if e.get("OS-EXT-IPS:type", "fixed") == "fixed"
                 and e.get("version") == 4]
        floating = [e for e in entries if e.get("OS-EXT-IPS:type") == "floating"]
        behind = fixed[0]["addr"] if fixed else ""
        found += [Address(e["addr"], "floating", network, behind) for e in floating]
        found += [Address(e["addr"], "fixed", network, e["addr"]) for e in fixed]
    return sorted(found, key=lambda a: a.kind != "floating")


def choose_address(server: dict) -> Address:
    found = addresses(server)
    if not found:
        raise TargetError(f"server {server['name']} has no IPv4 address (it was created "
                          "without a network: openstack server add network)")
    return found[0]


def login_user(cloud: Cloud, server: dict) -> str:
    """The image's os_admin_user (a Glance common image property), else root."""
    image = server.get("image") or {}
    if not isinstance(image, dict) or not image.get("id"):
        return DEFAULT_LOGIN
    answer = cloud.get("image", f"/v2/images/{image['id']}")
    if answer.status_code != 200:
        return DEFAULT_LOGIN
    return str(answer.json().get("os_admin_user") or DEFAULT_LOGIN)


def console(cloud: Cloud, server_id: str) -> str:
    answer = cloud.post("compute", f"/servers/{server_id}/action",
                        {"os-getConsoleOutput": {"length": None}})
    if answer.status_code != 200:
        raise TargetError(f"reading the console of server {server_id} failed: HTTP "
                          f"{answer.status_code}")
    return str(answer.json().get("output", ""))
