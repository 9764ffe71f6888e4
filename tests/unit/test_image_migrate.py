"""imaged's migrations: HEAD names the newest revision, a fresh database is
brought to it by Alembic, and a database already there is left as it is
without importing Alembic at all (the fast path of every start)."""
from __future__ import annotations

import subprocess
import sys
import textwrap

from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from imaged.db.migrate import HEAD, alembic_config, current_revision, upgrade
from shared.db import make_engine
from tests.stack import REPO


def test_head_is_the_newest_revision_of_the_migrations():
    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == HEAD


def test_a_fresh_database_is_brought_to_head(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'imaged.sqlite'}")
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == HEAD
    assert "images" in inspect(engine).get_table_names()


def test_a_database_at_head_is_left_without_importing_alembic(tmp_path):
    url = f"sqlite:///{tmp_path / 'imaged.sqlite'}"
    upgrade(make_engine(url))
    check = textwrap.dedent(f"""
        import sys
        from imaged.db.migrate import upgrade
        from shared.db import make_engine
        upgrade(make_engine({url!r}))
        print("alembic" in sys.modules)
    """)
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True,
                            cwd=REPO, check=True)
    assert result.stdout.strip() == "False"
