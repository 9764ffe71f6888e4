"""The compute API layer: what a request to computed means, without HTTP.

As nova/compute/api.py sits under nova/api/openstack/compute/, this module
sits under computed/api/: a handler there parses the request, authorizes it,
calls one function here and renders what it returns. Everything between
(checking a request against the database and the other services, recording
a server, handing the slow work to a flow) is here, so that unit tests call
it directly with the flows' dependencies and a request context.

    create_servers      POST /servers: the checks Nova makes at the API
                        (flavor, key pair, image active and big enough,
                        or the boot volume: boot_sources.py; volumes
                        reserved in volumed, networks, ports and security
                        groups in networkd: network_api.py, quota), the
                        servers recorded BUILD/scheduling, their volumes
                        reserved, the launches started
    server_filters      GET /servers: what the query asks for
    console_output      os-getConsoleOutput: the end of console.log
    hypervisor_detail   os-hypervisors: the host, its node and its usage
    limits              /limits: the project's quotas and what it uses

Errors are shared.errors' (400, 403, 404, 409, 503), with Nova's messages.
"""
from __future__ import annotations

import base64
import datetime as dt
import json
import uuid as uuidlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from weakref import WeakKeyDictionary

from sqlalchemy import select

from computed.boot_sources import check_mapped, volume_backed_image
from computed.db import repository as repo
from computed.db.models import (
    BlockDeviceImageSource,
    BlockDeviceMapping,
    ComputeNode,
    Flavor,
    Instance,
    InstanceNetworkRequest,
)
from computed.domain import states
from computed.domain.block_devices import (
    BootRequest,
    InvalidBlockDeviceMapping,
    parse_boot_request,
)
from computed.domain.claims import HostInventory, quota_excess
from computed.domain.devices import local_disks, next_free_device
from computed.domain.image_properties import InvalidImageProperty, guest_hardware
from computed.domain.server_request import (
    InvalidRequest,
    QuotaError,
    ServerRequest,
    hostname_for,
    parse_server_request,
)
from computed.flows import Deps
from computed.flows.launch import launch
from computed.network_api import NetworkPlan, plan_networks
from computed.virt.driver import HostInfo, HypervisorError
from shared.clients import Caller, RemoteError
from shared.context import RequestContext
from shared.db import transaction
from shared.errors import ApiError, BadRequest, Conflict, Forbidden, NotFound
from shared.events import parse_time
from shared.strutils import bool_param
from shared.units import GiB

MAX_CONSOLE_BYTES = 100 * 1024  # as Nova's libvirt driver: the log's last 100 KiB
LISTING_FILTERS = ("name", "status", "image", "flavor", "reservation_id", "changes-since")


# --- create -------------------------------------------------------------------------------
@dataclass(frozen=True)
class ServersCreated:
    """What POST /servers answers with: the first server, or the reservation."""
    uuids: list[str]
    reservation_id: str
    return_reservation_id: bool
    security_groups: list[str]  # the names asked for ("default" when none)


def create_servers(deps: Deps, ctx: RequestContext, body: dict,
                   version: tuple[int, int] = (2, 1)) -> ServersCreated:
    """Check a POST /servers body (at compute microversion `version`),
    record its servers (BUILD/scheduling), reserve their volumes in volumed
    and start their launches in the background. Nothing is kept of a
    request that fails."""
    try:
        wanted = parse_server_request(body, deps.settings.max_metadata_items, version)
        boot = parse_boot_request(wanted.image_ref,
                                  body["server"].get("block_device_mapping_v2"),
                                  body["server"].get("block_device_mapping"))
    except (InvalidRequest, InvalidBlockDeviceMapping) as exc:
        raise BadRequest(str(exc)) from None
    except QuotaError as exc:
        raise Forbidden(str(exc)) from None
    if any(v.volume_id for v in boot.volumes) and wanted.max_count > 1:
        raise BadRequest("Cannot attach one or more volumes to multiple instances")
    caller = deps.caller(ctx)
    flavor, key_data = _flavor_and_key(deps, ctx, wanted)
    uuids = [str(uuidlib.uuid4()) for _ in range(wanted.max_count)]
    # imaged and volumed on the boot source, then networkd on the networks
    # (a bad boot source is the error the caller gets first)
    image = _boot_source(deps, caller, boot, flavor)
    plan = plan_networks(deps, ctx, wanted.networks, wanted.security_groups, uuids[0])

    reservation = "r-" + uuidlib.uuid4().hex[:8]
    with transaction(deps.sessions) as session:
        count, used = repo.project_usage(session, ctx.project_id or "")
        excess = quota_excess(deps.settings.quota, count, used,
                              repo.instance_resources(_sizes(flavor)), wanted.max_count)
        if excess:
            raise Forbidden(excess)
        now = repo.now()
        for index, uuid in enumerate(uuids):
            name = wanted.name if wanted.max_count == 1 else f"{wanted.name}-{index + 1}"
            instance = _new_instance(deps, ctx, wanted, uuid, name, index,
                                     boot.image_id or "", flavor, key_data, reservation, now)
            instance.network_request = _network_request(plan)
            _add_block_devices(session, instance, boot, now)
            deps.event(ctx, "compute.instance.create.requested", instance, session=session,
                       image_id=boot.image_id or "", flavor=flavor["name"],
                       volume_backed=boot.volume_backed)
    reserve_volumes(deps, caller, uuids)

    for uuid in uuids:
        deps.background(deps.builds, f"launch-{uuid}", partial(launch, deps, ctx, uuid, image))
    return ServersCreated(uuids, reservation, bool_param(
        "return_reservation_id", body["server"].get("return_reservation_id", False)),
        wanted.security_groups or ["default"])


