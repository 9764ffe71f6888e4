"""Bring imaged's database to the newest schema, with Alembic.

imaged-api runs this once at start, in its parent process before the
workers fork (two workers migrating at once would race); imaged-scrubber
runs it too, which is a no-op when the schema is current. The version table
has imaged's own name, so imaged can share one PostgreSQL database with
other services without their migrations colliding.
"""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

from shared.events import create_tables as create_event_tables

VERSION_TABLE = "imaged_alembic_version"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    # The events table is shared code's (one per service database).
    create_event_tables(engine)
