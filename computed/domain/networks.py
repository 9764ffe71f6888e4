"""A server's networking, as Nova's API sees it, without networkd: the
`networks` and `security_groups` of POST /servers checked against Nova's
schema for the microversion asked, the network chosen when none is named,
and the shapes of `addresses` and os-interface built from networkd's ports.

The rules follow nova/api/openstack/compute/schemas/servers.py,
servers.py (_get_requested_networks) and nova/network/neutron.py; the
messages are Nova's, so that clients show users what to fix.
"""
from __future__ import annotations

import ipaddress
import uuid as uuidlib
from collections.abc import Iterable
from dataclasses import dataclass, field

# networks, from 2.37 on: a list, or one of these words
AUTO = "auto"
NONE = "none"
UNSPECIFIED = "unspecified"  # [] (or absent, before 2.37): Nova picks, if it can
LISTED = "listed"

DEFAULT_SECURITY_GROUP = "default"
DEVICE_OWNER = "compute:nova"  # compute:<availability zone>, as Nova sets it


class InvalidNetworks(ValueError):
    """400 with this message."""


class NetworkConflict(Exception):
    """409 with this message (NetworkAmbiguous, PortInUse, FixedIpAlreadyInUse)."""


@dataclass(frozen=True)
class RequestedNetwork:
    """One item of `networks`: a network (maybe with a fixed IP), or a port."""
    network_id: str | None = None
    port_id: str | None = None
    fixed_ip: str | None = None
    tag: str | None = None

    def as_dict(self) -> dict:
        return {"network_id": self.network_id, "port_id": self.port_id,
                "fixed_ip": self.fixed_ip, "tag": self.tag}

    @classmethod
    def from_dict(cls, value: dict) -> RequestedNetwork:
        return cls(value.get("network_id"), value.get("port_id"), value.get("fixed_ip"),
                   value.get("tag"))


@dataclass(frozen=True)
class NetworkRequest:
    """What `networks` asks for: `mode` is LISTED (then `items`), AUTO, NONE,
    or UNSPECIFIED (before 2.37, nothing or [])."""
    mode: str
    items: tuple[RequestedNetwork, ...] = field(default_factory=tuple)

    @property
    def needs_choice(self) -> bool:
        """No network named: Nova connects the only one the project can use."""
        return self.mode in (AUTO, UNSPECIFIED)


def _error(value, why: str) -> InvalidNetworks:
    return InvalidNetworks(f"Invalid input for field/attribute networks. Value: {value}. "
                           f"{why}")


def is_uuid(value) -> bool:
    try:
        uuidlib.UUID(str(value))
    except ValueError:
        return False
    return isinstance(value, str)


def is_ip(value) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return isinstance(value, str)


def parse_networks(value, version: tuple[int, int] = (2, 1),
                   present: bool = True) -> NetworkRequest:
    """`networks` of a POST /servers body at microversion `version`
    (`present`: the key was in the body)."""
    if version >= (2, 37):
        if not present:
            raise InvalidNetworks("Invalid input for field/attribute server. Value: "
                                  "{...}. 'networks' is a required property")
        if isinstance(value, str):
            if value not in (AUTO, NONE):
                raise _error(value, f"'{value}' is not one of ['none', 'auto']")
            return NetworkRequest(value)
    if not present or (value is None and version < (2, 37)):
        return NetworkRequest(UNSPECIFIED)
    if not isinstance(value, list):
        raise _error(value, f"{value!r} is not of type 'array'")
    allowed = {"fixed_ip", "port", "uuid"}
    if (2, 32) <= version < (2, 37) or version >= (2, 42):
        allowed.add("tag")
    items, ports = [], set()
    for item in value:
        if not isinstance(item, dict):
            raise _error(value, f"{item!r} is not of type 'object'")
        extra = sorted(set(item) - allowed)
        if extra:
            raise _error(value, "Additional properties are not allowed ("
                         + ", ".join(repr(k) for k in extra)
                         + (" was" if len(extra) == 1 else " were") + " unexpected)")
        port, fixed_ip, tag = item.get("port"), item.get("fixed_ip"), item.get("tag")
        if port is not None and not is_uuid(port):
            raise _error(value, f"{port!r} is not a 'uuid'")
        if fixed_ip is not None and not is_ip(fixed_ip):
            raise _error(value, f"{fixed_ip!r} is not a valid IP address")
        if tag is not None and (not isinstance(tag, str) or not 1 <= len(tag) <= 60
                                or "/" in tag or "," in tag):
            raise _error(value, f"{tag!r} is not a valid tag")
        if port:
            if port in ports:
                raise InvalidNetworks(f"Port ID '{port}' was specified twice: you cannot "
                                      f"attach a port multiple times.")
            if fixed_ip is not None:
                raise InvalidNetworks(f"Specified Fixed IP '{fixed_ip}' cannot be used "
                                      f"with port '{port}': the two cannot be specified "
                                      f"together.")
            ports.add(port)
            items.append(RequestedNetwork(port_id=port, tag=tag))
            continue
        if "uuid" not in item:
            raise InvalidNetworks("Bad network format: missing 'uuid'")
        network = item["uuid"]
        if version >= (2, 37) and not is_uuid(network):
            raise _error(value, f"{network!r} is not a 'uuid'")
        if not is_uuid(network):
            raise InvalidNetworks(f"Bad networks format: network uuid is not in proper "
                                  f"format ({network})")
        items.append(RequestedNetwork(network_id=network, fixed_ip=fixed_ip, tag=tag))
    if not items:  # [] at any version: as nothing named (Nova's validate_networks)
        return NetworkRequest(UNSPECIFIED)
    return NetworkRequest(LISTED, tuple(items))


