"""Quotas: how many of each resource a project may have (Neutron's quota
API and its check on create).

A create that would go beyond the limit is refused with Neutron's
OverQuota (409): "Quota exceeded for resources: ['network']." The limits
are networkd.conf [quota] unless an admin set the project's own
(PUT /v2.0/quotas/{project}); -1 means no limit. The count and the insert
happen in the same transaction, which on SQLite holds the write lock: two
creates cannot both take the last unit.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from networkd.attributes import Attr, integer, parse_update
from networkd.db import common
from networkd.db.models import (
    FloatingIP,
    Network,
    Port,
    Router,
    SecurityGroup,
    SecurityGroupRule,
    Subnet,
)
from networkd.errors import OverQuota

MODELS: dict[str, type] = {
    "network": Network, "subnet": Subnet, "port": Port, "router": Router,
    "floatingip": FloatingIP, "security_group": SecurityGroup,
    "security_group_rule": SecurityGroupRule,
}


def check(session: Session, defaults: dict[str, int], project_id: str, resource: str,
          wanted: int = 1) -> None:
    """OverQuota unless the project may have `wanted` more of `resource`."""
    limit = common.quota_limits(session, project_id, defaults)[resource]
    if limit < 0:
        return
    if common.count(session, MODELS[resource], project_id) + wanted > limit:
        raise OverQuota(overs=sorted([resource]))


MAX_LIMIT = 2**31 - 1   # Neutron's quota limits are 32-bit integer columns


def limits(session: Session, defaults: dict[str, int], project_id: str) -> dict[str, int]:
    return common.quota_limits(session, project_id, defaults)


def details(session: Session, defaults: dict[str, int], project_id: str) -> dict[str, dict]:
    """Each resource's limit, usage and reservations (none are kept)."""
    limit = common.quota_limits(session, project_id, defaults)
    return {resource: {"limit": limit[resource], "reserved": 0,
                       "used": common.count(session, MODELS[resource], project_id)}
            for resource in defaults}


# What a PUT body may carry beside the limits, and is ignored.
IGNORED = ("project_id", "tenant_id", "check_limit", "force")


def attrs(defaults: dict[str, int]) -> dict[str, Attr]:
    """A limit per resource: integers from -1 to MAX_LIMIT."""
    return {resource: Attr(integer(minimum=-1, maximum=MAX_LIMIT)) for resource in defaults}


def update(session: Session, defaults: dict[str, int], project_id: str, body) -> dict[str, int]:
    """PUT {"quota": {"network": 5, ...}}: the new limits."""
    wanted = parse_update("quota", body, attrs(defaults), ignored=IGNORED)
    for resource, value in wanted.items():
        common.set_quota_limit(session, project_id, resource, value)
    return common.quota_limits(session, project_id, defaults)


def reset(session: Session, project_id: str) -> None:
    common.clear_quota_limits(session, project_id)


def all_set(session: Session, defaults: dict[str, int]) -> list[dict]:
    """GET /v2.0/quotas: the projects that have limits of their own."""
    return [{"project_id": project, "tenant_id": project,
             **common.quota_limits(session, project, defaults)}
            for project in common.projects_with_quotas(session)]
