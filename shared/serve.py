"""Serve a Flask app with gunicorn (threaded workers).

gunicorn hands the request body to the app as a stream straight from the
socket, so an image upload can be written to the store as it arrives instead
of being buffered first; several worker processes use several cores.

With one worker (the default: its threads serve a class, and the services'
uploads hash and write in threads of their own), the worker runs in the
service's own process: gunicorn's master would only watch it, at the cost
of a second interpreter's memory per service. With more, gunicorn's master
forks them and restarts any that dies.
"""
from __future__ import annotations

import os
from collections.abc import Callable

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger
from gunicorn.sock import create_sockets
from gunicorn.workers.gthread import ThreadWorker


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


class _SoleWorker(ThreadWorker):
    """gunicorn's threaded worker as the process itself, without a master:
    there is no parent whose change would mean "shut down" (the process that
    started the service exits once it answers)."""

    def is_parent_alive(self) -> bool:
        return True


def serve(app_factory: Callable, *, host: str, port: int, workers: int, threads: int,
          name: str) -> None:
    application = _Application(app_factory, {
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
    })
    if workers > 1:
        application.run()
        return
    log = Logger(application.cfg)
    worker = _SoleWorker(1, os.getppid(), create_sockets(application.cfg, log), application,
                         application.cfg.timeout, application.cfg, log)
    worker.pid = os.getpid()
    log.info("Listening at: http://%s:%s (pid %s, %s threads)", host, port, worker.pid,
             threads)
    worker.init_process()  # loads the app, then serves until SIGTERM
