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
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger
from gunicorn.sock import create_sockets
from gunicorn.workers.gthread import ThreadWorker

from shared.serving import serve_as


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

    def _cap_keepalive(self, deadline: float) -> None:
        """At shutdown, an idle kept-alive connection is closed now instead
        of lingering (gunicorn gives it a moment, in case a request comes
        on it): the clients that keep them are mostly the other services,
        stopping too (in one process: this one, which would wait for
        itself), and `pocketstack down` should not wait for nothing."""
        super()._cap_keepalive(time.monotonic())


def serve(app_factory: Callable, *, host: str, port: int, workers: int, threads: int,
          name: str) -> None:
    """One service: its app on host:port, in `workers` processes of
    `threads` threads (one worker: this process; see the module's text)."""
    application = _application(app_factory, [f"{host}:{port}"], workers, threads, name)
    if workers > 1:
        application.run()
        return
    _serve_in_this_process(application, threads, f"http://{host}:{port}")


@dataclass(frozen=True)
class Port:
    """One service of a process serving several: its name and address."""
    service: str
    host: str
    port: int


class PortDispatcher:
    """The WSGI app of a process serving several services: a request goes
    to the app of the service whose port it came in on (the socket's own
    port, not the Host header, which a port forward may have changed), and
    the thread serving it works for that service meanwhile (its log lines
    go to that service's log: shared.serving).

    The services start one after the other while the ports already accept
    (one's start may call another: networkd's first start asks identity);
    a request to a service still starting waits for it (add())."""

    #: How long a request waits for its service to finish starting.
    START_WAIT = 120.0

    def __init__(self, ports: Iterable[Port]):
        self._ports = {item.port: item for item in ports}
        self._apps: dict[int, Callable] = {}
        self._started = {port: threading.Event() for port in self._ports}

    def add(self, port: int, app: Callable) -> None:
        """The service of this port has started: serve its requests."""
        self._apps[port] = app
        self._started[port].set()

    def __call__(self, environ, start_response):
        port = environ["gunicorn.socket"].getsockname()[1]
        if not self._started[port].wait(self.START_WAIT):
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [f"{self._ports[port].service} is still starting.\n".encode()]
        serve_as(self._ports[port].service)
        return self._apps[port](environ, start_response)


def serve_together(ports: list[Port], start: Callable[[PortDispatcher], None], threads: int,
                   name: str) -> None:
    """Several services, each on its own port, served by one threaded
    worker: this process (pocketstack's one-process mode). start(dispatcher)
    runs in a thread of its own and add()s each service's app as it is
    ready, while the ports already accept."""
    dispatcher = PortDispatcher(ports)
    application = _application(lambda: dispatcher,
                               [f"{item.host}:{item.port}" for item in ports], 1, threads,
                               name)
    threading.Thread(target=start, args=(dispatcher,), name="starting", daemon=True).start()
    _serve_in_this_process(application, threads,
                           ", ".join(f"{item.service} http://{item.host}:{item.port}"
                                     for item in ports))


def _application(app_factory: Callable, binds: list[str], workers: int, threads: int,
                 name: str) -> _Application:
    return _Application(app_factory, {
        "bind": binds,
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


def _serve_in_this_process(application: _Application, threads: int, where: str) -> None:
    log = Logger(application.cfg)
    worker = _SoleWorker(1, os.getppid(), create_sockets(application.cfg, log), application,
                         application.cfg.timeout, application.cfg, log)
    worker.pid = os.getpid()
    log.info("Listening at: %s (pid %s, %s threads)", where, worker.pid, threads)
    worker.init_process()  # loads the app, then serves until SIGTERM
