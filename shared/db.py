"""Database engines, with SQLite set up to take concurrent writers.

SQLite is the embedded default. Out of the box it answers "database is
locked" as soon as two processes write at once, which is what real Glance
does under concurrent uploads. Three settings avoid that: WAL journaling
(readers never block the writer), a busy timeout (a writer waits for the
lock instead of failing), and short transactions in the code above.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from shared import stephold

SQLITE_BUSY_TIMEOUT_MS = 30_000


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
                                                  "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(connection):
            # A writing transaction takes the write lock at BEGIN: one that
            # reads and then writes could otherwise fail with "database is
            # locked" when it upgrades, instead of waiting its turn. Readers
            # begin deferred and never wait for writers (WAL).
            # (Straight to the driver: this runs for every transaction, and
            # going through SQLAlchemy's execute costs more than SQLite's BEGIN.)
            immediate = connection.get_execution_options().get("sqlite_immediate")
            connection.connection.dbapi_connection.execute(
                "BEGIN IMMEDIATE" if immediate else "BEGIN")

        _disable_pysqlite_transactions(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _disable_pysqlite_transactions(engine: Engine) -> None:
    """Let SQLAlchemy's 'begin' event issue BEGIN itself (the documented
    recipe for pysqlite)."""

    @event.listens_for(engine, "connect")
    def _no_implicit_begin(dbapi_connection, _record):
        dbapi_connection.isolation_level = None


def create_all(engine: Engine, metadata) -> None:
    """Create missing tables. Several worker processes may do this at the same
    moment on first start: the check and the CREATE run in one writing
    transaction, so on SQLite they take turns instead of colliding."""
    with engine.connect().execution_options(sqlite_immediate=True) as connection, \
            connection.begin():
        metadata.create_all(connection)


def session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker, write: bool = True) -> Iterator[Session]:
    """One short unit of work: commit on success, roll back on any error.
    Pass write=False for read-only work (on SQLite it then never waits)."""
    session = factory()
    committed = False
    try:
        session.connection(execution_options={"sqlite_immediate": write})
        yield session
        session.commit()
        committed = True
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
        stephold.transaction_ended(committed)  # a test-only hook, off by default


@contextmanager
def core_transaction(factory: sessionmaker, write: bool = True) -> Iterator[Connection]:
    """transaction() for work that only runs SQLAlchemy Core statements:
    a plain connection instead of an ORM Session, which costs several times
    less to open and commit (it matters for requests that take a
    millisecond or two, such as listing or creating an image)."""
    engine = factory.kw["bind"]
    committed = False
    try:
        with engine.connect().execution_options(sqlite_immediate=write) as connection, \
                connection.begin():
            yield connection
        committed = True
    finally:
        stephold.transaction_ended(committed)  # a test-only hook, off by default
