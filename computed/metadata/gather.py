"""A server's InstanceFacts, from computed's database and from networkd.

The database gives the server itself (name, keys, user_data, metadata,
flavor, device names) and its EC2 integer ids (made at first need). networkd
gives what the ports are, asked with computed's own service credentials (as
Nova asks Neutron with an admin client) in six calls whatever the number of
ports: the ports whose device is the server and whose project is the
server's (Nova's rule: a port another project put on the server's id does
not count), then their networks (MTU), subnets, the networks' DHCP ports,
floating IPs and security groups.
A server without ports asks networkd nothing.

The launch flow calls gather() for the config drive, the metadata service
for its answers: both see the same facts.
"""
from __future__ import annotations

import base64
import binascii

from sqlalchemy import select

from computed.db import repository as repo
from computed.db.models import Instance, InstanceDeviceNames, InstanceIdMapping, S3Image
from computed.domain.devices import local_disks
from computed.flows import Deps
from computed.metadata.facts import Devices, FixedIp, InstanceFacts, Nic, Subnet
from shared.clients import Caller
from shared.db import transaction
from shared.errors import NotFound
from shared.netnames import tap_name

DHCP_OWNER = "network:dhcp"


def gather(deps: Deps, instance_uuid: str, dhcp_domain: str = "") -> InstanceFacts | None:
    """The facts of a live server; None if there is no such server or it
    was deleted. networkd's errors (RemoteError) go to the caller."""
    with transaction(deps.sessions, write=False) as session:
        try:
            instance = repo.get_instance(session, instance_uuid, None)
        except NotFound:
            return None
        devices = _devices(session, instance)
        known_instance_id, known_image_id = _known_ids(session, instance)
    if known_instance_id is None or known_image_id is None:
        with transaction(deps.sessions) as session:   # writers take turns: made once
            ids = (repo.ec2_instance_id(session, instance.uuid),
                   repo.ec2_image_id(session, instance.image_ref))
    else:
        ids = (known_instance_id, known_image_id)
    nics, groups = _ports(deps, instance) if instance.vifs else ((), ())
    hostname = f"{instance.hostname}.{dhcp_domain}" if dhcp_domain else instance.hostname
    return InstanceFacts(
        uuid=instance.uuid, name=instance.display_name, hostname=hostname,
        project_id=instance.project_id, availability_zone=instance.availability_zone,
        launch_index=instance.launch_index, reservation_id=instance.reservation_id,
        flavor_name=(instance.flavor or {}).get("name", ""),
        ec2_instance_id=ids[0], ec2_image_id=ids[1],
        key_name=instance.key_name, public_key=instance.key_data,
        user_data=_user_data(instance.user_data), meta=dict(instance.meta or {}),
        security_groups=groups, devices=devices, nics=nics)


def _user_data(encoded: str | None) -> bytes | None:
    """user_data is kept base64-encoded, as the API received it."""
    if encoded is None:
        return None
    try:
        return base64.b64decode(encoded)
    except (binascii.Error, ValueError):
        return encoded.encode()


def _known_ids(session, instance: Instance) -> tuple[int | None, int | None]:
    instance_id = session.scalar(select(InstanceIdMapping.id)
                                 .where(InstanceIdMapping.uuid == instance.uuid))
    image_id = session.scalar(select(S3Image.id).where(S3Image.uuid == instance.image_ref))
    return instance_id, image_id


def _devices(session, instance: Instance) -> Devices:
    """The names the build recorded; for a server built before they were
    recorded, the names a virtio build gives."""
    volumes = tuple(f"/dev/{bdm.device_name}" for bdm in instance.volumes
                    if bdm.device_name)
    row = session.get(InstanceDeviceNames, instance.uuid)
    if row is not None:
        return Devices(row.root_device_name, row.default_ephemeral_device,
                       row.default_swap_device, volumes)
    names = local_disks(instance.ephemeral_gb, instance.swap)
    return Devices(f"/dev/{names.root}",
                   f"/dev/{names.ephemeral}" if names.ephemeral else None,
                   f"/dev/{names.swap}" if names.swap else None, volumes)


def _ports(deps: Deps, instance: Instance) -> tuple[tuple[Nic, ...], tuple[str, ...]]:
    """The server's NICs in the guest's order, and its security groups' names."""
    service: Caller = deps.service_caller()
    network = deps.network
    order = {vif.port_id: index for index, vif in enumerate(instance.vifs)}
    ports = [port for port in network.list_ports(service, device_id=instance.uuid)
             if port.get("project_id", port.get("tenant_id")) == instance.project_id]
    ports.sort(key=lambda port: (order.get(port["id"], len(order)), port["id"]))
    if not ports:
        return (), ()
    network_ids = sorted({port["network_id"] for port in ports})
    subnet_ids = sorted({ip["subnet_id"] for port in ports for ip in port["fixed_ips"]})
    group_ids = sorted({group for port in ports for group in port.get("security_groups")
                        or []})
    # the other five depend on the ports only; asked one after another, as
    # every call to another service of the stack (shared/together.py)
    networks = network.list_networks(service, id=network_ids)
    dhcp_ports = network.list_ports(service, network_id=network_ids, device_owner=DHCP_OWNER)
    subnet_list = network.list_subnets(service, id=subnet_ids) if subnet_ids else []
    floating = network.list_floating_ips(service, port_id=[port["id"] for port in ports])
    groups = network.list_security_groups(service, id=group_ids) if group_ids else []
    mtus = {net["id"]: net.get("mtu") for net in networks}
    dhcp_servers = {ip["subnet_id"]: ip["ip_address"]
                    for port in dhcp_ports for ip in port["fixed_ips"]}
    subnets = {subnet["id"]: _subnet(subnet, dhcp_servers.get(subnet["id"]))
               for subnet in subnet_list}
    group_names = {group["id"]: group.get("name") or group["id"] for group in groups}
    nics = tuple(_nic(port, subnets, mtus, floating) for port in ports)
    names: list[str] = []
    for port in ports:
        for group_id in port.get("security_groups") or []:
            name = group_names.get(group_id, group_id)
            if name not in names:
                names.append(name)
    return nics, tuple(names)


def _subnet(subnet: dict, dhcp_server: str | None) -> Subnet:
    return Subnet(
        id=subnet["id"], cidr=subnet["cidr"], ip_version=subnet.get("ip_version", 4),
        gateway_ip=subnet.get("gateway_ip"), enable_dhcp=bool(subnet.get("enable_dhcp")),
        dhcp_server=dhcp_server,
        dns_nameservers=tuple(subnet.get("dns_nameservers") or ()),
        host_routes=tuple((route["destination"], route["nexthop"])
                          for route in subnet.get("host_routes") or ()),
        ipv6_address_mode=subnet.get("ipv6_address_mode"))


def _nic(port: dict, subnets: dict[str, Subnet], mtus: dict[str, int | None],
         floating: list[dict]) -> Nic:
    fixed = tuple(FixedIp(ip["ip_address"], subnets[ip["subnet_id"]])
                  for ip in port["fixed_ips"] if ip["subnet_id"] in subnets)
    addresses = [ip.address for ip in fixed]
    floating_ips = tuple(entry["floating_ip_address"]
                         for address in addresses for entry in floating
                         if entry.get("port_id") == port["id"]
                         and entry.get("fixed_ip_address") == address)
    return Nic(port_id=port["id"], mac_address=port["mac_address"],
               network_id=port["network_id"], fixed_ips=fixed, floating_ips=floating_ips,
               mtu=mtus.get(port["network_id"]),
               vif_type=port.get("binding:vif_type") or "unbound",
               devname=tap_name(port["id"]))
