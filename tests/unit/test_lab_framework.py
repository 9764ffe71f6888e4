"""The lab framework: every lab text has runnable steps and a check module,
and a check reports done, missing (with what it found and the hint) and
exits non-zero while something is missing."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from pocketstack.lab import all_labs, command
from pocketstack.lab.base import Lab, NotYet, Requirement
from tests.stack import REPO
from tests.support.labs import lab_steps


def test_every_lab_text_has_a_check_and_steps():
    labs = all_labs()
    texts = sorted(path.name for path in (REPO / "labs").glob("[0-9][0-9]-*.md"))
    assert sorted(lab.text for lab in labs.values()) == texts
    for number, lab in labs.items():
        assert lab.number == number
        assert lab.text.startswith(f"{number:02d}-")
        assert lab_steps(number)
        assert lab.requirements()


class _TwoSteps(Lab):
    number, title, text = 99, "two steps", "99-two.md"

    def __init__(self, first_done: bool):
        self.first_done = first_done

    def requirements(self):
        def first(context):
            if not self.first_done:
                raise NotYet("no server lab99-vm")
        return [Requirement("a server lab99-vm", first, "run step 1"),
                Requirement("always true", lambda context: None, "none")]

    def reset(self, context):
        return ["server lab99-vm"]


@pytest.mark.parametrize(("first_done", "status"), [(True, 0), (False, command.MISSING)])
def test_check_prints_done_and_missing_with_hint(monkeypatch, capsys, tmp_path,
                                                 first_done, status):
    monkeypatch.setattr(command, "all_labs", lambda: {99: _TwoSteps(first_done)})
    args = SimpleNamespace(lab_action="check", number=99)
    assert command.run(args, _state(tmp_path)) == status
    out = capsys.readouterr().out
    if first_done:
        assert "2 of 2 done" in out and "MISSING" not in out
    else:
        assert "[MISSING] a server lab99-vm" in out
        assert "found: no server lab99-vm" in out and "hint:  run step 1" in out
        assert "1 of 2 done; 1 missing" in out


def test_unknown_lab_is_refused(capsys, tmp_path):
    args = SimpleNamespace(lab_action="check", number=4242)
    assert command.run(args, _state(tmp_path)) == command.CANNOT_ASK
    assert "no lab 4242" in capsys.readouterr().err


def _state(path):
    from shared.paths import StateLayout
    return StateLayout(path)
