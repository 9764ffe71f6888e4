"""Security groups, as far as ports need them: each project's `default`
group (made at its first need, with Neutron's default rules) and the check
that the groups a port names exist and are the caller's.

Neutron's default group allows all egress and all ingress from members of
the same group (IPv4 and IPv6 rules each). A port with port security and an
address is in the project's default group unless it names others.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from networkd.call import Call
from networkd.db import common
from networkd.db.models import DefaultSecurityGroup, SecurityGroup, SecurityGroupRule
from networkd.errors import NotFound

DEFAULT_NAME = "default"
DEFAULT_DESCRIPTION = "Default security group"


class SecurityGroupNotFound(NotFound):
    template = "Security group %(id)s does not exist"


def ensure_default(session: Session, project_id: str) -> SecurityGroup:
    """The project's default group, made now if it has none."""
    row = session.get(DefaultSecurityGroup, project_id)
    if row is not None:
        group = session.get(SecurityGroup, row.security_group_id)
        if group is not None:
            return group
    group = SecurityGroup(id=common.new_id(), project_id=project_id, name=DEFAULT_NAME,
                          description=DEFAULT_DESCRIPTION, stateful=True)
    session.add(group)
    session.flush()
    for direction, ethertype in (("egress", "IPv4"), ("egress", "IPv6"),
                                 ("ingress", "IPv4"), ("ingress", "IPv6")):
        session.add(SecurityGroupRule(
            id=common.new_id(), project_id=project_id, security_group_id=group.id,
            direction=direction, ethertype=ethertype,
            remote_group_id=group.id if direction == "ingress" else None))
    session.add(DefaultSecurityGroup(project_id=project_id, security_group_id=group.id))
    session.flush()
    return group


def resolve_for_port(call: Call, ids: list[str], project_id: str) -> list[str]:
    """The groups a port of `project_id` may be in: each must exist and
    belong to that project (admins may use any)."""
    for group_id in ids:
        group = common.get(call.session, SecurityGroup, group_id)
        if group is None or (group.project_id != project_id and not call.is_admin):
            raise SecurityGroupNotFound(id=group_id)
    return ids
