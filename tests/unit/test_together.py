"""shared.together.at_once and computed.flows.beside: independent steps at
once, each to its end, with the request's ids, failures raised in order."""
from __future__ import annotations

import threading
import time

import pytest

from computed.flows import Undo, beside
from shared.request_ids import RequestIds, acting_for, current
from shared.together import at_once

IDS = RequestIds("req-00000000-0000-4000-8000-000000000001")


def test_results_come_in_the_order_of_the_calls_while_the_calls_overlap():
    """Each call waits until all have started: they can only end if they
    run at the same time (one after another, the first would wait for ever)."""
    started = threading.Barrier(3, timeout=10)

    def call(value):
        def run():
            started.wait()
            return value
        return run
    assert at_once(call("a"), call("b"), call("c")) == ["a", "b", "c"]


def test_every_call_runs_to_its_end_and_the_first_failure_is_raised():
    ended = []

    def fails(name):
        def run():
            ended.append(name)
            raise ValueError(name)
        return run

    def succeeds():
        ended.append("ok")
        return "ok"
    with pytest.raises(ValueError, match="^second$"):
        at_once(succeeds, fails("second"), fails("third"))
    assert sorted(ended) == ["ok", "second", "third"]


def test_the_calls_carry_the_request_ids():
    with acting_for(IDS):
        seen = at_once(current, current, current)
    assert seen == [IDS, IDS, IDS]


def test_one_call_or_none_runs_in_this_thread():
    assert at_once() == []
    assert at_once(threading.get_ident) == [threading.get_ident()]


def test_beside_ends_after_its_work_even_when_the_block_fails():
    """What the work pushed on the Undo is there when the block's failure
    is handled: the undo takes back both."""
    undo = Undo()
    undone = []
    go_on = threading.Event()

    def work():
        go_on.wait(10)
        time.sleep(0.2)  # still running when the block has failed
        undo.push("the port", lambda: undone.append("the port"))
        return "port"
    with pytest.raises(RuntimeError), beside(work) as future:
        undo.push("the disks", lambda: undone.append("the disks"))
        go_on.set()
        raise RuntimeError("the disks failed")
    assert future.done() and future.result() == "port"
    undo.run()
    assert sorted(undone) == ["the disks", "the port"]


def test_beside_gives_the_works_failure_to_whoever_asks_for_its_result():
    def work():
        raise LookupError("no network")
    with beside(work) as future:
        pass
    with pytest.raises(LookupError, match="no network"):
        future.result()


def test_beside_carries_the_request_ids():
    with acting_for(IDS), beside(current) as future:
        pass
    assert future.result() == IDS
