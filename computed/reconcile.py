"""Making the database and libvirt agree again: at every start of computed,
and every sync_power_state_interval seconds after.

computed can stop at any moment (a crash, `pocketstack down`, a reboot of
the host) while libvirt and the guests go on. At start it looks at every
server of this node and at every domain libvirt reports for this node:

    server being built (BUILD)      its flow died with the old process: what
                                    it built is removed (its ports given
                                    back), the server is ERROR
    server being deleted            the delete is finished
    server shelving, offloading     shelve.recover: an offload is done again,
    or unshelving                   a half-made unshelve undone (shelved_offloaded)
    server rebuilding               ERROR (its old disk may be gone), as Nova
    server resizing or migrating    rolled back to its old flavor, directory and
                                    domain; a revert or confirm is finished
    server with another task        the task is dropped; the state is read
                                    from libvirt (a snapshot image left half
                                    made is deleted)
    ACTIVE, domain stopped          SHUTOFF (the guest or QEMU went away)
    domain missing                  ERROR, "the domain is missing"
    domain of no live server        destroyed and undefined (only domains
                                    marked with this node's id)
    secret of no volume mapping     removed (only this node's)

The periodic pass does the middle part only, for servers with no task
running: what Nova's _sync_power_states does.
"""
from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable

from computed.db import repository as repo
from computed.domain import states
from computed.flows import Deps, fault, ports, rebuild, resize_confirm, shelve
from computed.flows.terminate import terminate
from computed.flows.volumes import release_volume
from computed.virt.guest import SECRET_USAGE_PREFIX
from shared.db import transaction

LOG = logging.getLogger(__name__)


