"""Everything one computed process works with, built once from its config:
the service (database, policy, notifier), the flows' dependencies (driver,
image cache, clients, thread pools) and the policy check the API uses."""
from __future__ import annotations

import os
import shutil
import socket
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from computed.db import repository as repo
from computed.db.models import Base
from computed.domain.claims import HostInventory, QuotaLimits
from computed.flows import Deps, Settings
from computed.hypervisor import HypervisorLink
from computed.imagecache import ImageCache
from computed.virt.imagebackend import FileDisks, InstanceDisks, RbdDisks
from computed.virt.libvirt_driver import LibvirtDriver
from shared.clients import Caller, ImageClient, NetworkClient, ServiceSession, VolumeClient
from shared.context import RequestContext
from shared.db import transaction
from shared.service import Service
from shared.units import GiB

ACTION_THREADS = 32
# How long a guest has to let a hot-plugged disk or NIC go, asked again every
# few seconds: Nova's [libvirt] device_detach_attempts (8) times
# device_detach_timeout (20 s). A guest under TCG on a loaded host needs it.
DETACH_TIMEOUT = 160.0


@dataclass
class Computed:
    service: Service
    deps: Deps

    @property
    def conf(self):
        return self.service.conf

    def authorize(self, rule: str, ctx: RequestContext, project_id: str | None = None,
                  **extra) -> None:
        """403 unless the rule allows the caller on a target of this project."""
        target = {"project_id": project_id or ctx.project_id, "user_id": ctx.user_id,
                  **extra}
        self.service.policy.authorize(f"os_compute_api:{rule}", target, ctx)


def instances_path(conf, state) -> Path:
    return Path(conf.compute.instances_path) if conf.compute.instances_path \
        else state.lib / "instances"


def host_name(conf) -> str:
    return conf.compute.host or socket.gethostname()


def host_ip(conf) -> str:
    """This host's address as os-hypervisors shows it: [compute] my_ip, or
    the address the API listens on."""
    return conf.compute.my_ip or conf.api.bind_host


def instance_disks(conf, state, path: Path, driver: LibvirtDriver,
                   node_uuid: str) -> InstanceDisks:
    """[libvirt] images_type: files in the instance directories, or RBD
    images in Ceph (reached at the first disk, so computed starts while
    Ceph is still coming up)."""
    options = conf.libvirt
    if options.images_type != "rbd":
        return FileDisks(path)
    ceph_conf = Path(options.images_rbd_ceph_conf) if options.images_rbd_ceph_conf \
        else state.ceph / "ceph.conf"

    def define_secret(secret_uuid: str, usage: str, description: str, key: str) -> None:
        driver.define_volume_secret(secret_uuid, usage, description, key, "ceph")
    return RbdDisks(ceph_conf, options.rbd_user, options.images_rbd_pool,
                    options.rbd_secret_uuid, define_secret, node_uuid)


def prepare_database(engine, hostname: str, sessions) -> str:
    """Tables, default flavors and this node; returns the node's uuid."""
    Base.metadata.create_all(engine)
    with transaction(sessions) as session:
        repo.seed_flavors(session)
        return repo.ensure_node(session, hostname).uuid


def build(service: Service) -> Computed:
    conf, state = service.conf, service.state
    hostname = host_name(conf)
    node_uuid = prepare_database(service.extras["engine"], hostname, service.sessions)
    path = instances_path(conf, state)
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o711)  # traversable, not listable
    session = ServiceSession.from_config(conf, state.service_tokens)
    driver = LibvirtDriver(conf.libvirt.uri, conf.libvirt.virt_type, node_uuid,
                           conf.libvirt.run_qemu_as_root, conf.libvirt.guest_cpu_readback)
    cache = ImageCache(path, conf.compute.force_raw_images)
    cache.prepare()
    disks = instance_disks(conf, state, path, driver, node_uuid)
    timeout = conf.compute.image_download_timeout

    def inventory() -> HostInventory:
        info = driver.host_info()
        disk_gb = shutil.disk_usage(path).total // GiB
        return HostInventory(
            vcpus=info.vcpus, memory_mb=info.memory_mb, disk_gb=disk_gb,
            cpu_allocation_ratio=conf.compute.cpu_allocation_ratio,
            ram_allocation_ratio=conf.compute.ram_allocation_ratio,
            disk_allocation_ratio=conf.compute.disk_allocation_ratio,
            reserved_vcpus=conf.compute.reserved_host_cpus,
            reserved_memory_mb=conf.compute.reserved_host_memory_mb,
            reserved_disk_mb=conf.compute.reserved_host_disk_mb)

    def service_caller() -> Caller:
        token = session.token()
        return Caller(None, service.codec.decode(token).project_id)

    settings = Settings(
        host=hostname, host_ip=host_ip(conf), node_uuid=node_uuid, instances_path=path,
        initiator_iqn=conf.libvirt.iscsi_initiator_name
        or f"iqn.2010-10.org.pocketstack:compute-{node_uuid}",
        force_config_drive=conf.compute.force_config_drive,
        ephemeral_format=conf.compute.default_ephemeral_format,
        shutdown_timeout=conf.compute.shutdown_timeout, detach_timeout=DETACH_TIMEOUT,
        machine_type=conf.libvirt.machine_type, image_public_url=conf.image.url,
        quota=QuotaLimits(instances=conf.quota.instances, cores=conf.quota.cores,
                          ram=conf.quota.ram),
        max_metadata_items=conf.quota.metadata_items, max_key_pairs=conf.quota.key_pairs,
        vif_plugging_timeout=conf.compute.vif_plugging_timeout,
        dhcp_domain=conf.metadata.dhcp_domain,
        shelved_offload_time=conf.compute.shelved_offload_time,
        ceph_keyrings=state.ceph)
    deps = Deps(
        sessions=service.sessions, notifier=service.notifier, driver=driver, cache=cache,
        disks=disks,
        images=ImageClient(session, conf.image.url, timeout),
        volumes=VolumeClient(session, conf.volume.url, timeout),
        network=NetworkClient(session, conf.network.url, timeout),
        settings=settings, inventory=inventory, service_caller=service_caller,
        builds=ThreadPoolExecutor(conf.compute.max_concurrent_builds,
                                  thread_name_prefix="build"),
        actions=ThreadPoolExecutor(ACTION_THREADS, thread_name_prefix="action"),
        hypervisor=HypervisorLink())  # ready once app.py has connected and reconciled
    return Computed(service=service, deps=deps)
