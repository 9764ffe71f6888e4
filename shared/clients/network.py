"""The networking service (networkd, Neutron v2.0), as every other service
calls it: the one module through which computed reaches networks, ports,
security groups and floating IPs, as Nova reaches Neutron only through
nova/network/neutron.py.

A call is made for a user (Caller with their token: what they may see and
own) or for the service itself (Caller(None): computed's service user, an
admin, needed for what only admins may set, the binding:* fields, as Nova
uses an admin client for them).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from shared.clients.base import Caller, ServiceClient

API = "/v2.0"
# A filter's value: one, or several (repeated in the query: any of them).
FilterValue = str | Sequence[str]


def _query(filters: Mapping[str, FilterValue]) -> list[tuple[str, str]]:
    params: list[tuple[str, str]] = []
    for key, value in filters.items():
        values = [value] if isinstance(value, str) else list(value)
        params.extend((key, str(one)) for one in values)
    return params


class NetworkClient(ServiceClient):
    """`url` is networkd's root (http://host:port, as in the catalog); the
    calls go to <url>/v2.0/..."""
    service = "networkd"

    def _list(self, caller: Caller, collection: str,
              filters: Mapping[str, FilterValue]) -> list[dict]:
        """Every item of a collection that matches (all pages). The body
        names the collection with "_" where the URL has "-"."""
        params = _query(filters)
        key = collection.replace("-", "_")
        items: list[dict] = []
        while True:
            answer = self.call("GET", f"{API}/{collection}", caller, params=params).json()
            page = answer.get(key, [])
            items.extend(page)
            next_link = [link for link in answer.get(f"{key}_links", [])
                         if link.get("rel") == "next"]
            if not next_link or not page:
                return items
            params = [(k, v) for k, v in _query(filters) if k != "marker"]
            params.append(("marker", page[-1]["id"]))

    def _show(self, caller: Caller, collection: str, item_id: str) -> dict | None:
        """networks/<id> -> {"network": ...}; None when it is not there for
        the caller."""
        response = self.call("GET", f"{API}/{collection}/{item_id}", caller,
                             expected=(200, 404))
        return response.json()[collection[:-1]] if response.status_code == 200 else None

    # --- networks ----------------------------------------------------------------------
    def show_network(self, caller: Caller, network_id: str) -> dict | None:
        """The network if the caller may see it, else None."""
        return self._show(caller, "networks", network_id)

    def list_networks(self, caller: Caller, **filters: FilterValue) -> list[dict]:
        return self._list(caller, "networks", filters)

    # --- ports -------------------------------------------------------------------------
    def show_port(self, caller: Caller, port_id: str) -> dict | None:
        """The port if the caller may see it, else None."""
        return self._show(caller, "ports", port_id)

    def list_ports(self, caller: Caller, **filters: FilterValue) -> list[dict]:
        return self._list(caller, "ports", filters)

    def create_port(self, caller: Caller, fields: dict) -> dict:
        """POST {"port": fields}; the new port."""
        return self.call("POST", f"{API}/ports", caller, expected=(201,),
                         json={"port": fields}).json()["port"]

    def update_port(self, caller: Caller, port_id: str, fields: dict) -> dict:
        """PUT {"port": fields}; the port as it is now."""
        return self.call("PUT", f"{API}/ports/{port_id}", caller,
                         json={"port": fields}).json()["port"]

    def delete_port(self, caller: Caller, port_id: str) -> None:
        """A port already gone is fine."""
        self.call("DELETE", f"{API}/ports/{port_id}", caller, expected=(204, 404))

    # --- subnets -----------------------------------------------------------------------
    def list_subnets(self, caller: Caller, **filters: FilterValue) -> list[dict]:
        return self._list(caller, "subnets", filters)

    # --- security groups and floating IPs ----------------------------------------------
    def list_security_groups(self, caller: Caller, **filters: FilterValue) -> list[dict]:
        return self._list(caller, "security-groups", filters)

    def list_floating_ips(self, caller: Caller, **filters: FilterValue) -> list[dict]:
        return self._list(caller, "floatingips", filters)
