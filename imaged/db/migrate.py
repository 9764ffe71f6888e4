"""Bring imaged's database to the newest schema, with Alembic.

imaged-api runs this once at start, in its parent process before the
workers fork (two workers migrating at once would race); imaged-scrubber
runs it too, which is a no-op when the schema is current. The version table
has imaged's own name, so imaged can share one PostgreSQL database with
other services without their migrations colliding.

A database already at HEAD, as at every start but the first after an
upgrade of PocketStack, is seen by one SELECT of the version table, and
Alembic is not even imported: Alembic and what it imports (Mako, Pygments)
cost a fifth of a second of each start. A unit test keeps HEAD equal to the
newest revision of migrations/versions.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from shared.events import create_tables as create_event_tables

if TYPE_CHECKING:
    from alembic.config import Config

VERSION_TABLE = "imaged_alembic_version"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: The newest revision in migrations/versions.
HEAD = "0003_metadefs"


def alembic_config() -> Config:
    from alembic.config import Config
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for a database Alembic has
    not touched yet."""
    try:
        with engine.connect() as connection:
            return connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
    except DBAPIError:  # no version table yet
        return None


def upgrade(engine: Engine, revision: str = "head") -> None:
    if revision not in ("head", HEAD) or current_revision(engine) != HEAD:
        from alembic import command
        config = alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    # The events table is shared code's (one per service database).
    create_event_tables(engine)
