"""The request ids of the shared API app: an incoming X-OpenStack-Request-ID
of the right form becomes the request's global id, logged beside its own;
work handed to a thread logs with the ids of the request that handed it."""
from __future__ import annotations

import logging
import threading
import uuid

from flask import jsonify

from shared import logs
from shared.api import context, create_app
from shared.request_ids import carried


def app_logging_to(records: list[str]):
    app = create_app("test", error_style="nova", validator=lambda: None,
                     is_public=lambda method, path: True)
    handler = logging.Handler()
    handler.addFilter(logs.RequestIdFilter())
    handler.emit = lambda record: records.append(  # type: ignore[method-assign]
        logging.Formatter(logs.FORMAT).format(record))
    log = logging.getLogger(f"tests.request_ids.{uuid.uuid4().hex}")
    log.addHandler(handler)
    log.setLevel(logging.INFO)

    @app.get("/work")
    def work():
        ctx = context()
        log.info("in the request")
        thread = threading.Thread(target=carried(lambda: log.info("in the thread")))
        thread.start()
        thread.join()
        return jsonify(own=ctx.request_id, global_id=ctx.global_request_id)
    return app


def test_a_valid_global_id_is_kept_and_logged_beside_the_own_id():
    records: list[str] = []
    client = app_logging_to(records).test_client()
    first = f"req-{uuid.uuid4()}"
    answer = client.get("/work", headers={"X-OpenStack-Request-ID": first})
    own = answer.json["own"]
    assert answer.json["global_id"] == first and own != first
    assert answer.headers["X-OpenStack-Request-ID"] == own
    tagged = [line for line in records if f"[{own} global={first}]" in line]
    assert any(line.endswith("in the request") for line in tagged), records
    assert any(line.endswith("in the thread") for line in tagged), records


def test_an_id_of_another_form_is_ignored():
    records: list[str] = []
    client = app_logging_to(records).test_client()
    for bad in ("req-1234", "not-an-id", f"req-{uuid.uuid4()} extra", "x" * 300):
        answer = client.get("/work", headers={"X-OpenStack-Request-ID": bad})
        assert answer.json["global_id"] is None
    assert not [line for line in records if "global=" in line or "[-]" in line]
