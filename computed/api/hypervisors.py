"""/v2.1/os-hypervisors (admins), /v2.1/limits and /v2.1/os-availability-zone.

What os-hypervisors and /limits show is worked out by the compute API layer
(compute_api.hypervisor_detail, compute_api.limits); here they are
authorized and rendered.
"""
from __future__ import annotations

from flask import Blueprint, jsonify

from computed import compute_api
from computed.api.common import API_PREFIX, authorize, runtime
from shared.api import context
from shared.errors import NotFound

bp = Blueprint("hypervisors", __name__, url_prefix=API_PREFIX)

STATISTICS = ("vcpus", "vcpus_used", "memory_mb", "memory_mb_used", "free_ram_mb",
              "local_gb", "local_gb_used", "free_disk_gb", "disk_available_least",
              "running_vms", "current_workload")


@bp.get("/os-hypervisors")
def list_hypervisors():
    authorize("os-hypervisors:list", context())
    node = compute_api.compute_node(runtime().deps)
    return jsonify({"hypervisors": [compute_api.hypervisor_summary(node)]})


@bp.get("/os-hypervisors/detail")
def list_hypervisors_detail():
    authorize("os-hypervisors:list", context())
    deps = runtime().deps
    return jsonify({"hypervisors": [compute_api.hypervisor_detail(
        deps, compute_api.compute_node(deps))]})


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
    return jsonify({"hypervisor": compute_api.hypervisor_detail(deps, node)})


@bp.get("/limits")
def limits():
    ctx = context()
    authorize("limits", ctx)
    absolute = compute_api.limits(runtime().deps, ctx.project_id or "")
    return jsonify({"limits": {"rate": [], "absolute": absolute}})


@bp.get("/os-availability-zone")
@bp.get("/os-availability-zone/detail")
def availability_zones():
    authorize("os-availability-zone:list", context())
    return jsonify({"availabilityZoneInfo": [{"zoneName": "nova",
                                              "zoneState": {"available": True},
                                              "hosts": None}]})
