"""imaged-registry.conf: the registry's own options (its port, its database)."""
from __future__ import annotations

from shared.config import Schema
from shared.service import common_sections

DEFAULT_PORT = 9191


def schema() -> Schema:
    return Schema("imaged-registry.conf", common_sections(DEFAULT_PORT, username="imaged"))
