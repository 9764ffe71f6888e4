"""The JSON shapes of microversion 2.1, as Nova writes them (what later
microversions add to a server: server_versioned.py)."""
from __future__ import annotations

import hashlib

from computed.api import server_versioned
from computed.api.common import base_url, links, when
from computed.db.models import Flavor, Instance, KeyPair
from computed.domain import states
from computed.network_api import ServerNetworks
from shared.context import RequestContext

PROGRESS_STATUSES = ("ACTIVE", "BUILD", "REBUILD", "RESIZE", "VERIFY_RESIZE", "MIGRATING")


def flavor_summary(flavor: Flavor) -> dict:
    return {"id": flavor.flavorid, "name": flavor.name,
            "links": links("flavors", flavor.flavorid)}


def flavor_detail(flavor: Flavor) -> dict:
    return {"id": flavor.flavorid, "name": flavor.name, "ram": flavor.memory_mb,
            "disk": flavor.root_gb, "vcpus": flavor.vcpus,
            # Nova writes no swap as "" (an integer only from microversion 2.75 on).
            "swap": flavor.swap or "",
            "OS-FLV-EXT-DATA:ephemeral": flavor.ephemeral_gb,
            "OS-FLV-DISABLED:disabled": flavor.disabled,
            "os-flavor-access:is_public": flavor.is_public,
            # No "description": Nova shows it from microversion 2.55 on.
            "rxtx_factor": flavor.rxtx_factor,
            "links": links("flavors", flavor.flavorid)}


def keypair_summary(keypair: KeyPair) -> dict:
    return {"keypair": {"name": keypair.name, "public_key": keypair.public_key,
                        "fingerprint": keypair.fingerprint}}


def keypair_detail(keypair: KeyPair) -> dict:
    return {"name": keypair.name, "public_key": keypair.public_key,
            "fingerprint": keypair.fingerprint, "user_id": keypair.user_id,
            "id": keypair.id, "created_at": when(keypair.created_at), "deleted": False,
            "deleted_at": None, "updated_at": None}


def server_summary(instance: Instance) -> dict:
    return {"id": instance.uuid, "name": instance.display_name,
            "links": links("servers", instance.uuid)}


def host_id(instance: Instance) -> str:
    """Nova's hostId: the same opaque value for a project's servers on one
    host, different for other projects."""
    if not instance.host:
        return ""
    return hashlib.sha224((instance.project_id + instance.host).encode()).hexdigest()


def server_fault(instance: Instance, ctx: RequestContext) -> dict | None:
    if not instance.fault:
        return None
    result = {"code": instance.fault.get("code", 500),
              "created": instance.fault.get("created"),
              "message": instance.fault.get("message", "")}
    if ctx.is_admin and instance.fault.get("details"):
        result["details"] = instance.fault["details"]
    return result


def server_detail(instance: Instance, ctx: RequestContext,
                  networks: ServerNetworks | None = None) -> dict:
    """`networks`: what networkd says of the server's ports (its addresses
    and security groups); Nova hides the addresses while it builds."""
    status = states.api_status(instance.vm_state, instance.task_state)
    addresses = networks.addresses() if networks is not None and \
        instance.vm_state != states.BUILDING else {}
    # A volume-backed server has no image: Nova shows "" (the client prints
    # "N/A (booted from volume)").
    image = {"id": instance.image_ref,
             "links": [{"rel": "bookmark", "href": f"{base_url()}/images/{instance.image_ref}"}]
             } if instance.image_ref else ""
    flavor_id = (instance.flavor or {}).get("id")
    body = {
        "id": instance.uuid, "name": instance.display_name, "status": status,
        "tenant_id": instance.project_id, "user_id": instance.user_id,
        "metadata": dict(instance.meta or {}), "hostId": host_id(instance),
        "image": image,
        "flavor": {"id": flavor_id,
                   "links": [{"rel": "bookmark", "href": f"{base_url()}/flavors/{flavor_id}"}]},
        "created": when(instance.created_at), "updated": when(instance.updated_at),
        "addresses": addresses, "accessIPv4": "", "accessIPv6": "",
        "links": links("servers", instance.uuid),
        "OS-DCF:diskConfig": "MANUAL",
        "OS-EXT-AZ:availability_zone": instance.availability_zone,
        "config_drive": "True" if instance.config_drive else "",
        "key_name": instance.key_name,
        "OS-SRV-USG:launched_at": _usage_time(instance.launched_at),
        "OS-SRV-USG:terminated_at": _usage_time(instance.terminated_at),
        "OS-EXT-STS:task_state": instance.task_state,
        "OS-EXT-STS:vm_state": instance.vm_state,
        "OS-EXT-STS:power_state": instance.power_state,
        "os-extended-volumes:volumes_attached": [
            server_versioned.volume_attached(bdm) for bdm in instance.volumes],
    }
    if status in PROGRESS_STATUSES:
        body["progress"] = instance.progress or 0
    groups = networks.security_groups() if networks is not None else []
    if groups:  # as Nova: the groups of the server's ports, when there are some
        body["security_groups"] = groups
    if ctx.is_admin:
        body["OS-EXT-SRV-ATTR:host"] = instance.host
        body["OS-EXT-SRV-ATTR:hypervisor_hostname"] = instance.node
        body["OS-EXT-SRV-ATTR:instance_name"] = instance.domain_name
    fault = server_fault(instance, ctx)
    if fault and status in ("ERROR", "DELETED"):
        body["fault"] = fault
    body.update(server_versioned.versioned_fields(instance, ctx))  # 2.3 to 2.26
    return body


# PUT /servers/{id}'s answer: Nova's plain server view, without the fields
# its extensions add to GET's (schema servers.update_response).
UPDATE_VIEW = ("id", "name", "status", "tenant_id", "user_id", "metadata", "hostId",
               "image", "flavor", "created", "updated", "addresses", "accessIPv4",
               "accessIPv6", "links", "OS-DCF:diskConfig", "progress", "fault")


def server_updated(instance: Instance, ctx: RequestContext,
                   networks: ServerNetworks | None = None) -> dict:
    detail = server_detail(instance, ctx, networks)
    body = {key: detail[key] for key in UPDATE_VIEW + server_versioned.UPDATE_FIELDS
            if key in detail}
    if detail["addresses"] and networks is not None:  # without the OS-EXT-IPS fields
        body["addresses"] = networks.addresses(extended=False)
    return body


def _usage_time(value) -> str | None:
    # Nova prints these two without a time zone and with microseconds.
    return value.isoformat(timespec="microseconds") if value else None


def server_created(uuid: str, security_groups: list[str]) -> dict:
    """POST /servers' answer: the groups as asked ("default" when none)."""
    return {"id": uuid, "links": links("servers", uuid), "OS-DCF:diskConfig": "MANUAL",
            "security_groups": [{"name": name} for name in security_groups]}


def volume_attachment(instance: Instance, bdm) -> dict:
    return {"id": bdm.volume_id, "serverId": instance.uuid, "volumeId": bdm.volume_id,
            "device": f"/dev/{bdm.device_name}" if bdm.device_name else None}
