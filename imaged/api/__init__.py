"""imaged's HTTP API: Flask blueprints, one per resource, each a module-level
`bp` with one function per route. Each handler parses the request, asks
policy, calls the domain or a flow and renders the result; the rules
themselves live in imaged.domain, the flows beside it.

Handlers reach the process's runtime (repository, stores, policy: the
Imaged that make_app built) through runtime(), so a blueprint is plain
module state that any app can register."""
from __future__ import annotations

from flask import current_app

from imaged.runtime import Imaged

EXTENSION = "imaged"


def runtime() -> Imaged:
    """The Imaged of the app serving the current request."""
    return current_app.extensions[EXTENSION]