def _boot_source(deps: Deps, caller: Caller, boot: BootRequest, flavor: dict) -> dict:
    """imaged's record of the image the server boots, checked, or the one
    its boot volume was made from (boot_sources.py); the other volumes it
    maps are checked too."""
    if boot.volume_backed:
        image = volume_backed_image(deps, caller, boot, flavor)
    elif boot.image_id is not None:
        image = usable_image(deps, caller, boot.image_id, flavor)
    else:  # parse_boot_request never lets it through
        raise BadRequest("Missing imageRef attribute")
    check_mapped(deps, caller, boot)
    return image


def _add_block_devices(session, instance: Instance, boot: BootRequest,
                       now: dt.datetime) -> None:
    """A mapping per volume: the boot volume is vda, the others take the
    next free names after the local disks. A volume to be made from an
    image has no volume_id yet: the build makes it (flows/boot_volumes.py)."""
    used_names = set(local_disks(instance.ephemeral_gb, instance.swap).names())
    mappings = []
    for volume in boot.volumes:
        if volume.boot_index == 0:
            device = "vda"
        else:
            device = next_free_device(used_names)
            used_names.add(device)
        bdm = BlockDeviceMapping(
            volume_id=volume.volume_id, boot_index=volume.boot_index,
            source_type=volume.source_type, device_name=device, status="attaching",
            delete_on_termination=volume.delete_on_termination, created_at=now)
        instance.block_devices.append(bdm)
        mappings.append((bdm, volume))
    session.add(instance)
    session.flush()
    for bdm, volume in mappings:
        if volume.image_id:
            session.add(BlockDeviceImageSource(bdm_id=bdm.id, image_id=volume.image_id,
                                               volume_size=volume.volume_size))


def _network_request(plan: NetworkPlan) -> InstanceNetworkRequest:
    return InstanceNetworkRequest(networks=[item.as_dict() for item in plan.networks],
                                  security_groups=list(plan.security_groups),
                                  security_group_names=list(plan.security_group_names))


def flavor_snapshot(flavor: Flavor) -> dict:
    """What a server keeps of its flavor (shown at 2.47+ by Nova; kept here
    so that deleting the flavor changes nothing for the server)."""
    return {"id": flavor.flavorid, "name": flavor.name, "vcpus": flavor.vcpus,
            "ram": flavor.memory_mb, "disk": flavor.root_gb,
            "ephemeral": flavor.ephemeral_gb, "swap": flavor.swap,
            "extra_specs": flavor.specs()}


def _flavor_and_key(deps: Deps, ctx: RequestContext,
                    wanted: ServerRequest) -> tuple[dict, str | None]:
    """The flavor the caller may use (a copy), and the public key of the key
    pair it names; 400 for either unknown."""
    with transaction(deps.sessions, write=False) as session:
        try:
            flavor = repo.get_flavor(session, wanted.flavor_ref)
        except NotFound:
            raise BadRequest(f"Flavor {wanted.flavor_ref} could not be found.") from None
        if not repo.flavor_usable_by(flavor, ctx.project_id, ctx.is_admin):
            raise BadRequest(f"Flavor {wanted.flavor_ref} could not be found.")
        key_data = None
        if wanted.key_name:
            try:
                key_data = repo.get_keypair(session, ctx.user_id or "",
                                            wanted.key_name).public_key
            except NotFound:
                raise BadRequest("Invalid key_name provided.") from None
        return flavor_snapshot(flavor), key_data


