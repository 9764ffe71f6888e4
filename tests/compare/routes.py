"""The routes our code serves in imaged and identity, read from their Flask
blueprints (registered on a bare app: nothing is configured or started), so
that the report can name the routes no scenario covers."""
from __future__ import annotations

import importlib
import pkgutil

from flask import Blueprint, Flask

# Ours alone, not part of the Glance or Keystone API.
OWN = ("/pocketstack/",)


def served(package: str) -> set[str]:
    app = Flask("routes")
    module_names = [info.name for info in pkgutil.iter_modules(
        importlib.import_module(package).__path__)]
    for name in module_names:
        module = importlib.import_module(f"{package}.{name}")
        for value in vars(module).values():
            if isinstance(value, Blueprint) and value.name not in app.blueprints:
                app.register_blueprint(value)
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.rule.startswith(OWN):
            continue
        # Flask answers HEAD wherever there is a GET: HEAD counts as GET here.
        for method in sorted((rule.methods or set()) - {"OPTIONS", "HEAD"}):
            routes.add(f"{method} {rule.rule}")
    return routes


def all_routes() -> dict[str, set[str]]:
    return {"imaged": served("imaged.api"), "identity": served("identity.api")}
