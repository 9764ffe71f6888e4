"""The flows: what computed does for each request, each readable top to
bottom in one file:

    launch.py      POST /servers            BUILD -> ACTIVE (or ERROR, nothing left)
    terminate.py   DELETE /servers/{id}     everything but the image and volumes goes
    power.py       stop, start, reboot, pause, unpause, suspend, resume
    snapshot.py    createImage              a new image in imaged
    volume_snapshot.py  createImage of a volume-backed server: volume snapshots
    boot_volumes.py     (launch) volumes made from images to boot from
    backup.py      createBackup             a snapshot kept in a rotation
    shelve.py      shelve, shelveOffload,   the root disk into an image, the host's
                   unshelve                 resources given back; and back again
    rebuild.py     rebuild                  the server made again from an image
    resize.py      resize, migrate          to a new flavor on this host, old disks kept
    resize_confirm.py  confirmResize,        the old disks dropped, or put back
                   revertResize
    respawn.py     (shared)                 a domain made again from the instance directory
    volumes.py     os-volume_attachments    attach and detach while running
    interfaces.py  os-interface             hot-plug and unplug a NIC
    ports.py       (shared)                 a server's ports in networkd: made or
                                            bound, waited for, given back
    server_disks.py  (shared)               a server's own disks (vda, vdb, swap),
                                            files or RBD images

Every flow has the same shape, as in Nova:
  1. in the API request, one short write transaction checks the server's
     vm_state/task_state and sets the task_state (two actions can never
     both begin: the second gets 409);
  2. the slow work runs after the 202, in a background thread, holding the
     server's lock (so launch, delete and attach on one server take turns);
  3. one short transaction records the outcome, and an event says so.
"""
from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from sqlalchemy.orm import sessionmaker

from computed.db import repository as repo
from computed.db.models import Instance
from computed.domain.claims import HostInventory, QuotaLimits
from computed.hypervisor import HypervisorLink
from computed.imagecache import ImageCache
from computed.instance_events import InstanceEvents
from computed.virt.driver import ComputeDriver
from computed.virt.imagebackend import InstanceDisks
from shared.clients import Caller, ImageClient, NetworkClient, VolumeClient
from shared.context import RequestContext
from shared.db import transaction
from shared.events import Notifier
from shared.request_ids import carried

LOG = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Settings:
    host: str
    host_ip: str              # os-hypervisors' host_ip: [compute] my_ip
    node_uuid: str
    instances_path: Path
    initiator_iqn: str
    force_config_drive: bool
    ephemeral_format: str
    shutdown_timeout: float
    detach_timeout: float
    machine_type: str
    image_public_url: str
    quota: QuotaLimits
    max_metadata_items: int
    max_key_pairs: int
    vif_plugging_timeout: float = 60.0  # 0: do not wait for networkd to plug ports
    dhcp_domain: str = ""  # appended to hostnames in the metadata ([metadata] dhcp_domain)
    shelved_offload_time: int = 0  # 0: offload at once after shelve; -1: never
    #: Where the keyrings of the cephx users of rbd volumes are (the stack's
    #: etc/ceph: ceph.client.<user>.keyring), for their libvirt secrets.
    ceph_keyrings: Path | None = None


class InstanceLocks:
    """One lock per server: its background flows take turns."""

    def __init__(self):
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    @contextmanager
    def hold(self, uuid: str):
        with self._guard:
            lock = self._locks.setdefault(uuid, threading.Lock())
        with lock:
            yield