def _new_instance(deps: Deps, ctx: RequestContext, wanted: ServerRequest, uuid: str,
                  name: str, index: int, image_id: str, flavor: dict, key_data: str | None,
                  reservation: str, now: dt.datetime) -> Instance:
    return Instance(
        uuid=uuid, display_name=name, hostname=hostname_for(name),
        project_id=ctx.project_id, user_id=ctx.user_id, image_ref=image_id,
        flavor=flavor, vcpus=flavor["vcpus"], memory_mb=flavor["ram"],
        root_gb=flavor["disk"], ephemeral_gb=flavor["ephemeral"], swap=flavor["swap"],
        key_name=wanted.key_name, key_data=key_data,
        user_data=base64.b64encode(wanted.user_data).decode()
        if wanted.user_data is not None else None,
        meta=wanted.metadata,
        config_drive=wanted.config_drive or deps.settings.force_config_drive,
        vm_state=states.BUILDING, task_state=states.SCHEDULING,
        power_state=states.NOSTATE, domain_name=f"instance-{uuid[:8]}",
        reservation_id=reservation, launch_index=index, created_at=now, updated_at=now)


def usable_image(deps: Deps, caller: Caller, image_id: str, flavor: dict) -> dict:
    """imaged's record of the image, after Nova's checks at the API: it
    exists for the caller, is active, fits the flavor (min_ram, min_disk,
    size) and asks for hardware computed can give."""
    try:
        image = deps.images.show(caller, image_id)
    except RemoteError as exc:
        raise ApiError(f"The image service failed: {exc.message}", 503) from None
    if image is None:
        raise BadRequest(f"Can not find requested image {image_id}")
    if image.get("status") != "active":
        raise BadRequest(f"Image {image_id} is not active.")
    if int(image.get("min_ram") or 0) > flavor["ram"]:
        raise BadRequest("Flavor's memory is too small for requested image.")
    if flavor["disk"]:
        root_bytes = flavor["disk"] * GiB
        if int(image.get("min_disk") or 0) > flavor["disk"]:
            raise BadRequest("Flavor's disk is too small for requested image.")
        for size in (image.get("size"), image.get("virtual_size")):
            if size and int(size) > root_bytes:
                raise BadRequest(f"Flavor's disk is too small for requested image. "
                                 f"Flavor disk is {root_bytes} bytes, image is "
                                 f"{int(size)} bytes.")
    try:  # hw_disk_bus, CPU topology...: refused before anything is made
        guest_hardware(image, flavor["vcpus"], deps.settings.machine_type)
    except InvalidImageProperty as exc:
        raise BadRequest(str(exc)) from None
    return image


def reserve_volumes(deps: Deps, caller: Caller, uuids: list[str]) -> None:
    """Reserve each volume in volumed for its server (POST attachments):
    from now on nobody else can take it. If one cannot be reserved, the
    request fails and nothing of it is kept (servers nor reservations)."""
    reserved: list[str] = []
    try:
        with transaction(deps.sessions, write=False) as session:
            mappings = [(bdm.id, bdm.volume_id, uuid) for uuid in uuids
                        for bdm in repo.get_instance(session, uuid, None).volumes
                        if bdm.volume_id is not None]
        for bdm_id, volume_id, instance_uuid in mappings:
            attachment_id = deps.volumes.reserve(caller, volume_id, instance_uuid)
            reserved.append(attachment_id)
            with transaction(deps.sessions) as session:
                mapping = session.get(BlockDeviceMapping, bdm_id)
                assert mapping is not None  # made above, not deleted by anyone
                mapping.attachment_id = attachment_id
    except RemoteError as exc:
        for attachment_id in reserved:
            try:
                deps.volumes.delete_attachment(caller, attachment_id)
            except RemoteError as undo_failure:
                exc.add_note(f"and deleting attachment {attachment_id} failed: "
                             f"{undo_failure.message}")
        with transaction(deps.sessions) as session:
            for uuid in uuids:
                session.delete(repo.get_instance(session, uuid, None))
        if exc.status == 400:  # Nova's InvalidVolume around Cinder's InvalidInput
            raise BadRequest(f"Invalid volume: Invalid input received: {exc.message} "
                             f"(HTTP 400)") from None
        raise BadRequest(f"Block Device Mapping is Invalid: the volume could not be "
                         f"reserved: {exc.message}") from None


