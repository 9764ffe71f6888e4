"""shared/api.py's request log line: a path's control characters (a
percent-encoded newline arrives decoded) are escaped, so a request cannot
write a line of its own into the service's log."""
from __future__ import annotations

import logging

from flask import jsonify

from shared.api import create_app


def test_a_newline_in_the_path_is_escaped_in_the_log(caplog):
    app = create_app("things", error_style="keystone", validator=lambda: None,
                     is_public=lambda method, path: True)
    app.add_url_rule("/v1/<name>", "show", lambda name: jsonify({}))
    with caplog.at_level(logging.INFO, logger="shared.api"):
        response = app.test_client().get("/v1/a%0A2026-01-01 forged%00line")
    assert response.status_code == 200
    lines = [record.getMessage() for record in caplog.records
             if record.getMessage().startswith('"GET /v1/')]
    assert len(lines) == 1
    assert lines[0].startswith('"GET /v1/a\\n2026-01-01 forged\\x00line" status=200 ')
    assert "\n" not in lines[0] and "\x00" not in lines[0]
