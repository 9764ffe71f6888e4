"""/v2.1/os-hypervisors (admins), /v2.1/limits and /v2.1/os-availability-zone.

os-hypervisors shows the host as Nova does: physical vCPUs, RAM and disk
(vcpus, memory_mb, local_gb), what the servers' flavors take (*_used; RAM
used includes what is reserved for the host) and what is left (free_*).
Beside them, what can still be claimed once the allocation ratios are
applied (*_claimable_free: what decides "No valid host was found").
/limits shows the project's quotas and what it uses of them.
"""
from __future__ import annotations

import json

from flask import Blueprint, jsonify
from sqlalchemy import select

from computed.api.common import API_PREFIX
from computed.db import repository as repo
from computed.db.models import ComputeNode, Instance
from computed.runtime import Computed
from shared.api import context
from shared.db import transaction
from shared.errors import NotFound


def hypervisors_blueprint(computed: Computed) -> Blueprint:
    bp = Blueprint("hypervisors", __name__, url_prefix=API_PREFIX)
    deps = computed.deps
    sessions = deps.sessions

    def node() -> ComputeNode:
        with transaction(sessions, write=False) as session:
            return session.scalars(select(ComputeNode).order_by(ComputeNode.id)).first()

    def summary(compute_node: ComputeNode) -> dict:
        return {"id": compute_node.id, "hypervisor_hostname": compute_node.hypervisor_hostname,
                "state": "up", "status": "enabled"}

    def detail(compute_node: ComputeNode) -> dict:
        info = deps.driver.host_info()
        inventory = deps.inventory()
        capacity = inventory.capacity()
        with transaction(sessions, write=False) as session:
            used = repo.claimed_usage(session)
            running = len(list(session.scalars(select(Instance).where(
                Instance.claimed.is_(True), Instance.deleted.is_(False)))))
            busy = len(list(session.scalars(select(Instance).where(
                Instance.deleted.is_(False), Instance.task_state.is_not(None)))))
        memory_used = used.memory_mb + inventory.reserved_memory_mb
        body = summary(compute_node)
        body.update({
            "vcpus": info.vcpus, "vcpus_used": used.vcpus,
            "memory_mb": info.memory_mb, "memory_mb_used": memory_used,
            "free_ram_mb": info.memory_mb - memory_used,
            "local_gb": inventory.disk_gb, "local_gb_used": used.disk_gb,
            "free_disk_gb": inventory.disk_gb - used.disk_gb,
            "disk_available_least": inventory.disk_gb - used.disk_gb,
            "running_vms": running, "current_workload": busy,
            "hypervisor_type": info.hypervisor_type,
            "hypervisor_version": info.hypervisor_version,
            "host_ip": "127.0.0.1",
            "cpu_info": json.dumps({"arch": "x86_64", "model": info.cpu_model,
                                    "virt_type": info.virt_type}),
            "service": {"host": deps.settings.host, "id": 1, "disabled_reason": None},
            "vcpus_claimable_free": capacity.vcpus - used.vcpus,
            "memory_mb_claimable_free": capacity.memory_mb - used.memory_mb,
            "local_gb_claimable_free": capacity.disk_gb - used.disk_gb,
            "allocation_ratios": {"cpu": inventory.cpu_allocation_ratio,
                                  "ram": inventory.ram_allocation_ratio,
                                  "disk": inventory.disk_allocation_ratio},
        })
        return body

    @bp.get("/os-hypervisors")
    def list_hypervisors():
        computed.authorize("os-hypervisors:list", context())
        return jsonify({"hypervisors": [summary(node())]})

    @bp.get("/os-hypervisors/detail")
    def list_hypervisors_detail():
        computed.authorize("os-hypervisors:list", context())
        return jsonify({"hypervisors": [detail(node())]})

    @bp.get("/os-hypervisors/statistics")
    def statistics():
        computed.authorize("os-hypervisors:statistics", context())
        body = detail(node())
        keys = ("vcpus", "vcpus_used", "memory_mb", "memory_mb_used", "free_ram_mb",
                "local_gb", "local_gb_used", "free_disk_gb", "disk_available_least",
                "running_vms", "current_workload")
        return jsonify({"hypervisor_statistics": {"count": 1,
                                                  **{key: body[key] for key in keys}}})

    @bp.get("/os-hypervisors/<hypervisor_id>")
    def show_hypervisor(hypervisor_id):
        computed.authorize("os-hypervisors:show", context())
        compute_node = node()
        if hypervisor_id not in (str(compute_node.id), compute_node.hypervisor_hostname):
            raise NotFound(f"Hypervisor with ID '{hypervisor_id}' could not be found.")
        return jsonify({"hypervisor": detail(compute_node)})

    @bp.get("/limits")
    def limits():
        ctx = context()
        computed.authorize("limits", ctx)
        quota = deps.settings.quota
        with transaction(sessions, write=False) as session:
            count, used = repo.project_usage(session, ctx.project_id)
            disk = sum(repo.instance_resources(i).disk_gb
                       for i in repo.live_instances(session)
                       if i.project_id == ctx.project_id)
        return jsonify({"limits": {"rate": [], "absolute": {
            "maxTotalCores": quota.cores, "maxTotalInstances": quota.instances,
            "maxTotalRAMSize": quota.ram, "maxServerMeta": deps.settings.max_metadata_items,
            "maxImageMeta": 128, "maxPersonality": 5, "maxPersonalitySize": 10240,
            "maxTotalKeypairs": deps.settings.max_key_pairs, "maxSecurityGroups": 10,
            "maxSecurityGroupRules": 20, "maxTotalFloatingIps": 10, "maxServerGroups": 10,
            "maxServerGroupMembers": 10,
            "totalCoresUsed": used.vcpus, "totalInstancesUsed": count,
            "totalRAMUsed": used.memory_mb, "totalSecurityGroupsUsed": 0,
            "totalFloatingIpsUsed": 0, "totalServerGroupsUsed": 0,
            "totalLocalGBUsed": disk}}})

    @bp.get("/os-availability-zone")
    @bp.get("/os-availability-zone/detail")
    def availability_zones():
        computed.authorize("os-availability-zone:list", context())
        return jsonify({"availabilityZoneInfo": [{"zoneName": "nova",
                                                  "zoneState": {"available": True},
                                                  "hosts": None}]})

    return bp

