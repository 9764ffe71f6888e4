"""networkd's database for unit tests: its tables and the events table, in
a file of the test's own directory."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.orm import sessionmaker

from networkd.db.models import Base
from shared.db import create_all, make_engine, session_factory
from shared.events import create_tables


def networkd_database(directory: Path) -> Iterator[sessionmaker]:
    """Sessions on a new database, disposed of after the test."""
    engine = make_engine(f"sqlite:///{directory / 'networkd.sqlite'}")
    create_all(engine, Base.metadata)
    create_tables(engine)
    yield session_factory(engine)
    engine.dispose()
