"""Resize and cold migration, as Nova's API and compute manager decide them:
the checks a request gets, the statuses a migration goes through, and what
the host must hold while a server has two flavors. Plain Python, tested
without a server.

A resize (or a migration, a resize to the same flavor) on one host keeps
both flavors claimed from its start until it is confirmed or reverted, as
placement does for the migration and the instance: the host must have room
for the new flavor beside the old one, and a revert never finds the old
one's room taken.
"""
from __future__ import annotations

from computed.domain.claims import QuotaLimits, Resources, flavor_resources

# Migration.status, in the order a move goes through them (nova/objects/migration.py).
PRE_MIGRATING = "pre-migrating"
MIGRATING = "migrating"
POST_MIGRATING = "post-migrating"
FINISHED = "finished"            # the server is VERIFY_RESIZE
CONFIRMING = "confirming"
CONFIRMED = "confirmed"
REVERTING = "reverting"
REVERTED = "reverted"
ERROR = "error"
IN_PROGRESS = (PRE_MIGRATING, MIGRATING, POST_MIGRATING, FINISHED, CONFIRMING, REVERTING)

RESIZE, MIGRATION = "resize", "migration"   # Migration.migration_type

SAME_FLAVOR = "When resizing, instances must change flavor!"
ZERO_DISK = ("Server disk was unable to be resized because: Resize to zero disk "
             "flavor is not allowed.")
DISK_DOWN = "Resize error: Unable to resize disk down."
NOT_RESIZED = "Instance has not been resized."


class MoveRefused(Exception):
    """The request is refused before anything starts (the API answers 400)."""


def flavor_claim(flavor: dict) -> Resources:
    """What a server of this flavor (an instance's flavor copy) claims."""
    return flavor_resources(flavor["vcpus"], flavor["ram"], flavor["disk"],
                            flavor.get("ephemeral", 0), flavor.get("swap", 0))


def held(resources: Resources) -> dict:
    """A claim as the migration row keeps it."""
    return {"vcpus": resources.vcpus, "memory_mb": resources.memory_mb,
            "disk_gb": resources.disk_gb}


def check_resize(current: dict, new: dict) -> None:
    """Nova's API checks of a resize to `new` (flavor copies): a new flavor,
    and no root disk of 0 for a server booted from an image."""
    if new["disk"] == 0 and current["disk"] != 0:
        raise MoveRefused(ZERO_DISK)
    if new["id"] == current["id"]:
        raise MoveRefused(SAME_FLAVOR)


def disk_down(current: dict, new: dict) -> bool:
    """The libvirt driver's refusal (at migrate_disk_and_power_off): a root
    or ephemeral disk cannot shrink. Found after the 202, it rolls the
    resize back (Nova's InstanceFaultRollback)."""
    return new["disk"] < current["disk"] or \
        new.get("ephemeral", 0) < current.get("ephemeral", 0)


def upsize_excess(limits: QuotaLimits, used: Resources, current: dict,
                  new: dict) -> str | None:
    """Nova's _check_quota_for_upsize: only what grows (cores, RAM) counts
    against the project's quota; None if it fits."""
    for name, limit, in_use, grow in (
            ("cores", limits.cores, used.vcpus, new["vcpus"] - current["vcpus"]),
            ("ram", limits.ram, used.memory_mb, new["ram"] - current["ram"])):
        if grow > 0 and limit >= 0 and in_use + grow > limit:
            return (f"Quota exceeded for {name}: Requested {grow}, but already used "
                    f"{in_use} of {limit} {name}")
    return None
