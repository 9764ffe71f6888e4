"""Resource claims: does a flavor still fit on this host?

Nova's scheduler and placement, reduced to one host and to arithmetic:

    capacity = (total - reserved) * allocation_ratio      per resource
    used     = the sum of the flavors of the servers holding a claim
    free     = capacity - used

A server holds a claim from the moment it is scheduled until it is
deleted (or its build failed). Usage counts flavors, not what the guests
really use: that is what lets a lab over-commit vCPUs and RAM on purpose,
with the allocation ratios, and what makes the answer predictable.
"""
from __future__ import annotations

from dataclasses import dataclass

NO_VALID_HOST = "No valid host was found. There are not enough hosts available."


@dataclass(frozen=True)
class Resources:
    vcpus: int = 0
    memory_mb: int = 0
    disk_gb: int = 0

    def __add__(self, other: Resources) -> Resources:
        return Resources(self.vcpus + other.vcpus, self.memory_mb + other.memory_mb,
                         self.disk_gb + other.disk_gb)


@dataclass(frozen=True)
class HostInventory:
    """What the host has (from the virt driver) and what the operator allows."""
    vcpus: int
    memory_mb: int
    disk_gb: int
    cpu_allocation_ratio: float = 16.0
    ram_allocation_ratio: float = 1.5
    disk_allocation_ratio: float = 1.0
    reserved_vcpus: int = 0
    reserved_memory_mb: int = 512
    reserved_disk_mb: int = 0

    def capacity(self) -> Resources:
        return Resources(
            vcpus=int((self.vcpus - self.reserved_vcpus) * self.cpu_allocation_ratio),
            memory_mb=int((self.memory_mb - self.reserved_memory_mb)
                          * self.ram_allocation_ratio),
            disk_gb=int((self.disk_gb - self.reserved_disk_mb / 1024)
                        * self.disk_allocation_ratio))


def flavor_resources(vcpus: int, memory_mb: int, root_gb: int, ephemeral_gb: int,
                     swap_mb: int) -> Resources:
    """What one server of this flavor claims: every local disk counts (swap is
    in MiB and rounds up to whole GiB, as placement's DISK_GB does)."""
    swap_gb = -(-swap_mb // 1024)
    return Resources(vcpus, memory_mb, root_gb + ephemeral_gb + swap_gb)


def shortfall(inventory: HostInventory, used: Resources, wanted: Resources) -> str | None:
    """Why `wanted` does not fit beside `used`, in words; None if it fits."""
    capacity = inventory.capacity()
    reasons = []
    for label, unit, need, have, total in (
            ("vCPUs", "", wanted.vcpus, capacity.vcpus - used.vcpus, capacity.vcpus),
            ("RAM", " MiB", wanted.memory_mb, capacity.memory_mb - used.memory_mb,
             capacity.memory_mb),
            ("local disk", " GiB", wanted.disk_gb, capacity.disk_gb - used.disk_gb,
             capacity.disk_gb)):
        if need > have:
            reasons.append(f"{label}: {need}{unit} wanted, {max(have, 0)}{unit} free "
                           f"of {total}{unit}")
        # A zero-sized request always fits.
    return "; ".join(reasons) or None


def no_valid_host_message(reason: str) -> str:
    return f"{NO_VALID_HOST} ({reason})"


@dataclass(frozen=True)
class QuotaLimits:
    instances: int = 10
    cores: int = 20
    ram: int = 51200


def quota_excess(limits: QuotaLimits, used_instances: int, used: Resources,
                 wanted: Resources, count: int = 1) -> str | None:
    """Nova's message when a project would go over its quota; None if not."""
    for name, limit, in_use, asked in (
            ("instances", limits.instances, used_instances, count),
            ("cores", limits.cores, used.vcpus, wanted.vcpus * count),
            ("ram", limits.ram, used.memory_mb, wanted.memory_mb * count)):
        if limit >= 0 and in_use + asked > limit:
            return (f"Quota exceeded for {name}: Requested {asked}, but already used "
                    f"{in_use} of {limit} {name}")
    return None
