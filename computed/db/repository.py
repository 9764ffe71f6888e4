"""The queries computed runs, each taking the caller's session (so that one
flow step is one short transaction: see shared.db.transaction)."""
from __future__ import annotations

import datetime as dt
import re
import uuid as uuidlib

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, lazyload

from computed.db.models import (
    BlockDeviceMapping,
    ComputeNode,
    Flavor,
    FlavorExtraSpec,
    FlavorProject,
    Instance,
    InstanceDeviceNames,
    InstanceIdMapping,
    KeyPair,
    Migration,
    S3Image,
)
from computed.domain import states
from computed.domain.claims import Resources, flavor_resources
from computed.domain.flavors import DEFAULT_FLAVORS, FlavorSpec
from shared.errors import BadRequest, Conflict, NotFound
from shared.events import utcnow


def now() -> dt.datetime:
    return utcnow()


# --- this host -------------------------------------------------------------------------
def ensure_node(session: Session, hostname: str) -> ComputeNode:
    node = session.scalars(select(ComputeNode).order_by(ComputeNode.id)).first()
    if node is None:
        node = ComputeNode(uuid=str(uuidlib.uuid4()), hypervisor_hostname=hostname,
                           created_at=now())
        session.add(node)
        session.flush()
    elif node.hypervisor_hostname != hostname:
        node.hypervisor_hostname = hostname
    return node


# --- flavors ---------------------------------------------------------------------------
def seed_flavors(session: Session) -> None:
    """The default flavors, at the first start only (an admin may delete them)."""
    if session.scalar(select(func.count()).select_from(Flavor)):
        return
    for spec in DEFAULT_FLAVORS:
        create_flavor(session, spec)


def create_flavor(session: Session, spec: FlavorSpec) -> Flavor:
    if session.scalar(select(Flavor).where(Flavor.name == spec.name)):
        raise Conflict(f"Flavor with name {spec.name} already exists.")
    if session.scalar(select(Flavor).where(Flavor.flavorid == spec.flavorid)):
        raise Conflict(f"Flavor with ID {spec.flavorid} already exists.")
    flavor = Flavor(flavorid=spec.flavorid, name=spec.name, vcpus=spec.vcpus,
                    memory_mb=spec.memory_mb, root_gb=spec.root_gb,
                    ephemeral_gb=spec.ephemeral_gb, swap=spec.swap,
                    rxtx_factor=spec.rxtx_factor, is_public=spec.is_public,
                    description=spec.description, created_at=now())
    session.add(flavor)
    session.flush()
    return flavor


def get_flavor(session: Session, flavorid: str) -> Flavor:
    flavor = session.scalar(select(Flavor).where(Flavor.flavorid == flavorid))
    if flavor is None:
        raise NotFound(f"Flavor {flavorid} could not be found.")
    return flavor


def flavor_usable_by(flavor: Flavor, project_id: str | None, is_admin: bool) -> bool:
    return flavor.is_public or is_admin or any(p.project_id == project_id
                                               for p in flavor.projects)


def list_flavors(session: Session, *, is_public: bool | None, project_id: str | None,
                 is_admin: bool, min_ram: int = 0, min_disk: int = 0) -> list[Flavor]:
    """Nova's rules: admins filter on is_public as asked (None: all); others
    see the public flavors and the private ones shared with their project."""
    query = select(Flavor).where(Flavor.memory_mb >= min_ram, Flavor.root_gb >= min_disk)
    if is_admin:
        if is_public is not None:
            query = query.where(Flavor.is_public == is_public)
    else:
        shared = select(FlavorProject.flavor_id).where(FlavorProject.project_id == project_id)
        if is_public is False:
            query = query.where(Flavor.is_public.is_(False), Flavor.id.in_(shared))
        else:
            query = query.where(or_(Flavor.is_public.is_(True), Flavor.id.in_(shared)))
    return list(session.scalars(query))


def set_extra_specs(flavor: Flavor, specs: dict[str, str]) -> None:
    current = {spec.key: spec for spec in flavor.extra_specs}
    for key, value in specs.items():
        if key in current:
            current[key].value = value
        else:
            flavor.extra_specs.append(FlavorExtraSpec(key=key, value=value))


# --- key pairs -------------------------------------------------------------------------
def get_keypair(session: Session, user_id: str, name: str) -> KeyPair:
    keypair = session.scalar(select(KeyPair).where(KeyPair.user_id == user_id,
                                                   KeyPair.name == name))
    if keypair is None:
        raise NotFound(f"Keypair {name} not found for user {user_id}")
    return keypair


def list_keypairs(session: Session, user_id: str) -> list[KeyPair]:
    return list(session.scalars(select(KeyPair).where(KeyPair.user_id == user_id)
                                .order_by(KeyPair.name)))


# --- instances -------------------------------------------------------------------------
def get_instance(session: Session, uuid: str, project_id: str | None,
                 include_deleted: bool = False, lock: bool = False,
                 related: bool = True) -> Instance:
    """The server, or 404. project_id None: any project (admins).
    related=False: its volumes, ports and requested networks are read only
    if asked for within the session (a build's many looks at its own state
    and task need none of them: three queries fewer each)."""
    query = select(Instance).where(Instance.uuid == uuid)
    if not related:
        query = query.options(lazyload("*"))
    if lock:
        query = query.with_for_update()
    instance = session.scalar(query)
    if instance is None or (instance.deleted and not include_deleted) or \
            (project_id is not None and instance.project_id != project_id):
        raise NotFound(f"Instance {uuid} could not be found.")
    return instance


