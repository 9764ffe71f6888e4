"""The kill matrix's step hook (shared/stephold.py): off unless its
directory is set; holds only the armed event, after its transaction
commits, one thread only, until released."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text

from shared import stephold
from shared.db import make_engine, session_factory, transaction
from shared.events import Notifier, create_tables


@pytest.fixture
def notifier(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'events.sqlite'}")
    create_tables(engine)
    sessions = session_factory(engine)
    yield Notifier("test", sessions), sessions
    engine.dispose()


def committed_events(sessions) -> int:
    with transaction(sessions, write=False) as session:
        return session.execute(text("SELECT count(*) FROM events")).scalar_one()


def test_off_without_the_directory(notifier, tmp_path, monkeypatch):
    monkeypatch.delenv(stephold.ENVIRONMENT, raising=False)
    (tmp_path / "arm").write_text("thing.done\n")
    events, _ = notifier
    events.notify(None, "thing.done")  # returns at once
    assert (tmp_path / "arm").exists()


def test_holds_after_the_commit_until_released(notifier, tmp_path, monkeypatch):
    monkeypatch.setenv(stephold.ENVIRONMENT, str(tmp_path))
    events, sessions = notifier
    (tmp_path / "arm").write_text("thing.done\n")
    events.notify(None, "thing.started")  # not armed: no hold
    finished = threading.Event()

    def flow():
        with transaction(sessions) as session:
            events.notify(None, "thing.done", resource_id="r1", session=session)
        finished.set()
    worker = threading.Thread(target=flow)
    worker.start()
    deadline = time.monotonic() + 10
    while not list(tmp_path.glob("held-*")) and time.monotonic() < deadline:
        time.sleep(0.01)
    held = list(tmp_path.glob("held-*"))
    assert len(held) == 1 and not (tmp_path / "arm").exists()
    assert committed_events(sessions) == 2  # the step's change is in the database
    time.sleep(0.2)
    assert not finished.is_set()
    held[0].unlink()
    worker.join(10)
    assert finished.is_set()


def test_a_rolled_back_step_is_not_held(notifier, tmp_path, monkeypatch):
    monkeypatch.setenv(stephold.ENVIRONMENT, str(tmp_path))
    events, sessions = notifier
    (tmp_path / "arm").write_text("thing.done\n")
    with pytest.raises(RuntimeError), transaction(sessions) as session:
        events.notify(None, "thing.done", session=session)
        raise RuntimeError("the step failed")
    assert (tmp_path / "arm").exists() and not list(tmp_path.glob("held-*"))
    with transaction(sessions) as session:  # the next transaction does not inherit it
        session.execute(text("SELECT 1"))
    assert (tmp_path / "arm").exists()


def test_a_hold_released_the_moment_it_appears_is_over(notifier, tmp_path, monkeypatch):
    """held-* appears whole (its content written before): a test that
    releases it at once never has the hold made again behind its back."""
    monkeypatch.setenv(stephold.ENVIRONMENT, str(tmp_path))
    events, sessions = notifier
    for attempt in range(20):
        (tmp_path / "arm").write_text("thing.done\n")
        worker = threading.Thread(target=events.notify, args=(None, "thing.done"),
                                  kwargs={"resource_id": f"r{attempt}"})
        worker.start()
        deadline = time.monotonic() + 10
        while not (held := list(tmp_path.glob("held-*"))):
            assert time.monotonic() < deadline, "never held"
        assert held[0].read_text() == f"thing.done r{attempt}\n"
        for path in tmp_path.glob("*"):
            path.unlink(missing_ok=True)  # what StepHold.clear() does
        worker.join(5)
        assert not worker.is_alive(), f"still held after its release ({attempt})"
