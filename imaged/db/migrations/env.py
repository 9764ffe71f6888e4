"""Alembic's entry point for imaged's migrations.

imaged runs them itself at start (imaged.db.migrate.upgrade), handing over
its own connection; `alembic -x url=sqlite:///... upgrade head` with an
alembic.ini pointing here works too, for an operator who wants to see them.
"""
from alembic import context
from sqlalchemy import create_engine

from imaged.db.migrate import VERSION_TABLE
from imaged.db.models import Base

config = context.config


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        url = context.get_x_argument(as_dictionary=True).get("url") \
            or config.get_main_option("sqlalchemy.url")
        if not url:
            raise SystemExit("imaged migrations: no database URL (-x url=... or sqlalchemy.url)")
        with create_engine(url).connect() as own:
            _migrate(own)
            own.commit()
        return
    _migrate(connection)


def _migrate(connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      version_table=VERSION_TABLE, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


run()
