"""The state of a server, as Nova keeps it, and which action is allowed when.

Nova describes a server with three values:

    vm_state     what the server is, stably (active, stopped, paused, ...)
    task_state   what is being done to it right now (None when nothing)
    power_state  what the hypervisor last said about the domain

and shows users one `status` computed from the first two (ACTIVE, BUILD,
SHUTOFF, REBOOT ...). An action first checks vm_state and task_state, then
sets its task_state in the same database transaction (compare-and-set), so
two actions can never run on one server at once: the second gets 409.
Everything here is plain Python, tested without a server.
"""
from __future__ import annotations

from dataclasses import dataclass

# vm_state
ACTIVE = "active"
BUILDING = "building"
STOPPED = "stopped"
PAUSED = "paused"
SUSPENDED = "suspended"
ERROR = "error"
RESIZED = "resized"   # resized or migrated, waiting for confirm or revert
DELETED = "deleted"
SHELVED = "shelved"                       # powered off, its root disk kept as an image
SHELVED_OFFLOADED = "shelved_offloaded"   # ... and nothing of it left on a host

# task_state
SCHEDULING = "scheduling"
NETWORKING = "networking"
BLOCK_DEVICE_MAPPING = "block_device_mapping"
SPAWNING = "spawning"
POWERING_OFF = "powering-off"
POWERING_ON = "powering-on"
REBOOTING = "rebooting"
REBOOTING_HARD = "rebooting_hard"
PAUSING = "pausing"
UNPAUSING = "unpausing"
SUSPENDING = "suspending"
RESUMING = "resuming"
IMAGE_SNAPSHOT = "image_snapshot"
IMAGE_PENDING_UPLOAD = "image_pending_upload"
IMAGE_UPLOADING = "image_uploading"
DELETING = "deleting"
REBUILDING = "rebuilding"
REBUILD_BLOCK_DEVICE_MAPPING = "rebuild_block_device_mapping"
REBUILD_SPAWNING = "rebuild_spawning"
RESIZE_PREP = "resize_prep"
RESIZE_MIGRATING = "resize_migrating"
RESIZE_MIGRATED = "resize_migrated"
RESIZE_FINISH = "resize_finish"
RESIZE_REVERTING = "resize_reverting"
IMAGE_BACKUP = "image_backup"
SHELVING = "shelving"
SHELVING_IMAGE_PENDING_UPLOAD = "shelving_image_pending_upload"
SHELVING_IMAGE_UPLOADING = "shelving_image_uploading"
SHELVING_OFFLOADING = "shelving_offloading"
UNSHELVING = "unshelving"

SNAPSHOT_TASKS = (IMAGE_SNAPSHOT, IMAGE_BACKUP, IMAGE_PENDING_UPLOAD, IMAGE_UPLOADING)
SHELVE_TASKS = (SHELVING, SHELVING_IMAGE_PENDING_UPLOAD, SHELVING_IMAGE_UPLOADING,
                SHELVING_OFFLOADING, UNSHELVING)

# power_state (the integers Nova and the clients use)
NOSTATE = 0
RUNNING = 1
PAUSED_POWER = 3
SHUTDOWN = 4
CRASHED = 6
SUSPENDED_POWER = 7
POWER_STATE_NAMES = {NOSTATE: "NOSTATE", RUNNING: "Running", PAUSED_POWER: "Paused",
                     SHUTDOWN: "Shutdown", CRASHED: "Crashed",
                     SUSPENDED_POWER: "Suspended"}

# (vm_state, task_state) -> status, as nova/api/openstack/common.py maps them.
# A task_state not listed for a vm_state shows the vm_state's default.
_STATUS = {
    ACTIVE: {"default": "ACTIVE", REBOOTING: "REBOOT", REBOOTING_HARD: "HARD_REBOOT"},
    BUILDING: {"default": "BUILD"},
    STOPPED: {"default": "SHUTOFF", REBOOTING_HARD: "HARD_REBOOT"},
    PAUSED: {"default": "PAUSED", REBOOTING_HARD: "HARD_REBOOT"},
    SUSPENDED: {"default": "SUSPENDED", REBOOTING_HARD: "HARD_REBOOT"},
    ERROR: {"default": "ERROR", REBOOTING_HARD: "HARD_REBOOT"},
    DELETED: {"default": "DELETED"},
    SHELVED: {"default": "SHELVED"},
    SHELVED_OFFLOADED: {"default": "SHELVED_OFFLOADED"},
}

# Moves (rebuild, resize, cold migrate), as nova/api/openstack/common.py shows them.
REBUILD_TASKS = (REBUILDING, REBUILD_BLOCK_DEVICE_MAPPING, REBUILD_SPAWNING)
RESIZE_TASKS = (RESIZE_PREP, RESIZE_MIGRATING, RESIZE_MIGRATED, RESIZE_FINISH)
for _vm_state, _tasks in ((ACTIVE, REBUILD_TASKS + RESIZE_TASKS),
                          (STOPPED, REBUILD_TASKS + RESIZE_TASKS), (ERROR, REBUILD_TASKS)):
    _STATUS[_vm_state].update({task: "REBUILD" if task in REBUILD_TASKS else "RESIZE"
                               for task in _tasks})
_STATUS[RESIZED] = {"default": "VERIFY_RESIZE", RESIZE_REVERTING: "REVERT_RESIZE"}


