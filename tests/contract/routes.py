"""The routes a service's blueprints serve, read from the blueprints
themselves (no daemon needed), for the contract tests' coverage list."""
from __future__ import annotations

import importlib
import pkgutil

from flask import Flask


def served(package: str) -> set[str]:
    """`METHOD /rule` for every route of every blueprint in package.api."""
    app = Flask("routes")
    api = importlib.import_module(f"{package}.api")
    for info in pkgutil.iter_modules(api.__path__):
        module = importlib.import_module(f"{package}.api.{info.name}")
        blueprint = getattr(module, "bp", None)
        if blueprint is not None:
            app.register_blueprint(blueprint)
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            found.add(f"{method} {rule.rule}")
    return found