class Reconciler:
    def __init__(self, deps: Deps):
        self.deps = deps

    # --- at start ------------------------------------------------------------------------
    def startup(self) -> dict[str, list[str]]:
        deps = self.deps
        report: dict[str, list[str]] = {"interrupted_builds": [], "finished_deletes": [],
                                        "cleared_tasks": [], "power_synced": [],
                                        "orphan_domains": [], "orphan_secrets": [],
                                        "shelve_recovered": [], "interrupted_moves": []}
        with transaction(deps.sessions, write=False) as session:
            servers = [(i.uuid, i.vm_state, i.task_state) for i in repo.live_instances(session)
                       if i.host in (None, deps.settings.host)]
        for uuid, vm_state, task_state in servers:
            if task_state == states.DELETING:
                terminate(deps, None, uuid)
                report["finished_deletes"].append(uuid)
            elif vm_state == states.BUILDING:
                self._fail_interrupted_build(uuid)
                report["interrupted_builds"].append(uuid)
            elif task_state in states.SHELVE_TASKS or (
                    vm_state == states.SHELVED_OFFLOADED and task_state is not None):
                report["shelve_recovered"].append(
                    f"{uuid}: {shelve.recover(deps, uuid, vm_state, task_state)}")
            elif task_state in states.REBUILD_TASKS:
                rebuild.recover_interrupted(deps, uuid)
                report["interrupted_moves"].append(f"{uuid}: rebuild -> error")
            elif task_state in states.RESIZE_TASKS + (states.RESIZE_REVERTING,) or \
                    vm_state == states.RESIZED:
                done = resize_confirm.recover_interrupted(deps, uuid, task_state)
                if done != "left as it is":
                    report["interrupted_moves"].append(f"{uuid}: {done}")
            elif task_state is not None:
                self._clear_task(uuid, task_state)
                report["cleared_tasks"].append(uuid)
        report["power_synced"] = self.sync_power_states(include_busy=True)
        self._remove_orphans(report)
        if any(report.values()):
            LOG.info("reconciled with libvirt: %s", {k: v for k, v in report.items() if v})
        return report

    def _fail_interrupted_build(self, uuid: str) -> None:
        """The launch flow died with the old process: remove what it made."""
        deps = self.deps
        caller = deps.service_caller()
        with transaction(deps.sessions, write=False) as session:
            instance = repo.get_instance(session, uuid, None)
            domain_name, volumes = instance.domain_name, list(instance.volumes)
        problems = []
        for step, action in [("domain", lambda: deps.driver.destroy(domain_name)),
                             ("ports", lambda: ports.release_all(deps, caller, uuid))] + [
                (f"volume {bdm.volume_id}", lambda bdm=bdm: _release(deps, caller, bdm))
                for bdm in volumes] + [
                ("files", lambda: _remove_dir(deps, uuid))]:
            try:
                action()
            except Exception as exc:
                problems.append(f"{step}: {exc}")
        with transaction(deps.sessions) as session:
            instance = repo.get_instance(session, uuid, None)
            message = "computed restarted while the server was being built"
            if problems:
                message += "; cleaning up left: " + "; ".join(problems)
            instance.vm_state, instance.task_state = states.ERROR, None
            instance.power_state, instance.claimed = states.NOSTATE, False
            instance.host = instance.node = None
            instance.fault = fault(message)
            for bdm in list(instance.block_devices):
                session.delete(bdm)
            if not problems:
                for vif in list(instance.vifs):
                    session.delete(vif)
            deps.event(None, "compute.instance.create.error", instance, session=session,
                       reason=message)

    def _clear_task(self, uuid: str, task_state: str) -> None:
        deps = self.deps
        with transaction(deps.sessions) as session:
            instance = repo.get_instance(session, uuid, None)
            instance.task_state = None
            for bdm in list(instance.volumes):
                if bdm.status == "detaching":
                    bdm.status = "attached"  # the detach can be asked again
            deps.event(None, "compute.instance.task.cleared", instance, session=session,
                       task_state=task_state)
        if task_state in states.SNAPSHOT_TASKS:
            LOG.info("a snapshot of %s was interrupted; its image stays queued in imaged "
                     "until its owner deletes it", uuid)

    def _remove_orphans(self, report: dict) -> None:
        deps = self.deps
        guests = {guest.uuid: guest for guest in deps.driver.list_guests()}
        with transaction(deps.sessions, write=False) as session:
            live = {i.uuid: i for i in repo.live_instances(session)}
            secrets_in_use = {bdm.secret_uuid for i in live.values() for bdm in i.volumes
                              if bdm.secret_uuid}
        for uuid, guest in guests.items():
            if uuid not in live:
                LOG.warning("domain %s belongs to no live server: destroying it",
                            guest.domain_name)
                deps.driver.destroy(guest.domain_name)
                report["orphan_domains"].append(guest.domain_name)
        prefix = f"{SECRET_USAGE_PREFIX}/{deps.settings.node_uuid}/"
        for secret_uuid in deps.driver.list_volume_secrets(prefix):
            if secret_uuid not in secrets_in_use:
                deps.driver.delete_volume_secret(secret_uuid)
                report["orphan_secrets"].append(secret_uuid)

    # --- periodic ------------------------------------------------------------------------
    def sync_power_states(self, include_busy: bool = False) -> list[str]:
        """Compare each server with its domain; returns the servers changed.

        libvirt is asked about each server only once its lock is held and
        its task_state is seen to be empty: a state read earlier could be
        from the middle of an action that has finished since (a hard reboot
        between its power-off and its start) and would undo it."""
        deps = self.deps
        changed = []
        with transaction(deps.sessions, write=False) as session:
            candidates = [i.uuid for i in repo.live_instances(session)
                          if i.host == deps.settings.host and i.vm_state not in
                          (states.BUILDING, states.ERROR)
                          and (i.task_state is None or include_busy)]
        for uuid in candidates:
            with deps.locks.hold(uuid), transaction(deps.sessions) as session:
                instance = repo.get_instance(session, uuid, None, include_deleted=True)
                if instance.deleted or instance.task_state is not None:
                    continue
                power_state = deps.driver.power_state(instance.domain_name)
                if power_state == states.NOSTATE:
                    instance.vm_state, instance.power_state = states.ERROR, states.NOSTATE
                    instance.fault = fault(f"The domain {instance.domain_name} is missing "
                                           f"from libvirt.")
                    deps.event(None, "compute.instance.domain.missing", instance,
                               session=session)
                    changed.append(uuid)
                    continue
                new_vm_state = states.vm_state_for_power(power_state, instance.vm_state)
                if power_state != instance.power_state or new_vm_state:
                    instance.power_state = power_state
                    if new_vm_state:
                        LOG.info("server %s: libvirt says %s, so %s -> %s", uuid,
                                 states.POWER_STATE_NAMES.get(power_state),
                                 instance.vm_state, new_vm_state)
                        instance.vm_state = new_vm_state
                        deps.event(None, "compute.instance.power.synced", instance,
                                   session=session)
                    instance.updated_at = repo.now()
                    changed.append(uuid)
        return changed


def _release(deps: Deps, caller, bdm) -> None:
    release_volume(deps, caller, bdm)


def _remove_dir(deps: Deps, uuid: str) -> None:
    """The server's disks where they lie (RBD images too), and its directory."""
    deps.disks.remove(uuid)
    directory = deps.instance_dir(uuid)
    if directory.exists():
        shutil.rmtree(directory)


class Periodic:
    """The periodic tasks, each on its own interval, in one thread."""

    def __init__(self, tasks: list[tuple[str, float, Callable[[], object]]]):
        self.tasks = [(name, interval, task) for name, interval, task in tasks if interval]
        self.stop = threading.Event()

    def start(self) -> None:
        if self.tasks:
            threading.Thread(target=self._loop, name="computed-periodic", daemon=True).start()

    def _loop(self) -> None:
        due = {name: time.monotonic() + interval for name, interval, _ in self.tasks}
        while not self.stop.is_set():
            now = time.monotonic()
            for name, interval, task in self.tasks:
                if now >= due[name]:
                    try:
                        task()
                    except Exception:
                        LOG.exception("periodic task %s failed", name)
                    due[name] = time.monotonic() + interval
            self.stop.wait(max(0.0, min(due.values()) - time.monotonic()))
