"""Shelve, shelve offload and unshelve (`openstack server shelve
[--offload]`, `openstack server unshelve`), as Nova's 2.1 shelve.py:

    {"shelve": null}          202   os_compute_api:os-shelve:shelve (members)
    {"shelveOffload": null}   202   os_compute_api:os-shelve:shelve_offload (admins)
    {"unshelve": null}        202   os_compute_api:os-shelve:unshelve (members);
                                    before 2.77 the value is not looked at

A locked server is 409 for its project's members ("Instance <id> is
locked"), a state that does not allow the action is 409 with Nova's
message. The work is flows/shelve.py.
"""
from __future__ import annotations

from flask import Response

from computed.api import locking
from computed.api.common import project_scope, runtime
from computed.api.targets import authorize_on_server
from computed.domain import states
from computed.flows import shelve
from shared.api import context
from shared.errors import Conflict


def _conflict(action: str, server_id: str, exc: Exception) -> Conflict:
    if isinstance(exc, states.InvalidState):
        return Conflict(f"Cannot '{action}' instance {server_id} while it is in "
                        f"{exc.attribute} {exc.value}")
    return Conflict(str(exc))


def shelve_server(server_id: str) -> Response:
    ctx, deps = context(), runtime().deps
    authorize_on_server(server_id, "os-shelve:shelve")
    locking.check_unlocked(server_id)
    try:
        image_id = shelve.begin_shelve(deps, ctx, server_id, project_scope())
    except (states.InvalidState, states.NotReady) as exc:
        raise _conflict("shelve", server_id, exc) from None
    deps.background(deps.actions, f"shelve-{server_id}",
                    lambda: shelve.shelve(deps, ctx, server_id, image_id))
    return Response(status=202)


def shelve_offload_server(server_id: str) -> Response:
    ctx, deps = context(), runtime().deps
    authorize_on_server(server_id, "os-shelve:shelve_offload")
    locking.check_unlocked(server_id)
    try:
        shelve.begin_offload(deps, ctx, server_id, project_scope())
    except (states.InvalidState, states.NotReady) as exc:
        raise _conflict("shelveOffload", server_id, exc) from None
    deps.background(deps.actions, f"shelve-offload-{server_id}",
                    lambda: shelve.shelve_offload(deps, ctx, server_id))
    return Response(status=202)


def unshelve_server(server_id: str) -> Response:
    ctx, deps = context(), runtime().deps
    authorize_on_server(server_id, "os-shelve:unshelve")
    locking.check_unlocked(server_id)
    try:
        shelve.begin_unshelve(deps, ctx, server_id, project_scope())
    except (states.InvalidState, states.NotReady) as exc:
        raise _conflict("unshelve", server_id, exc) from None
    deps.background(deps.builds, f"unshelve-{server_id}",
                    lambda: shelve.unshelve(deps, ctx, server_id))
    return Response(status=202)