@dataclass
class Deps:
    """Everything a flow needs, built once per worker process by app.py."""
    sessions: sessionmaker
    notifier: Notifier
    driver: ComputeDriver
    cache: ImageCache
    disks: InstanceDisks      # where vda, vdb and swap live ([libvirt] images_type)
    images: ImageClient
    volumes: VolumeClient
    network: NetworkClient
    settings: Settings
    inventory: Callable[[], HostInventory]
    service_caller: Callable[[], Caller]
    builds: ThreadPoolExecutor
    actions: ThreadPoolExecutor
    locks: InstanceLocks = field(default_factory=InstanceLocks)
    # what other services said of a server (network-vif-plugged), for who waits
    instance_events: InstanceEvents = field(default_factory=InstanceEvents)
    # connected to libvirt and reconciled since the start (computed/hypervisor.py)
    hypervisor: HypervisorLink = field(default_factory=HypervisorLink.connected)

    def instance_dir(self, uuid: str) -> Path:
        return self.settings.instances_path / uuid

    def caller(self, ctx: RequestContext | None) -> Caller:
        """The user's token when there is one, else the service's own."""
        if ctx is not None and ctx.auth_token and ctx.project_id:
            return Caller(ctx.auth_token, ctx.project_id)
        return self.service_caller()

    def event(self, ctx: RequestContext | None, event_type: str, instance: Instance,
              session=None, **extra) -> None:
        payload = instance_payload(instance)
        payload.update(extra)
        self.notifier.notify(ctx, event_type, resource_type="instance",
                             resource_id=instance.uuid, project_id=instance.project_id,
                             payload=payload, session=session)

    def background(self, pool: ThreadPoolExecutor, name: str, work: Callable[[], object]):
        """Run `work` after the response; a crash in it is logged (the flow
        records its own failures: this is the last net)."""
        def run():
            try:
                work()
            except Exception:
                LOG.exception("background work %s failed", name)
        return pool.submit(carried(run))  # logs with the request's id


def instance_payload(instance: Instance) -> dict:
    return {"instance_id": instance.uuid, "display_name": instance.display_name,
            "tenant_id": instance.project_id, "user_id": instance.user_id,
            "image_ref_url": instance.image_ref, "instance_type": (instance.flavor or {})
            .get("name"), "vcpus": instance.vcpus, "memory_mb": instance.memory_mb,
            "root_gb": instance.root_gb, "ephemeral_gb": instance.ephemeral_gb,
            "state": instance.vm_state, "task_state": instance.task_state,
            "power_state": instance.power_state, "host": instance.host}


def fault(message: str, exc: BaseException | None = None, code: int = 500) -> dict:
    """A server's fault, as Nova shows it; details (the traceback) are for
    admins only (the API leaves them out for others)."""
    details = "".join(traceback.format_exception(exc)) if exc is not None else ""
    return {"code": code, "message": message[:255], "details": details,
            "created": repo.now().isoformat(timespec="seconds") + "Z"}


def finish_task(deps: Deps, uuid: str, expected_task: str | None, **values) -> Instance | None:
    """Record an action's outcome, unless another action (a delete) took the
    server over meanwhile: then its task_state is no longer ours, and we
    change nothing. Returns the server if the values were set."""
    with transaction(deps.sessions) as session:
        instance = repo.get_instance(session, uuid, None, include_deleted=True)
        if instance.task_state != expected_task or instance.deleted:
            return None
        for key, value in values.items():
            setattr(instance, key, value)
        instance.updated_at = repo.now()
        return instance


@contextmanager
def beside(work: Callable[[], T]) -> Iterator[Future[T]]:
    """Run `work` in a thread of its own (with the request's ids) while the
    block runs: its Future is what the block gets, for its result after
    the block. The block never ends before `work` does, even when it fails,
    so whatever `work` made is on the flow's Undo before the undo runs."""
    with ThreadPoolExecutor(1, thread_name_prefix="beside") as pool:
        future = pool.submit(carried(work))
        try:
            yield future
        finally:
            wait([future])


class Undo:
    """What a flow has built so far, undone in reverse order if it fails.
    Each undo step is tried even if an earlier one failed, but after a
    failed `holding` step: what it could not take away (a disk the guest
    keeps) still uses what was built before it (the volume's export and
    secret), so the steps below it are kept; `held` then says so. Steps that
    run beside each other (beside()) push onto the same Undo: what each made
    is independent of the other's, so their interleaving does not matter."""

    def __init__(self):
        self._steps: list[tuple[str, Callable[[], object], bool]] = []
        self.held = False

    def push(self, what: str, step: Callable[[], object], holding: bool = False) -> None:
        self._steps.append((what, step, holding))

    def run(self) -> list[str]:
        problems = []
        while self._steps:
            what, step, holding = self._steps.pop()
            try:
                step()
            except Exception as exc:
                LOG.exception("undo: %s failed", what)
                problems.append(f"{what}: {exc}")
                if holding:
                    self.held = True
                    kept = [kept_what for kept_what, *_ in reversed(self._steps)]
                    LOG.warning("undo: kept, since %s failed: %s", what, "; ".join(kept))
                    self._steps.clear()
        return problems
