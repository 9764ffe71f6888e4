"""Load the standard metadata definitions (definitions/*.json) at first start.

Each file is loaded once; a SeedRecord remembers it, so a namespace that an
admin deleted stays deleted. Several workers may start at once: the load runs
in one write transaction, so exactly one of them does it."""
from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.orm import sessionmaker

from imaged.metadefs.models import SeedRecord
from imaged.metadefs.repository import build_namespace, find_namespace
from shared.db import transaction

DEFINITIONS = Path(__file__).parent / "definitions"


def load_standard_definitions(sessions: sessionmaker, directory: Path = DEFINITIONS) -> list[str]:
    """Load every definition file not loaded before; returns the namespaces added."""
    added = []
    with transaction(sessions) as session:
        for path in sorted(directory.glob("*.json")):
            if session.get(SeedRecord, path.name) is not None:
                continue
            body = json.loads(path.read_text())
            if find_namespace(session, body["namespace"], None, is_admin=True) is None:
                build_namespace(session, body, owner=body.get("owner", "admin"))
                added.append(body["namespace"])
            session.add(SeedRecord(file_name=path.name))
    return added