def api_status(vm_state: str, task_state: str | None) -> str:
    """The `status` a user sees."""
    table = _STATUS.get(vm_state, {"default": "UNKNOWN"})
    return table.get(task_state or "default", table["default"])


@dataclass(frozen=True)
class Rule:
    """An action is allowed in these vm_states and task_states; while it
    runs, the server's task_state is `task`."""
    vm_states: frozenset[str]
    task_states: frozenset[str | None]
    task: str | None
    needs_host: bool = True  # the server must have been built (have a domain)


def _rule(vm_states, task, task_states=(None,), needs_host=True) -> Rule:
    return Rule(frozenset(vm_states), frozenset(task_states), task, needs_host)


# From nova/compute/api.py's @check_instance_state decorators.
ACTIONS: dict[str, Rule] = {
    "stop": _rule([ACTIVE, ERROR], POWERING_OFF),
    "start": _rule([STOPPED], POWERING_ON),
    "reboot_soft": _rule([ACTIVE], REBOOTING),
    "reboot_hard": _rule([ACTIVE, STOPPED, PAUSED, SUSPENDED, ERROR], REBOOTING_HARD),
    "pause": _rule([ACTIVE], PAUSING),
    "unpause": _rule([PAUSED], UNPAUSING),
    "suspend": _rule([ACTIVE], SUSPENDING),
    "resume": _rule([SUSPENDED], RESUMING),
    "createImage": _rule([ACTIVE, STOPPED, PAUSED, SUSPENDED], IMAGE_SNAPSHOT),
    "createBackup": _rule([ACTIVE, STOPPED, PAUSED, SUSPENDED], IMAGE_BACKUP),
    "shelve": _rule([ACTIVE, STOPPED, PAUSED, SUSPENDED], SHELVING),
    "shelveOffload": _rule([SHELVED], SHELVING_OFFLOADING),
    # an offloaded server has no host: unshelve finds it one
    "unshelve": _rule([SHELVED, SHELVED_OFFLOADED], UNSHELVING, needs_host=False),
    "rebuild": _rule([ACTIVE, STOPPED, ERROR], REBUILDING),
    "resize": _rule([ACTIVE, STOPPED], RESIZE_PREP),
    "migrate": _rule([ACTIVE, STOPPED], RESIZE_PREP),
    # confirm sets no task_state (the migration's status guards it, as Nova's)
    "confirmResize": _rule([RESIZED], None),
    "revertResize": _rule([RESIZED], RESIZE_REVERTING),
    "attach_volume": _rule([ACTIVE, PAUSED, STOPPED], None),
    "detach_volume": _rule([ACTIVE, PAUSED, STOPPED], None),
    # from microversion 2.20 (an offloaded server has no host: unshelve connects)
    "attach_volume_shelved": _rule([SHELVED, SHELVED_OFFLOADED], None, needs_host=False),
    "detach_volume_shelved": _rule([SHELVED, SHELVED_OFFLOADED], None, needs_host=False),
    "attach_interface": _rule([ACTIVE, PAUSED, STOPPED], None),
    "detach_interface": _rule([ACTIVE, PAUSED, STOPPED], None),
}


class InvalidState(Exception):
    """The action is not allowed now (the API answers 409)."""

    def __init__(self, action: str, uuid: str, attribute: str, value):
        self.action, self.uuid, self.attribute, self.value = action, uuid, attribute, value
        super().__init__(f"Cannot '{action}' instance {uuid} while it is in "
                         f"{attribute} {value}")


class NotReady(Exception):
    def __init__(self, uuid: str):
        super().__init__(f"Instance {uuid} is not ready")


def check(action: str, uuid: str, vm_state: str, task_state: str | None,
          host: str | None) -> Rule:
    """Raise InvalidState (or NotReady) unless `action` may start now."""
    rule = ACTIONS[action]
    if vm_state not in rule.vm_states:
        raise InvalidState(action, uuid, "vm_state", vm_state)
    if task_state not in rule.task_states:
        raise InvalidState(action, uuid, "task_state", task_state)
    if rule.needs_host and not host:
        raise NotReady(uuid)
    return rule


# Where a finished action leaves the server: (vm_state, power_state).
AFTER = {
    "stop": (STOPPED, SHUTDOWN),
    "start": (ACTIVE, RUNNING),
    "reboot_soft": (ACTIVE, RUNNING),
    "reboot_hard": (ACTIVE, RUNNING),
    "pause": (PAUSED, PAUSED_POWER),
    "unpause": (ACTIVE, RUNNING),
    "suspend": (SUSPENDED, SHUTDOWN),
    "resume": (ACTIVE, RUNNING),
}


def vm_state_for_power(power_state: int, current_vm_state: str) -> str | None:
    """What vm_state a server should have when libvirt reports
    `power_state` and no task is running (the periodic power sync and the
    restart reconcile). None: leave it as it is.

    As Nova's _sync_instance_power_state: a running server whose domain
    stopped (the guest powered itself off, QEMU died) becomes stopped; a
    domain paused behind our back shows as paused. A suspended server's
    domain is shut off with a saved memory image: that is expected.
    """
    if current_vm_state == ACTIVE:
        if power_state in (SHUTDOWN, CRASHED, NOSTATE):
            return STOPPED
        if power_state == PAUSED_POWER:
            return PAUSED
    if current_vm_state == PAUSED and power_state in (SHUTDOWN, CRASHED, NOSTATE):
        return STOPPED
    if current_vm_state == PAUSED and power_state == RUNNING:
        return ACTIVE
    return None