def instance_resources(instance: Instance) -> Resources:
    """What the server takes from the host. A volume-backed server (no
    image_ref) takes nothing for its root disk: it is a volume (Nova's
    resource tracker counts root_gb 0 for it)."""
    root_gb = 0 if instance.image_ref == "" else instance.root_gb
    return flavor_resources(instance.vcpus, instance.memory_mb, root_gb,
                            instance.ephemeral_gb, instance.swap)


def claimed_usage(session: Session) -> Resources:
    """What the servers holding a claim on this host use, with the second
    flavor a resize or migration holds until it is confirmed or reverted."""
    total = Resources()
    for instance in session.scalars(select(Instance).where(Instance.claimed.is_(True))):
        total = total + instance_resources(instance)
    for held in session.scalars(select(Migration.held).join(
            Instance, Instance.uuid == Migration.instance_uuid).where(
            Migration.held.is_not(None), Instance.claimed.is_(True))):
        if held:
            total = total + Resources(**held)
    return total


def project_usage(session: Session, project_id: str) -> tuple[int, Resources]:
    """(server count, resources) of a project's live servers, for quotas."""
    instances = list(session.scalars(select(Instance).where(
        Instance.project_id == project_id, Instance.deleted.is_(False))))
    total = Resources()
    for instance in instances:
        total = total + Resources(instance.vcpus, instance.memory_mb, 0)
    return len(instances), total


def count_claimed_instances(session: Session) -> int:
    """Servers holding a claim on this host (os-hypervisors' running_vms)."""
    return session.scalar(select(func.count()).select_from(Instance).where(
        Instance.claimed.is_(True), Instance.deleted.is_(False))) or 0


def count_busy_instances(session: Session) -> int:
    """Live servers with a task under way (os-hypervisors' current_workload)."""
    return session.scalar(select(func.count()).select_from(Instance).where(
        Instance.deleted.is_(False), Instance.task_state.is_not(None))) or 0


def live_instances(session: Session) -> list[Instance]:
    return list(session.scalars(select(Instance).where(Instance.deleted.is_(False))))


def list_instances(session: Session, *, project_id: str | None, filters: dict,
                   include_deleted: bool = False) -> list[Instance]:
    """Servers, newest first, after the ?name= ?status= ... filters."""
    query = select(Instance)
    if project_id is not None:
        query = query.where(Instance.project_id == project_id)
    if not include_deleted:
        query = query.where(Instance.deleted.is_(False))
    if filters.get("image"):
        query = query.where(Instance.image_ref == filters["image"])
    if filters.get("reservation_id"):
        query = query.where(Instance.reservation_id == filters["reservation_id"])
    if filters.get("host"):
        query = query.where(Instance.host == filters["host"])
    if filters.get("changes-since"):
        query = query.where(Instance.updated_at >= filters["changes-since"])
    query = query.order_by(Instance.created_at.desc(), Instance.uuid.desc())
    instances = list(session.scalars(query))
    if filters.get("flavor"):
        instances = [i for i in instances if (i.flavor or {}).get("id") == filters["flavor"]]
    if filters.get("name"):
        try:
            pattern = re.compile(filters["name"])
        except re.error:
            raise BadRequest(f"Invalid name filter: {filters['name']!r} is not a regular "
                             f"expression.") from None
        instances = [i for i in instances if pattern.search(i.display_name)]
    if filters.get("status"):
        wanted = filters["status"].upper()
        instances = [i for i in instances
                     if states.api_status(i.vm_state, i.task_state) == wanted]
    return instances


def begin_task(session: Session, instance: Instance, action: str) -> str | None:
    """Check `action` against the server's states and set its task_state, in
    the caller's write transaction (so two actions cannot both begin).
    Raises states.InvalidState / states.NotReady."""
    rule = states.check(action, instance.uuid, instance.vm_state, instance.task_state,
                        instance.host)
    instance.task_state = rule.task
    instance.updated_at = now()
    return rule.task


def device_names_in_use(instance: Instance) -> set[str]:
    from computed.domain.devices import local_disks
    used = set(local_disks(instance.ephemeral_gb, instance.swap).names())
    used |= {bdm.device_name for bdm in instance.volumes if bdm.device_name}
    return used


def find_volume_mapping(instance: Instance, volume_id: str) -> BlockDeviceMapping | None:
    return next((bdm for bdm in instance.volumes if bdm.volume_id == volume_id), None)



# --- what the metadata service needs ---------------------------------------------------
def record_device_names(session: Session, instance_uuid: str, root: str,
                        ephemeral: str | None, swap: str | None) -> None:
    """The build's names of the local disks, with /dev/ as Nova keeps them."""
    row = session.get(InstanceDeviceNames, instance_uuid) or \
        InstanceDeviceNames(instance_uuid=instance_uuid)
    row.root_device_name = f"/dev/{root}"
    row.default_ephemeral_device = f"/dev/{ephemeral}" if ephemeral else None
    row.default_swap_device = f"/dev/{swap}" if swap else None
    session.add(row)


def ec2_instance_id(session: Session, instance_uuid: str) -> int:
    """The server's integer id, made at first need (Nova's
    get_int_id_from_instance_uuid). Call it in a write transaction: they
    take turns, so two first requests cannot both make one."""
    return _integer_id(session, InstanceIdMapping, instance_uuid)


def ec2_image_id(session: Session, image_uuid: str) -> int:
    """The image's integer id, made at first need (Nova's glance_id_to_id)."""
    return _integer_id(session, S3Image, image_uuid)


def _integer_id(session: Session, model, uuid: str) -> int:
    row = session.scalar(select(model).where(model.uuid == uuid))
    if row is None:
        row = model(uuid=uuid, created_at=now())
        session.add(row)
        session.flush()
    return row.id
