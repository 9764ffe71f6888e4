"""The Flask application class of every PocketStack app.

pocketstack's one-process mode starts every service at once, each in a
thread (pocketstack/together.py), and each registers its routes as it
starts. werkzeug compiles every route with Python's `ast` module, and the
interpreter's AST conversion in CPython 3.11 keeps its recursion depth in
state that threads share: two routes compiled at the same moment in two
threads can fail with "SystemError: AST constructor recursion depth
mismatch" (CPython issue gh-106905), and that service does not start. So
routes are added to their map one at a time in the whole process; a
service's start does everything else beside the others.
"""
from __future__ import annotations

import threading

from flask import Flask
from werkzeug.routing import Map, RuleFactory

_COMPILING = threading.Lock()


class OneRuleAtATime(Map):
    """A URL map whose rules are bound (compiled) one at a time,
    process-wide."""

    def add(self, rulefactory: RuleFactory) -> None:
        with _COMPILING:
            super().add(rulefactory)


class FlaskApp(Flask):
    url_map_class = OneRuleAtATime
