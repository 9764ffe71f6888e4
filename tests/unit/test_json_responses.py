"""Responses are encoded by orjson (shared.api.FastJSONProvider): what a
client reads must be what Flask's own encoder would have written."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest
from flask import Flask, jsonify
from flask.json.provider import DefaultJSONProvider

from shared.api import FastJSONProvider


@dataclasses.dataclass
class Point:
    x: int
    y: int


def body_of(provider_class, *args, **kwargs):
    app = Flask("json-test")
    app.json = provider_class(app)
    app.json.sort_keys = False
    with app.app_context():
        response = jsonify(*args, **kwargs)
        return response.mimetype, response.get_data()


@pytest.mark.parametrize("args, kwargs", [
    (({"images": [{"name": "café ☕", "size": 2 ** 40, "protected": False, "tags": []}],
       "next": None},), {}),
    (({1: "one", "two": 2.5},), {}),
    (({"when": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
       "day": dt.date(2026, 1, 2)},), {}),
    (({"point": Point(1, 2)},), {}),
    (({"huge": 2 ** 70},), {}),
    ((1, "two", None), {}),
    ((), {"name": "kw", "count": 3}),
    ((), {}),
])
def test_the_fast_encoder_says_what_flask_says(args, kwargs):
    fast_type, fast = body_of(FastJSONProvider, *args, **kwargs)
    flask_type, standard = body_of(DefaultJSONProvider, *args, **kwargs)
    assert fast_type == flask_type == "application/json"
    assert json.loads(fast) == json.loads(standard)
    assert fast.endswith(b"\n")


def test_a_datetime_is_written_as_flask_writes_it():
    _type, body = body_of(FastJSONProvider, {"when": dt.datetime(2026, 1, 2, 3, 4, 5)})
    assert json.loads(body) == {"when": "Fri, 02 Jan 2026 03:04:05 GMT"}


def test_both_positional_and_keyword_arguments_are_refused():
    with pytest.raises(TypeError):
        body_of(FastJSONProvider, {"a": 1}, b=2)
