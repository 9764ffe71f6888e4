"""GET /v2.1/os-migrations (`openstack server migration list`): the resizes
and cold migrations of every server, newest first, for admins, in Nova's 2.1
shape (no uuid, no links: those come with 2.59 and 2.23); migration_type
from 2.23.

Filters as Nova's: ?status=, ?instance_uuid=, ?host= (source or
destination), ?source_compute=, ?migration_type= (resize, migration).
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from sqlalchemy import or_, select

from computed.api.common import API_PREFIX, authorize, runtime
from computed.api.microversion import MIGRATION_TYPE, at_least
from computed.db.models import Migration
from shared.api import context
from shared.db import transaction

bp = Blueprint("migrations", __name__, url_prefix=API_PREFIX)


def migration_view(migration: Migration) -> dict:
    return {"id": migration.id, "instance_uuid": migration.instance_uuid,
            "status": migration.status,
            "source_compute": migration.source_compute,
            "source_node": migration.source_node,
            "dest_compute": migration.dest_compute, "dest_node": migration.dest_node,
            "dest_host": migration.dest_host,
            "old_instance_type_id": migration.old_instance_type_id,
            "new_instance_type_id": migration.new_instance_type_id,
            "created_at": _when(migration.created_at),
            "updated_at": _when(migration.updated_at)}


def _when(value) -> str | None:
    # Nova writes these as the database gives them: no time zone, microseconds.
    return value.isoformat(timespec="microseconds") if value else None


@bp.get("/os-migrations")
def list_migrations():
    authorize("os-migrations:index", context())
    query = select(Migration).order_by(Migration.created_at.desc(), Migration.id.desc())
    args = request.args
    if args.get("status"):
        query = query.where(Migration.status == args["status"])
    if args.get("instance_uuid"):
        query = query.where(Migration.instance_uuid == args["instance_uuid"])
    if args.get("source_compute"):
        query = query.where(Migration.source_compute == args["source_compute"])
    if args.get("host"):
        query = query.where(or_(Migration.source_compute == args["host"],
                                Migration.dest_compute == args["host"]))
    if args.get("migration_type"):
        query = query.where(Migration.migration_type == args["migration_type"])
    with transaction(runtime().deps.sessions, write=False) as session:
        return jsonify({"migrations": [_versioned(migration_view(m), m)
                                       for m in session.scalars(query)]})


def _versioned(view: dict, migration: Migration) -> dict:
    """2.23 adds migration_type (the links it adds are for live migrations,
    which computed does not make)."""
    if at_least(MIGRATION_TYPE):
        view["migration_type"] = migration.migration_type
    return view
