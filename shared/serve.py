"""Serve a Flask app with gunicorn (threaded workers).

gunicorn hands the request body to the app as a stream straight from the
socket, so an image upload can be written to the store as it arrives instead
of being buffered first; several worker processes use several cores.
"""
from __future__ import annotations

from collections.abc import Callable

from gunicorn.app.base import BaseApplication


class _Application(BaseApplication):
    def __init__(self, app_factory: Callable, options: dict):
        self._factory = app_factory
        self._options = options
        super().__init__()

    def load_config(self):
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self):
        return self._factory()


def serve(app_factory: Callable, *, host: str, port: int, workers: int, threads: int,
          name: str) -> None:
    _Application(app_factory, {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "proc_name": f"pocketstack-{name}",
        "timeout": 300,
        "graceful_timeout": 10,
        # Longer than any client's polling interval (the openstack client's
        # --wait polls every 5 s): a connection closed by the server just as
        # the client reuses it fails the client's request.
        "keepalive": 65,
        "errorlog": "-",
        "accesslog": None,
        "loglevel": "info",
        "preload_app": False,
        "limit_request_line": 8190,
    }).run()
