"""The one-process mode's parts: a request goes to its port's service, and
a log line to its service's file (pocketstack/together.py)."""
from __future__ import annotations

import logging
import socket
import threading

import pytest

from pocketstack.together import package_of
from shared import logs
from shared.serve import Port, PortDispatcher
from shared.serving import current_service, serve_as


def test_package_of_names_what_a_services_loggers_are_called():
    assert package_of("identity.app") == "identity"
    assert package_of("imaged.registry.server") == "imaged.registry"
    assert package_of("imaged.scrubber") == "imaged.scrubber"


@pytest.fixture
def two_sockets():
    """Two listening sockets, as gunicorn's for two services."""
    made = []
    for _ in range(2):
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        made.append(listener)
    yield made
    for listener in made:
        listener.close()


def app_saying(text: str):
    def app(environ, start_response):
        start_response("200 OK", [])
        return [f"{text} for {current_service()}".encode()]
    return app


def call(dispatcher: PortDispatcher, listener: socket.socket) -> tuple[str, bytes]:
    """The status and body the dispatcher answers on the connection accepted
    by this listener (its own port is what the dispatcher looks at)."""
    client = socket.create_connection(listener.getsockname())
    accepted, _ = listener.accept()
    answer: dict = {}
    try:
        body = dispatcher({"gunicorn.socket": accepted},
                          lambda status, headers: answer.setdefault("status", status))
        return answer["status"], b"".join(body)
    finally:
        accepted.close()
        client.close()


def test_a_request_goes_to_the_service_of_its_port(two_sockets):
    first, second = two_sockets
    dispatcher = PortDispatcher([Port("identity", "127.0.0.1", first.getsockname()[1]),
                                 Port("imaged", "127.0.0.1", second.getsockname()[1])])
    dispatcher.add(first.getsockname()[1], app_saying("tokens"))
    dispatcher.add(second.getsockname()[1], app_saying("images"))
    assert call(dispatcher, second) == ("200 OK", b"images for imaged")
    assert call(dispatcher, first) == ("200 OK", b"tokens for identity")


def test_a_request_to_a_service_still_starting_waits_for_it(two_sockets):
    first, _ = two_sockets
    port = first.getsockname()[1]
    dispatcher = PortDispatcher([Port("networkd", "127.0.0.1", port)])
    answers: list = []
    waiting = threading.Thread(target=lambda: answers.append(call(dispatcher, first)))
    waiting.start()
    waiting.join(0.3)
    assert waiting.is_alive() and not answers  # no answer before the service runs
    dispatcher.add(port, app_saying("networks"))
    waiting.join(10)
    assert answers == [("200 OK", b"networks for networkd")]


def test_a_service_that_never_starts_gets_503(two_sockets, monkeypatch):
    first, _ = two_sockets
    dispatcher = PortDispatcher([Port("computed", "127.0.0.1", first.getsockname()[1])])
    monkeypatch.setattr(PortDispatcher, "START_WAIT", 0.1)
    status, body = call(dispatcher, first)
    assert status.startswith("503") and b"computed is still starting" in body


def test_each_line_goes_to_the_log_of_the_service_it_was_written_for(tmp_path):
    files = {name: tmp_path / f"{name}.log" for name in ("imaged", "imaged-scrubber")}
    handler = logs.ServiceLogFiles(files, {"imaged": "imaged",
                                           "imaged.scrubber": "imaged-scrubber"})
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))

    def emit(logger: str, message: str) -> None:
        handler.handle(logging.LogRecord(logger, logging.INFO, __file__, 1, message, None,
                                         None))

    serve_as(None)
    emit("imaged.store.file", "by package")
    emit("imaged.scrubber", "longest package first")
    serve_as("imaged-scrubber")
    emit("shared.clients.base", "by the thread's service")
    emit("imaged.store.file", "the thread's service before the package")
    serve_as(None)
    assert files["imaged"].read_text() == "imaged.store.file by package\n"
    assert files["imaged-scrubber"].read_text().splitlines() == [
        "imaged.scrubber longest package first",
        "shared.clients.base by the thread's service",
        "imaged.store.file the thread's service before the package"]
