"""The routes each API service serves, read from the code: every Flask
blueprint found in the service's api package (registered on a bare app:
nothing is configured or started) and the events route every service
installs. A route added to a blueprint is in the matrix at once, and the
test fails until it has a case.

The dashboard is not here: it takes no token (its pages and actions work
with a browser session and call the APIs below with the user's own token).
"""
from __future__ import annotations

import importlib
import pkgutil

from flask import Blueprint, Flask

from shared import events_api

API_PACKAGES = {"identity": "identity.api", "imaged": "imaged.api", "volumed": "volumed.api",
                "computed": "computed.api", "networkd": "networkd.api"}


def served(package: str) -> set[str]:
    """`METHOD /rule` of every route of the package's blueprints, and of the
    events blueprint. HEAD is Flask's copy of GET and is left out."""
    app = Flask("routes")
    blueprints = [events_api.bp]
    for info in pkgutil.iter_modules(importlib.import_module(package).__path__):
        module = importlib.import_module(f"{package}.{info.name}")
        blueprints += [value for value in vars(module).values()
                       if isinstance(value, Blueprint)]
    for blueprint in blueprints:
        if blueprint.name not in app.blueprints:
            app.register_blueprint(blueprint)
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            found.add(f"{method} {rule.rule}")
    return found


def all_routes() -> dict[str, set[str]]:
    return {service: served(package) for service, package in API_PACKAGES.items()}
