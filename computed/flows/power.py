"""Power actions: stop, start, reboot (soft, hard), pause, unpause,
suspend, resume.

Each one is the same three steps: the API checks the server's states and
sets the action's task_state (409 if the action is not allowed now); the
driver acts; the new vm_state and power_state are recorded, with a
compute.instance.<action>.start/.end event pair as Nova sends them.

    stop      ACPI power button, wait up to shutdown_timeout, then hard off
    start     the domain starts again from its disks
    reboot    SOFT: stop as above, start again; HARD: power off now, start
    pause     the vCPUs stop, memory stays in the QEMU process
    suspend   memory saved to disk, QEMU stops (libvirt managed save)
    resume    started again from the saved memory
"""
from __future__ import annotations

import logging

from computed.db import repository as repo
from computed.domain import states
from computed.flows import Deps, fault, finish_task
from shared.context import RequestContext
from shared.db import transaction

LOG = logging.getLogger(__name__)

# action -> (event name, how the driver does it)
OPERATIONS = {
    "stop": ("power_off", lambda d, name, s: d.power_off(name, s.shutdown_timeout)),
    "start": ("power_on", lambda d, name, s: d.power_on(name)),
    "reboot_soft": ("reboot", lambda d, name, s: d.reboot(name, False, s.shutdown_timeout)),
    "reboot_hard": ("reboot", lambda d, name, s: d.reboot(name, True, s.shutdown_timeout)),
    "pause": ("pause", lambda d, name, s: d.pause(name)),
    "unpause": ("unpause", lambda d, name, s: d.unpause(name)),
    "suspend": ("suspend", lambda d, name, s: d.suspend(name)),
    "resume": ("resume", lambda d, name, s: d.resume(name)),
}


def begin(deps: Deps, ctx: RequestContext, uuid: str, project_scope,
          action: str) -> str | None:
    """In the request: check and set the task_state (raises InvalidState or
    NotReady, which the API turns into 409). Returns the task_state."""
    event_name = OPERATIONS[action][0]
    with transaction(deps.sessions) as session:
        instance = repo.get_instance(session, uuid, project_scope)
        task = repo.begin_task(session, instance, action)
        deps.event(ctx, f"compute.instance.{event_name}.start", instance, session=session)
        return task


def run(deps: Deps, ctx: RequestContext, uuid: str, action: str, task: str | None) -> None:
    """In the background: do it, and record the outcome."""
    event_name, operation = OPERATIONS[action]
    with deps.locks.hold(uuid):
        with transaction(deps.sessions, write=False) as session:
            instance = repo.get_instance(session, uuid, None, include_deleted=True)
            if instance.task_state != task:
                return  # a delete took over
            domain_name = instance.domain_name
        try:
            operation(deps.driver, domain_name, deps.settings)
        except Exception as exc:
            LOG.warning("%s of server %s failed: %s", action, uuid, exc)
            power_state = deps.driver.power_state(domain_name)
            done = finish_task(deps, uuid, task, task_state=None, power_state=power_state,
                               fault=fault(f"{action} failed: {exc}", exc))
            if done is not None:
                _event(deps, ctx, uuid, f"compute.instance.{event_name}.error",
                       reason=str(exc))
            return
        vm_state, _expected_power = states.AFTER[action]
        done = finish_task(deps, uuid, task, vm_state=vm_state, task_state=None,
                           power_state=deps.driver.power_state(domain_name))
        if done is not None:
            _event(deps, ctx, uuid, f"compute.instance.{event_name}.end")


def _event(deps: Deps, ctx, uuid: str, event_type: str, **payload) -> None:
    with transaction(deps.sessions) as session:
        instance = repo.get_instance(session, uuid, None, include_deleted=True)
        deps.event(ctx, event_type, instance, session=session, **payload)
