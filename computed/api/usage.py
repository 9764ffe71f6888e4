"""/v2.1/os-simple-tenant-usage: what projects' servers used in a period
(`openstack usage show`, `openstack usage list`), as Nova's API answers at
2.1. The arithmetic is computed/domain/usage.py.

    GET /os-simple-tenant-usage/{project}?start=&end=   one project, with each
                                                        server (project reader)
    GET /os-simple-tenant-usage?start=&end=&detailed=1  every project (admin)

Without start, the period starts now; without end, it ends now (Nova's
defaults); deleted servers count for the time they ran.
"""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, jsonify, request
from sqlalchemy import select

from computed.api.common import API_PREFIX, authorize, runtime
from computed.db.models import Instance
from computed.db.repository import now
from computed.domain.usage import ServerRecord, parse_period_time, tenant_usages
from shared.api import context
from shared.db import transaction
from shared.errors import BadRequest

bp = Blueprint("usage", __name__, url_prefix=API_PREFIX)


@bp.get("/os-simple-tenant-usage/<project_id>")
def show(project_id: str):
    authorize("os-simple-tenant-usage:show", context(), project_id)
    start, stop, current = _period()
    usages = tenant_usages(_servers(project_id), start, stop, current, detailed=True)
    return jsonify({"tenant_usage": usages[0] if usages else {}})


@bp.get("/os-simple-tenant-usage")
def index():
    authorize("os-simple-tenant-usage:list", context())
    start, stop, current = _period()
    detailed = request.args.get("detailed", "0").lower() in ("1", "true", "yes")
    return jsonify({"tenant_usages": tenant_usages(_servers(None), start, stop, current,
                                                   detailed)})


def _period() -> tuple[dt.datetime, dt.datetime, dt.datetime]:
    current = now()
    try:
        start = parse_period_time(request.args.get("start"), current)
        stop = parse_period_time(request.args.get("end"), current)
    except ValueError as exc:
        raise BadRequest(f"Invalid start time. The start time cannot occur after the end "
                         f"time, and both must be ISO 8601 times: {exc}") from None
    if start > stop:
        raise BadRequest("Invalid start time. The start time cannot occur after the end "
                         "time.")
    return start, stop, current


def _servers(project_id: str | None) -> list[ServerRecord]:
    """Every server of the project (all projects: None), deleted ones too."""
    query = select(Instance)
    if project_id is not None:
        query = query.where(Instance.project_id == project_id)
    with transaction(runtime().deps.sessions, write=False) as session:
        return [ServerRecord(
            id=i.uuid, name=i.display_name, project_id=i.project_id,
            flavor_name=(i.flavor or {}).get("name", ""), memory_mb=i.memory_mb,
            vcpus=i.vcpus, local_gb=i.root_gb + i.ephemeral_gb, vm_state=i.vm_state,
            launched_at=i.launched_at, terminated_at=i.terminated_at)
            for i in session.scalars(query)]