def _sizes(flavor: dict) -> Instance:
    """An unsaved Instance carrying only a flavor's sizes (for the arithmetic)."""
    return Instance(vcpus=flavor["vcpus"], memory_mb=flavor["ram"], root_gb=flavor["disk"],
                    ephemeral_gb=flavor["ephemeral"], swap=flavor["swap"])


# --- list ---------------------------------------------------------------------------------
@dataclass
class ServerFilters:
    """What a GET /servers query asks for."""
    all_tenants: bool = False
    project_id: str | None = None      # None with all_tenants: every project
    include_deleted: bool = False
    filters: dict = field(default_factory=dict)


def server_filters(args: Mapping[str, str], ctx: RequestContext) -> ServerFilters:
    """Nova's query parameters: `all_tenants` present and empty means true,
    any other value is a strict boolean (400 for an unknown word); `deleted`
    and `host` count for admins only."""
    result = ServerFilters(project_id=ctx.project_id)
    if "all_tenants" in args:
        value = args["all_tenants"]
        result.all_tenants = value.strip() == "" or bool_param("all_tenants", value)
    if result.all_tenants:
        result.project_id = args.get("project_id") or args.get("tenant_id") or None
    if ctx.is_admin:
        result.include_deleted = bool_param("deleted", args.get("deleted", "False"))
    result.filters = {key: args[key] for key in LISTING_FILTERS if args.get(key)}
    if ctx.is_admin and args.get("host"):
        result.filters["host"] = args["host"]
    if "changes-since" in result.filters:
        try:
            result.filters["changes-since"] = parse_time(result.filters["changes-since"])
        except ValueError:
            raise BadRequest("Invalid filter field: changes-since.") from None
    return result


# --- console ------------------------------------------------------------------------------
def console_output(deps: Deps, server_id: str, project_id: str | None,
                   length: int | None) -> str:
    """The last `length` lines of the server's console log (all of its last
    100 KiB when None); 409 while the server has no host yet."""
    with transaction(deps.sessions, write=False) as session:
        instance = repo.get_instance(session, server_id, project_id)
        if not instance.host:
            raise Conflict(f"Instance {server_id} is not ready")
    path = deps.instance_dir(server_id) / "console.log"
    try:
        with open(path, "rb") as log:
            size = log.seek(0, 2)
            log.seek(max(0, size - MAX_CONSOLE_BYTES))
            text = log.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        raise NotFound(f"Guest does not have a console available for {server_id}.") \
            from None
    if length is not None and length >= 0:
        lines = text.splitlines(keepends=True)
        text = "".join(lines[-length:]) if length else ""
    return text


# --- the host -----------------------------------------------------------------------------
def compute_node(deps: Deps) -> ComputeNode:
    """This host's node record (made at start by runtime.prepare_database)."""
    with transaction(deps.sessions, write=False) as session:
        node = session.scalars(select(ComputeNode).order_by(ComputeNode.id)).first()
    if node is None:
        raise NotFound("This host has no compute node record.")
    return node


def hypervisor_summary(node: ComputeNode, up: bool = True) -> dict:
    return {"id": node.id, "hypervisor_hostname": node.hypervisor_hostname,
            "state": "up" if up else "down", "status": "enabled"}


# The host as libvirt last described it, by driver (see _host).
_LAST_SEEN_HOSTS: WeakKeyDictionary = WeakKeyDictionary()


def _host(deps: Deps) -> tuple[HostInfo, HostInventory, bool]:
    """libvirt's description of the host and its inventory, and whether
    libvirtd answered. While it cannot be reached (restarted, killed), the
    last ones seen: os-hypervisors keeps answering, as Nova's does from its
    compute node record, with the hypervisor's state "down". 503 if libvirtd
    never answered since computed started."""
    try:
        seen = deps.driver.host_info(), deps.inventory()
    except HypervisorError as exc:
        if deps.driver not in _LAST_SEEN_HOSTS:
            raise ApiError(f"The hypervisor cannot be reached: {exc}", 503) from None
        return (*_LAST_SEEN_HOSTS[deps.driver], False)
    _LAST_SEEN_HOSTS[deps.driver] = seen
    return (*seen, True)