def check_count(request: NetworkRequest, max_count: int) -> None:
    """A port, or a fixed IP, belongs to one server: not with max_count > 1."""
    if max_count <= 1:
        return
    if any(item.port_id for item in request.items):
        raise InvalidNetworks("Failed to launch instances: Unable to launch multiple "
                              "instances with a single configured port ID. Please launch "
                              "your instance one by one with different ports.")
    if any(item.network_id and item.fixed_ip for item in request.items):
        raise InvalidNetworks("Failed to launch instances: max_count cannot be greater "
                              "than 1 if an fixed_ip is specified.")


def parse_security_groups(value) -> list[str]:
    """[{"name": name-or-id}, ...] -> the names, without repeats, in order."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidNetworks(f"Invalid input for field/attribute security_groups. Value: "
                              f"{value}. {value!r} is not of type 'array'")
    names: list[str] = []
    for item in value:
        if not isinstance(item, dict) or set(item) - {"name"}:
            raise InvalidNetworks(f"Invalid input for field/attribute security_groups. "
                                  f"Value: {value}. Each item is {{\"name\": ...}}.")
        name = item.get("name")
        if name is None:
            continue
        if not isinstance(name, str) or not 1 <= len(name) <= 255 or name != name.strip():
            raise InvalidNetworks(f"Invalid input for field/attribute name. Value: {name}. "
                                  f"A name is 1 to 255 characters without leading or "
                                  f"trailing spaces.")
        if name not in names:
            names.append(name)
    return names


def choose_network(available: list[dict], auto: bool, project_id: str) -> str | None:
    """The network a server gets when none is named: the only one the
    project can use (its own and shared ones; external networks are never
    chosen). None when there is none (then the server has no NIC, as Nova
    before 2.37); NetworkConflict when there are several."""
    usable = [net for net in available if not net.get("router:external")]
    if len(usable) > 1:
        raise NetworkConflict("Multiple possible networks found, use a Network ID to be "
                              "more specific.")
    if not usable:
        if auto:
            raise InvalidNetworks(f"Unable to automatically allocate a network for project "
                                  f"{project_id}")
        return None
    return usable[0]["id"]


def security_group_id(groups: list[dict], name_or_id: str) -> str:
    """The id of the group named (or with the id) `name_or_id` among the
    project's `groups`; 400 if none, 409 if several share the name."""
    for group in groups:
        if group["id"] == name_or_id:
            return group["id"]
    named = [group["id"] for group in groups if group.get("name") == name_or_id]
    if len(named) > 1:
        raise NetworkConflict(f"Multiple security groups found matching '{name_or_id}'. "
                              f"Use an ID to be more specific.")
    if not named:
        raise InvalidNetworks(f"Unable to find security_group with name or id "
                              f"'{name_or_id}'")
    return named[0]


# --- what networkd's ports look like to Nova's users ------------------------------------
def _version(address: str) -> int:
    return ipaddress.ip_address(address).version


def addresses(ports: Iterable[dict], network_names: dict[str, str],
              floating_ips: Iterable[dict], extended: bool = True) -> dict[str, list[dict]]:
    """Nova's `addresses`: {network name: [fixed IPs, then floating IPs]},
    in the order of the ports; `extended` adds the type and the MAC (server
    show and detail; /ips leaves them out)."""
    floating_by_port: dict[str, list[dict]] = {}
    for floating in floating_ips:
        if floating.get("port_id"):
            floating_by_port.setdefault(floating["port_id"], []).append(floating)
    result: dict[str, list[dict]] = {}
    for port in ports:
        label = network_names.get(port["network_id"], port["network_id"])
        entries = result.setdefault(label, [])
        fixed = [(ip["ip_address"], "fixed") for ip in port.get("fixed_ips") or []]
        floats = [(f["floating_ip_address"], "floating")
                  for f in floating_by_port.get(port["id"], [])]
        for address, kind in fixed + floats:
            entry: dict = {"version": _version(address), "addr": address}
            if extended:
                entry["OS-EXT-IPS:type"] = kind
                entry["OS-EXT-IPS-MAC:mac_addr"] = port["mac_address"]
            entries.append(entry)
    return result


def interface_attachment(port: dict) -> dict:
    """One os-interface item (nova's _translate_interface_attachment_view)."""
    return {"net_id": port["network_id"], "port_id": port["id"],
            "mac_addr": port["mac_address"], "port_state": port["status"],
            "fixed_ips": [{"ip_address": ip["ip_address"], "subnet_id": ip["subnet_id"]}
                          for ip in port.get("fixed_ips") or []]}


def security_group_names(ports: Iterable[dict], groups: dict[str, str]) -> list[dict]:
    """The server's security groups as Nova shows them: each port's groups
    by name (the id when the group has no name or cannot be seen)."""
    return [{"name": groups.get(group_id) or group_id}
            for port in ports for group_id in port.get("security_groups") or []]
