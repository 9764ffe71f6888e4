"""/v2.1/os-hypervisors (admins), /v2.1/limits and /v2.1/os-availability-zone.

What os-hypervisors and /limits show is worked out by the compute API layer
(compute_api.hypervisor_detail, compute_api.limits); here they are
authorized and rendered.
"""
from __future__ import annotations

import json

from flask import Blueprint, jsonify

from computed import compute_api
from computed.api.common import API_PREFIX, authorize, paginate, runtime
from computed.api.microversion import CPU_INFO_OBJECT, HYPERVISOR_PAGING, NO_PROXIES, at_least
from shared.api import context
from shared.errors import NotFound

bp = Blueprint("hypervisors", __name__, url_prefix=API_PREFIX)

NETWORK_LIMITS = ("maxSecurityGroups", "maxSecurityGroupRules", "maxTotalFloatingIps",
                  "totalSecurityGroupsUsed", "totalFloatingIpsUsed")

STATISTICS = ("vcpus", "vcpus_used", "memory_mb", "memory_mb_used", "free_ram_mb",
              "local_gb", "local_gb_used", "free_disk_gb", "disk_available_least",
              "running_vms", "current_workload")


@bp.get("/os-hypervisors")
def list_hypervisors():
    authorize("os-hypervisors:list", context())
    deps = runtime().deps
    node = compute_api.compute_node(deps)
    return _paged([compute_api.hypervisor_summary(node, up=deps.hypervisor.ready)],
                  "os-hypervisors")


@bp.get("/os-hypervisors/detail")
def list_hypervisors_detail():
    authorize("os-hypervisors:list", context())
    deps = runtime().deps
    return _paged([_versioned(compute_api.hypervisor_detail(
        deps, compute_api.compute_node(deps)))], "os-hypervisors/detail")


def _paged(hypervisors: list[dict], collection: str):
    """2.33: ?limit= and ?marker= (a hypervisor's id), "hypervisors_links"."""
    body: dict = {"hypervisors": hypervisors}
    if at_least(HYPERVISOR_PAGING):
        body["hypervisors"], next_links = paginate(hypervisors, lambda h: str(h["id"]),
                                                   collection)
        if next_links:
            body["hypervisors_links"] = next_links
    return jsonify(body)


def _versioned(detail: dict) -> dict:
    """2.28: cpu_info is an object (a JSON string before)."""
    if at_least(CPU_INFO_OBJECT):
        detail["cpu_info"] = json.loads(detail["cpu_info"])
    return detail


@bp.get("/os-hypervisors/statistics")
def statistics():
    authorize("os-hypervisors:statistics", context())
    deps = runtime().deps
    detail = compute_api.hypervisor_detail(deps, compute_api.compute_node(deps))
    return jsonify({"hypervisor_statistics": {"count": 1,
                                              **{key: detail[key] for key in STATISTICS}}})


@bp.get("/os-hypervisors/<hypervisor_id>")
def show_hypervisor(hypervisor_id):
    authorize("os-hypervisors:show", context())
    deps = runtime().deps
    node = compute_api.compute_node(deps)
    if hypervisor_id not in (str(node.id), node.hypervisor_hostname):
        raise NotFound(f"Hypervisor with ID '{hypervisor_id}' could not be found.")
    return jsonify({"hypervisor": _versioned(compute_api.hypervisor_detail(deps, node))})


@bp.get("/limits")
def limits():
    ctx = context()
    authorize("limits", ctx)
    absolute = compute_api.limits(runtime().deps, ctx.project_id or "")
    if at_least(NO_PROXIES):  # 2.36: nova-network's limits are gone
        for name in NETWORK_LIMITS:
            absolute.pop(name, None)
    return jsonify({"limits": {"rate": [], "absolute": absolute}})


@bp.get("/os-availability-zone")
def availability_zones():
    authorize("os-availability-zone:list", context())
    return jsonify({"availabilityZoneInfo": [{"zoneName": "nova",
                                              "zoneState": {"available": True},
                                              "hosts": None}]})


@bp.get("/os-availability-zone/detail")
def availability_zones_detail():
    """Admins: each zone's hosts and their services, as Nova's detail. The
    one host runs the one compute service, computed; Nova's "internal" zone
    (conductor, scheduler) has no counterpart here."""
    authorize("os-availability-zone:detail", context())
    deps = runtime().deps
    host = deps.settings.host
    # available: the service is up (not before it has reached libvirt);
    # active: it is enabled
    service = {"available": deps.hypervisor.ready, "active": True, "updated_at": None}
    return jsonify({"availabilityZoneInfo": [{"zoneName": "nova",
                                              "zoneState": {"available": True},
                                              "hosts": {host: {"nova-compute": service}}}]})
