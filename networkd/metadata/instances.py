"""Which server a guest is, from the source address of its request.

The address is trustworthy: anti-spoofing lets a guest send only from its
port's fixed IPs, and subnets never overlap in a stack, so an address
belongs to one port at most. The port must be a server's (device_owner
compute:*): its device_id is the server's UUID and its project the
server's project, as Neutron's metadata agent reads them
(_get_instance_and_tenant_id).
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from networkd import owners
from networkd.db.models import IPAllocation, Port
from shared.db import transaction


@dataclass(frozen=True)
class Instance:
    """What the proxy tells the metadata service about the asking guest."""
    id: str                 # the server's UUID (the port's device_id)
    project_id: str         # the port's project


def instance_at(sessions: sessionmaker, address: str) -> Instance | None:
    """The server whose compute port holds fixed IP `address`; None when no
    port (or more than one, which the database should never hold) does."""
    query = (select(Port.device_id, Port.project_id)
             .join(IPAllocation, IPAllocation.port_id == Port.id)
             .where(IPAllocation.ip_address == address,
                    Port.device_owner.startswith(owners.COMPUTE_PREFIX)))
    with transaction(sessions, write=False) as session:
        rows = session.execute(query).all()
    if len(rows) != 1 or not rows[0].device_id:
        return None
    return Instance(id=rows[0].device_id, project_id=rows[0].project_id)