def hypervisor_detail(deps: Deps, node: ComputeNode) -> dict:
    """os-hypervisors/detail of this host, as Nova shows it: physical vCPUs,
    RAM and disk, what the servers' flavors take (*_used; RAM used includes
    what is reserved for the host), what is left (free_*) and, beside them,
    what can still be claimed once the allocation ratios are applied
    (*_claimable_free: what decides "No valid host was found")."""
    info, inventory, up = _host(deps)
    capacity = inventory.capacity()
    with transaction(deps.sessions, write=False) as session:
        used = repo.claimed_usage(session)
        running = repo.count_claimed_instances(session)
        busy = repo.count_busy_instances(session)
    memory_used = used.memory_mb + inventory.reserved_memory_mb
    return {
        **hypervisor_summary(node, up),
        "vcpus": info.vcpus, "vcpus_used": used.vcpus,
        "memory_mb": info.memory_mb, "memory_mb_used": memory_used,
        "free_ram_mb": info.memory_mb - memory_used,
        "local_gb": inventory.disk_gb, "local_gb_used": used.disk_gb,
        "free_disk_gb": inventory.disk_gb - used.disk_gb,
        "disk_available_least": inventory.disk_gb - used.disk_gb,
        "running_vms": running, "current_workload": busy,
        "hypervisor_type": info.hypervisor_type,
        "hypervisor_version": info.hypervisor_version,
        "host_ip": deps.settings.host_ip,
        "cpu_info": json.dumps(info.cpu),
        "service": {"host": deps.settings.host, "id": node.id, "disabled_reason": None},
        "vcpus_claimable_free": capacity.vcpus - used.vcpus,
        "memory_mb_claimable_free": capacity.memory_mb - used.memory_mb,
        "local_gb_claimable_free": capacity.disk_gb - used.disk_gb,
        "allocation_ratios": {"cpu": inventory.cpu_allocation_ratio,
                              "ram": inventory.ram_allocation_ratio,
                              "disk": inventory.disk_allocation_ratio},
    }


def quota_set(deps: Deps, project_id: str) -> dict[str, tuple[int, int]]:
    """Each quota of Nova's os-quota-sets (2.1) as (limit, in use). The
    limits are the stack's [quota] options; what computed does not have
    (server groups, injected files, nova-network's resources) shows Nova's
    defaults, unused."""
    quota = deps.settings.quota
    with transaction(deps.sessions, write=False) as session:
        count, used = repo.project_usage(session, project_id)
    return {
        "instances": (quota.instances, count), "cores": (quota.cores, used.vcpus),
        "ram": (quota.ram, used.memory_mb),
        "key_pairs": (deps.settings.max_key_pairs, 0),
        "metadata_items": (deps.settings.max_metadata_items, 0),
        "injected_files": (5, 0), "injected_file_content_bytes": (10240, 0),
        "injected_file_path_bytes": (255, 0), "server_groups": (10, 0),
        "server_group_members": (10, 0), "fixed_ips": (-1, 0), "floating_ips": (-1, 0),
        "security_groups": (-1, 0), "security_group_rules": (-1, 0),
    }


def limits(deps: Deps, project_id: str) -> dict:
    """The project's quotas and what it uses of them (/limits "absolute").
    Server and image metadata share one limit, [quota] metadata_items, as
    in Nova: it is what POST /servers, the metadata calls and createImage
    enforce."""
    quota = deps.settings.quota
    with transaction(deps.sessions, write=False) as session:
        count, used = repo.project_usage(session, project_id)
    return {
        "maxTotalCores": quota.cores, "maxTotalInstances": quota.instances,
        "maxTotalRAMSize": quota.ram, "maxServerMeta": deps.settings.max_metadata_items,
        "maxImageMeta": deps.settings.max_metadata_items, "maxPersonality": 5,
        "maxPersonalitySize": 10240, "maxTotalKeypairs": deps.settings.max_key_pairs,
        "maxSecurityGroups": 10, "maxSecurityGroupRules": 20, "maxTotalFloatingIps": 10,
        "maxServerGroups": 10, "maxServerGroupMembers": 10,
        "totalCoresUsed": used.vcpus, "totalInstancesUsed": count,
        "totalRAMUsed": used.memory_mb, "totalSecurityGroupsUsed": 0,
        "totalFloatingIpsUsed": 0, "totalServerGroupsUsed": 0}
