"""Apps built in several threads at once (pocketstack's one-process mode
starts every service so) compile their routes without CPython 3.11's AST
race (shared/flaskapp.py): "SystemError: AST constructor recursion depth
mismatch" when a collection lets another thread parse in the middle of a
conversion."""
from __future__ import annotations

import gc
import threading
import time

from flask import Flask

from shared.flaskapp import FlaskApp


def build_apps_at_once(app_class: type[Flask]) -> list[str]:
    """Four threads add routes to apps of `app_class`, while every
    collection of the garbage collector hands the interpreter to another
    thread (as a finalizer that does I/O would). The errors raised."""
    errors: list[str] = []

    def build(index: int) -> None:
        try:
            for number in range(8):
                app = app_class(f"app-{index}-{number}")
                for route in range(30):
                    app.add_url_rule(f"/v2/<string:a>/r{route}/<int:b>/<path:c>",
                                     f"route-{route}", lambda **_: "")
        except SystemError as exc:
            errors.append(str(exc))

    def switch(_phase, _info) -> None:
        time.sleep(0)

    thresholds = gc.get_threshold()
    gc.set_threshold(10, 1, 1)
    gc.callbacks.append(switch)
    try:
        threads = [threading.Thread(target=build, args=(index,)) for index in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        gc.callbacks.remove(switch)
        gc.set_threshold(*thresholds)
    return errors


def test_routes_of_apps_built_at_once_all_compile():
    """(Plain Flask apps fail this on CPython 3.11, at nearly every run.)"""
    assert build_apps_at_once(FlaskApp) == []

