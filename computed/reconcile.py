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
    volume mapping attaching        its attach died (in the request or the
                                    flow): finished if its disk is plugged
                                    (volumed told it is complete), else
                                    undone (secret and attachment deleted,
                                    mapping removed)
    volume mapping detaching        its detach died: finished (unplugged,
                                    released, removed), or attached again if
                                    the guest keeps the disk
    ACTIVE, domain stopped          SHUTOFF (the guest or QEMU went away)
    domain missing                  ERROR, "the domain is missing"
    domain of no live server, or    destroyed and undefined (only domains
    of a failed build (ERROR, no    marked with this node's id)
    host: its undo could not reach
    libvirtd)
    secret of no volume mapping     removed (only this node's)
    snapshot copy left in           removed (nothing copies at start)
    <instances>/snapshots/
    snapshot or backup image        deleted in imaged: its server has no
    still queued                    snapshot task any more, so no flow will
                                    ever upload it (a snapshot cut short by
                                    a restart of computed, or whose own
                                    delete failed because imaged was down)

The last one asks imaged, with a token of computed's own: it is the first
thing the periodic thread does (after_startup), not part of the start, so
that the API answers without waiting for a login (a password check costs
identity a bcrypt hash, a quarter of a second). The settling of volume
mappings logs in only when there is one to settle.

The periodic pass does the power part, for servers with no task running
(what Nova's _sync_power_states does), then the stray domains, secrets and
queued snapshot images again (libvirtd or imaged may have been down at the
last try).
"""
from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable

from sqlalchemy import select

from computed.db import repository as repo
from computed.db.models import BlockDeviceMapping, Instance
from computed.domain import states
from computed.flows import Deps, fault, ports, rebuild, resize_confirm, shelve
from computed.flows.terminate import terminate
from computed.flows.volumes import mapping, release_volume
from computed.virt.guest import SECRET_USAGE_PREFIX
from shared.db import transaction

LOG = logging.getLogger(__name__)
# At start a guest gets less time to let a disk go: `pocketstack up` waits
# for computed (a mapping left detaching is tried again at the next start).
STARTUP_DETACH_TIMEOUT = 30.0


class Reconciler:
    def __init__(self, deps: Deps):
        self.deps = deps

    # --- at start ------------------------------------------------------------------------
    def startup(self) -> dict[str, list[str]]:
        deps = self.deps
        report: dict[str, list[str]] = {"interrupted_builds": [], "finished_deletes": [],
                                        "cleared_tasks": [], "power_synced": [],
                                        "orphan_domains": [], "orphan_secrets": [],
                                        "shelve_recovered": [], "interrupted_moves": [],
                                        "snapshot_copies": [], "volume_changes": []}
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
        report["volume_changes"] = self._settle_volume_changes()
        report["power_synced"] = self.sync_power_states(include_busy=True)
        self._remove_orphans(report)
        report["snapshot_copies"] = self._remove_snapshot_copies()
        if any(report.values()):
            LOG.info("reconciled with libvirt: %s", {k: v for k, v in report.items() if v})
        return report

    def after_startup(self) -> dict[str, list[str]]:
        """What the start leaves to the periodic thread: the clean-up that
        asks other services."""
        report = {"unfinished_images": self.delete_unfinished_images()}
        if any(report.values()):
            LOG.info("reconciled with imaged: %s", report)
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

    def _settle_volume_changes(self) -> list[str]:
        """Attaches and detaches that died with the old process (their
        mappings still attaching or detaching), settled by what the guest
        has:

            attaching, disk plugged     the attach is finished: every step
                                        but the last was done (the secret is
                                        defined, the volume exported and
                                        plugged); volumed is told it is
                                        complete, the mapping is attached
            attaching, disk not plugged undone: secret and attachment
                                        released, mapping removed
            detaching                   finished: unplugged, released,
                                        removed; if the guest does not let
                                        the disk go, the mapping is attached
                                        again (the detach can be asked
                                        again), as the detach flow's own
                                        error leaves it

        The volume is never released while its disk is still plugged: the
        guest would keep a disk whose export and secret are gone. A mapping
        that cannot be settled now (volumed away) stays as it was: the next
        start tries again."""
        deps = self.deps
        with transaction(deps.sessions, write=False) as session:
            unfinished = [(i.uuid, i.domain_name, bdm.id, bdm.volume_id, bdm.device_name,
                           bdm.status)
                          for i in repo.live_instances(session)
                          if i.host in (None, deps.settings.host)
                          and i.task_state not in states.SHELVE_TASKS
                          # an offloaded server's volumes wait, reserved, for
                          # its unshelve: attaching is their true state
                          and i.vm_state != states.SHELVED_OFFLOADED
                          for bdm in i.volumes if bdm.status in ("attaching", "detaching")]
        if not unfinished:
            return []  # no token asked: a login costs identity a password hash
        caller = deps.service_caller()
        settled = []
        for uuid, domain_name, bdm_id, volume_id, device, was in unfinished:
            try:
                plugged = device is not None and deps.driver.has_volume(domain_name, device)
                if plugged and was == "attaching":
                    outcome = self._finish_attach(caller, uuid, bdm_id)
                else:
                    outcome = self._release_mapping(caller, uuid, domain_name, bdm_id,
                                                    device, plugged, was)
            except Exception as exc:
                LOG.warning("volume %s of %s stays %s: %s", volume_id, uuid, was, exc)
                continue
            settled.append(f"{uuid}: volume {volume_id} was {was}, {outcome}")
        return settled

    def _finish_attach(self, caller, uuid: str, bdm_id: int) -> str:
        deps = self.deps
        with transaction(deps.sessions, write=False) as session:
            bdm = session.get(BlockDeviceMapping, bdm_id)
            attachment_id = bdm.attachment_id if bdm is not None else None
        if attachment_id is None:
            raise RuntimeError("its attachment is not recorded")
        deps.volumes.complete(caller, attachment_id)  # done twice is fine
        with transaction(deps.sessions) as session:
            bdm = mapping(session, bdm_id)
            instance = repo.get_instance(session, uuid, None, include_deleted=True)
            bdm.status = "attached"
            deps.event(None, "compute.instance.volume.attach.end", instance, session=session,
                       volume_id=bdm.volume_id, device=f"/dev/{bdm.device_name}")
        return "attached (its disk was plugged)"

    def _release_mapping(self, caller, uuid: str, domain_name: str, bdm_id: int,
                         device: str | None, plugged: bool, was: str) -> str:
        deps = self.deps
        if device:
            live = deps.driver.power_state(domain_name) in (states.RUNNING,
                                                            states.PAUSED_POWER)
            try:
                deps.driver.detach_volume(domain_name, device, live,
                                          min(deps.settings.detach_timeout,
                                              STARTUP_DETACH_TIMEOUT))
            except Exception as exc:
                if plugged and deps.driver.has_volume(domain_name, device):
                    return self._attached_again(uuid, bdm_id, f"{device} stays plugged: {exc}")
                LOG.info("%s of %s was not plugged: %s", device, uuid, exc)
        with transaction(deps.sessions) as session:
            bdm = session.get(BlockDeviceMapping, bdm_id)
            if bdm is None:
                return "gone meanwhile"
            release_volume(deps, caller, bdm)
            instance = repo.get_instance(session, uuid, None, include_deleted=True)
            volume_id = bdm.volume_id
            session.delete(bdm)
            # an attach is undone (error), a detach is done (end)
            outcome = "attach.error" if was == "attaching" else "detach.end"
            deps.event(None, f"compute.instance.volume.{outcome}", instance,
                       session=session, volume_id=volume_id,
                       reason="computed restarted during the change; the volume was "
                              "released")
        return "released"

    def _attached_again(self, uuid: str, bdm_id: int, reason: str) -> str:
        """A detach whose disk the guest keeps: the volume stays attached."""
        deps = self.deps
        with transaction(deps.sessions) as session:
            bdm = mapping(session, bdm_id)
            instance = repo.get_instance(session, uuid, None, include_deleted=True)
            bdm.status = "attached"
            instance.fault = fault(f"Detaching volume {bdm.volume_id} failed: {reason}")
            deps.event(None, "compute.instance.volume.detach.error", instance,
                       session=session, volume_id=bdm.volume_id, reason=reason)
        return f"attached again ({reason})"

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
            LOG.info("a snapshot of %s was interrupted; its image is deleted", uuid)

    def _remove_orphans(self, report: dict) -> None:
        report["orphan_domains"] += self.remove_stray_domains()
        report["orphan_secrets"] += self.remove_stray_secrets()

    def remove_stray_secrets(self) -> list[str]:
        """Delete this node's volume secrets no live mapping names (a build
        or an attach whose undo could not reach libvirtd left them). libvirt
        is asked first, the database second: a mapping records its secret's
        uuid before the secret is defined, so a secret listed is never one
        whose mapping is still to be written."""
        deps = self.deps
        prefix = f"{SECRET_USAGE_PREFIX}/{deps.settings.node_uuid}/"
        defined = deps.driver.list_volume_secrets(prefix)
        with transaction(deps.sessions, write=False) as session:
            in_use = {bdm.secret_uuid for i in repo.live_instances(session)
                      for bdm in i.volumes if bdm.secret_uuid}
        removed = []
        for secret_uuid in defined:
            if secret_uuid not in in_use:
                try:
                    deps.driver.delete_volume_secret(secret_uuid)
                except Exception as exc:
                    LOG.warning("cannot delete secret %s yet: %s", secret_uuid, exc)
                    continue
                removed.append(secret_uuid)
        return removed

    def remove_stray_domains(self) -> list[str]:
        """Destroy this node's domains that no server on this host owns: a
        domain of no live server, or of a server whose build failed (ERROR
        with no host: its undo could not destroy the domain, libvirtd being
        down then). Each is decided under the server's lock, on a fresh
        read. Returns the domains destroyed."""
        deps = self.deps
        destroyed = []
        for guest in deps.driver.list_guests():
            if self._owned(guest.uuid):
                continue  # (read without its lock first: a build holds it for long)
            with deps.locks.hold(guest.uuid):
                if self._owned(guest.uuid):
                    continue
                LOG.warning("domain %s belongs to no server on this host: destroying it",
                            guest.domain_name)
                try:
                    deps.driver.destroy(guest.domain_name)
                except Exception as exc:
                    LOG.warning("cannot destroy %s yet: %s", guest.domain_name, exc)
                    continue
            destroyed.append(guest.domain_name)
        return destroyed

    def _owned(self, uuid: str) -> bool:
        with transaction(self.deps.sessions, write=False) as session:
            instance = session.scalar(select(Instance).where(Instance.uuid == uuid))
            return instance is not None and not instance.deleted and not (
                instance.vm_state == states.ERROR and instance.host is None)

    def _remove_snapshot_copies(self) -> list[str]:
        """At start nothing copies a disk: what is in snapshots/ was left by
        a snapshot that died with the old process."""
        directory = self.deps.settings.instances_path / "snapshots"
        removed = []
        for copy in sorted(directory.glob("*")) if directory.exists() else []:
            copy.unlink(missing_ok=True)
            removed.append(copy.name)
        return removed

    def delete_unfinished_images(self) -> list[str]:
        """Delete the snapshot and backup images still queued in imaged whose
        server (on this host) has no snapshot task: their flow is over and
        will never upload them. Returns the images deleted.

        Why this order is safe against a snapshot starting meanwhile: the
        images are listed first, then each server's task is read under its
        lock; an image listed before its server was seen without a task
        belongs to a snapshot that is over (a new one makes its image after
        setting its task), and each is read again just before the delete
        (one that became active meanwhile is kept)."""
        deps = self.deps
        caller = deps.service_caller()
        try:
            queued = [image for image in deps.images.find(caller, status="queued")
                      if image.get("image_type") in ("snapshot", "backup")
                      and image.get("instance_uuid")]
        except Exception as exc:
            LOG.warning("cannot list queued snapshot images: %s", exc)
            return []
        deleted = []
        for image in queued:
            uuid = image["instance_uuid"]
            with deps.locks.hold(uuid), transaction(deps.sessions, write=False) as session:
                instance = session.scalar(select(Instance).where(Instance.uuid == uuid))
                busy = instance is None or not instance.deleted and (
                    instance.host not in (None, deps.settings.host)
                    or instance.task_state in states.SNAPSHOT_TASKS + states.SHELVE_TASKS)
            if busy:
                continue  # another node's server, or its snapshot still runs
            try:
                current = deps.images.show(caller, image["id"])
                if current is None or current.get("status") != "queued":
                    continue
                deps.images.delete(caller, image["id"])
            except Exception as exc:
                LOG.warning("cannot delete the unfinished image %s of server %s yet: %s",
                            image["id"], uuid, exc)
                continue
            LOG.info("deleted image %s: the snapshot of server %s that made it is over and "
                     "never uploaded it", image["id"], uuid)
            deleted.append(image["id"])
        return deleted

    # --- periodic ------------------------------------------------------------------------
    def sync_power_states(self, include_busy: bool = False) -> list[str]:
        """Compare each server with its domain; returns the servers changed.
        As the periodic task (include_busy false), the queued snapshot
        images are looked at after (delete_unfinished_images).

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
        if not include_busy:
            self.remove_stray_domains()
            self.remove_stray_secrets()
            self.delete_unfinished_images()
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
    """The periodic tasks, each on its own interval, in one thread; first
    (if given) runs once in that thread before them."""

    def __init__(self, tasks: list[tuple[str, float, Callable[[], object]]],
                 first: Callable[[], object] | None = None):
        self.tasks = [(name, interval, task) for name, interval, task in tasks if interval]
        self.first = first
        self.stop = threading.Event()

    def start(self) -> None:
        if self.tasks or self.first:
            threading.Thread(target=self._loop, name="computed-periodic", daemon=True).start()

    def _loop(self) -> None:
        if self.first:
            try:
                self.first()
            except Exception:
                LOG.exception("the first periodic pass failed")
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
