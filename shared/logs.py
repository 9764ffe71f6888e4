"""Logging with the request id on every line.

Every response carries x-openstack-request-id; the same id is printed on
each log line written while serving that request, and on the lines of the
work the request handed to a thread, so a student can follow one API call
through a service's log. A request made by another service for a user's
action also shows the global id of that action
(`[req-own global=req-first]`: see shared.request_ids), so the action can be
followed through every service's log. A line no request asked for shows
`[-]`.
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TextIO

from shared import request_ids
from shared.serving import current_service

FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s [%(request_id)s] %(message)s"


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        ids = request_ids.current()
        record.request_id = str(ids) if ids else "-"
        return True


class ServiceLogFiles(logging.Handler):
    """In a process serving several services: each line into the log file of
    the service it was written for. That is the service the thread works
    for (shared.serving), else the one whose package the logger belongs to
    (`imaged.scrubber.*` is imaged-scrubber's, `imaged.*` imaged's), else
    none: the process's own log (stderr)."""

    def __init__(self, files: dict[str, Path], packages: dict[str, str]):
        super().__init__()
        self._streams: dict[str, TextIO] = {
            service: open(path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 - kept open
            for service, path in files.items()}
        # The longest package first: imaged.scrubber before imaged.
        self._packages = sorted(packages.items(), key=lambda item: -len(item[0]))

    def _service_of(self, record: logging.LogRecord) -> str | None:
        service = current_service()
        if service in self._streams:
            return service
        for package, owner in self._packages:
            if record.name == package or record.name.startswith(package + "."):
                return owner
        return None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stream = self._streams.get(self._service_of(record) or "", sys.stderr)
            stream.write(self.format(record) + "\n")
        except Exception:  # noqa: BLE001 - logging's own contract
            self.handleError(record)


_shared_process: ServiceLogFiles | None = None


def configure(debug: bool = False) -> None:
    """The root logger for a service's process: its lines on stderr (the
    service's log file, where `pocketstack up` points stderr). In a process
    serving several (route_by_service was called), each service calling
    this only lowers the level if it asks for debug."""
    root = logging.getLogger()
    if _shared_process is not None:
        if debug:
            root.setLevel(logging.DEBUG)
        return
    _install(logging.StreamHandler(sys.stderr), debug)


def route_by_service(files: dict[str, Path], packages: dict[str, str]) -> None:
    """For a process serving several services: each line into its service's
    log file (ServiceLogFiles), for good."""
    global _shared_process
    _shared_process = ServiceLogFiles(files, packages)
    _install(_shared_process, debug=False)


def _install(handler: logging.Handler, debug: bool) -> None:
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    for noisy in ("urllib3", "oslo_policy", "stevedore", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
