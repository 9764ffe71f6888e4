"""Helpers for the networking tests: a small client of networkd's API for
one user (with cleanup of what it made), and looks into the stack's network
namespace (its links, nftables rules and DHCP hosts files), where every
test packet goes."""
from __future__ import annotations

import configparser
import contextlib
import subprocess

import pytest
import requests

from shared.netnames import external_veth_host_end, stack_namespace


class Networking:
    """networkd's API for one user; `cleanup()` deletes what it made, newest
    first (floating IPs, router links and ports before their networks)."""

    def __init__(self, stack, user: str = "demo", token: str | None = None):
        self.stack = stack
        self.token = token or stack.token(user)
        self.url = stack.url("networkd") + "/v2.0"
        self.made: list[tuple[str, str]] = []      # (collection, id)
        self.links: list[tuple[str, str]] = []     # (router id, subnet id)

    @staticmethod
    def path(collection: str) -> str:
        """A collection's URL: security_group -> /security-groups (Neutron's)."""
        return "/" + collection.replace("_", "-") + "s"

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {"X-Auth-Token": self.token, **kwargs.pop("headers", {})}
        return requests.request(method, f"{self.url}{path}", headers=headers, timeout=60,
                                **kwargs)

    def create(self, collection: str, expect: int = 201, **fields) -> dict:
        """POST /v2.0/<collection>s {<collection>: fields}; returns the resource."""
        response = self.call("POST", self.path(collection), json={collection: fields})
        assert response.status_code == expect, response.text
        resource = response.json()[collection]
        self.made.append((collection, resource["id"]))
        return resource

    def update(self, collection: str, resource_id: str, **fields) -> dict:
        response = self.call("PUT", f"{self.path(collection)}/{resource_id}",
                             json={collection: fields})
        assert response.status_code == 200, response.text
        return response.json()[collection]

    def show(self, collection: str, resource_id: str) -> dict:
        response = self.call("GET", f"{self.path(collection)}/{resource_id}")
        assert response.status_code == 200, response.text
        return response.json()[collection]

    def list(self, collection: str, **filters) -> list[dict]:
        response = self.call("GET", self.path(collection), params=filters)
        assert response.status_code == 200, response.text
        return response.json()[f"{collection}s"]

    def delete(self, collection: str, resource_id: str) -> None:
        response = self.call("DELETE", f"{self.path(collection)}/{resource_id}")
        assert response.status_code in (204, 404), response.text

    def find(self, collection: str, name: str) -> dict:
        found = self.list(collection, name=name)
        assert len(found) == 1, f"{len(found)} {collection}s named {name}"
        return found[0]

    # --- topologies -------------------------------------------------------------------
    def network_with_subnet(self, name: str, cidr: str) -> tuple[dict, dict]:
        network = self.create("network", name=name)
        subnet = self.create("subnet", name=f"{name}-subnet", network_id=network["id"],
                             cidr=cidr, ip_version=4)
        return network, subnet

    def routed_network(self, name: str, cidr: str, external_id: str) -> tuple[dict, dict]:
        """A network whose subnet is an interface of its own router, with a
        gateway on the external network (a project's usual topology)."""
        network, subnet = self.network_with_subnet(name, cidr)
        router = self.create("router", name=f"{name}-router",
                             external_gateway_info={"network_id": external_id})
        self.add_interface(router["id"], subnet["id"])
        return network, subnet

    def add_interface(self, router_id: str, subnet_id: str) -> None:
        response = self.call("PUT", f"/routers/{router_id}/add_router_interface",
                             json={"subnet_id": subnet_id})
        assert response.status_code == 200, response.text
        self.links.append((router_id, subnet_id))

    def security_group(self, name: str, *rules: dict) -> dict:
        group = self.create("security_group", name=name)
        for rule in rules:
            self.rule(group["id"], **rule)
        return group

    def rule(self, group_id: str, **fields) -> dict:
        fields.setdefault("direction", "ingress")
        fields.setdefault("ethertype", "IPv4")
        return self.create("security_group_rule", security_group_id=group_id, **fields)

    def allow_ssh(self, group_id: str) -> None:
        """Ingress tcp 22 in the group (a 409 says the rule exists already);
        a rule made here goes with the other resources at cleanup."""
        response = self.call("POST", "/security-group-rules", json={"security_group_rule": {
            "security_group_id": group_id, "direction": "ingress", "ethertype": "IPv4",
            "protocol": "tcp", "port_range_min": 22, "port_range_max": 22,
            "remote_ip_prefix": "0.0.0.0/0"}})
        assert response.status_code in (201, 409), response.text
        if response.status_code == 201:
            self.made.append(("security_group_rule",
                              response.json()["security_group_rule"]["id"]))

    def cleanup(self) -> None:
        """Floating IPs first (a router interface they use cannot go), then
        the router interfaces, then the rest newest first; a network goes
        with whatever ports are still on it (another user's fixture may be
        torn down after this one), so no test leaves a network behind for
        the next module's "the project's only network"."""
        made = list(reversed(self.made))
        for collection, resource_id in made:
            if collection == "floatingip":
                self._quietly(self.delete, collection, resource_id)
        for router_id, subnet_id in reversed(self.links):
            self._quietly(self.call, "PUT", f"/routers/{router_id}/remove_router_interface",
                          json={"subnet_id": subnet_id})
        for collection, resource_id in made:
            if collection == "router":
                self._quietly(self.call, "PUT", f"/routers/{resource_id}",
                              json={"router": {"external_gateway_info": {}}})
            if collection == "network":
                for port in self._quietly(self.list, "port", network_id=resource_id) or []:
                    if not port["device_owner"].startswith("network:"):
                        self._quietly(self.delete, "port", port["id"])
            self._quietly(self.delete, collection, resource_id)

    @staticmethod
    def _quietly(call, *args, **kwargs):
        with contextlib.suppress(AssertionError, requests.RequestException):
            return call(*args, **kwargs)
        return None


def networking_fixture(user: str):
    """A module-scoped fixture: networkd's API as `user`, with everything it
    made deleted after the module (`demo = networking_fixture("demo")`)."""
    @pytest.fixture(scope="module")
    def client(stack):
        networking = Networking(stack, user)
        yield networking
        networking.cleanup()
    return client


def fixed_ip(server: dict) -> str:
    """A server's first fixed address, from computed's `addresses`."""
    return next(address["addr"] for addresses in server["addresses"].values()
                for address in addresses if address["OS-EXT-IPS:type"] == "fixed")


# --- inside the stack's namespace -------------------------------------------------------
def namespace(stack) -> str:
    """networkd.conf's [dataplane] namespace, or the stack's default name."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(stack.state_dir / "etc" / "networkd.conf")
    return parser.get("dataplane", "namespace", fallback="") or stack_namespace(stack.state_dir)


def host_end(stack) -> str:
    """The machine's end of the veth to the stack's external network."""
    return external_veth_host_end(stack.state_dir)


def in_namespace(stack, *command: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", "netns", "exec", namespace(stack), *command],
                          capture_output=True, text=True, timeout=timeout)


def links(stack) -> str:
    return subprocess.run(["ip", "-n", namespace(stack), "-o", "link", "show"],
                          capture_output=True, text=True, timeout=30).stdout


def ruleset(stack) -> str:
    return in_namespace(stack, "nft", "list", "ruleset").stdout


def dhcp_hosts(stack) -> str:
    """Every DHCP hosts file of the stack's dnsmasq processes, concatenated."""
    root = stack.state_dir / "lib" / "networkd"
    return "".join(path.read_text() for path in sorted(root.rglob("*hosts*"))
                   if path.is_file())
