"""Lab 01 (labs/01-identity.md) on the worker's stack: its steps, taken from
the text, pass `pocketstack lab check 1`; run again without the application
credential step (after `lab reset 1`), the check exits 1 naming it with its
hint; `lab reset 1` then leaves no lab1, student1 or policy file."""
from __future__ import annotations

import json

import pytest

from tests.support.labs import lab, lab_steps, run_lab_steps

pytestmark = pytest.mark.e2e


def test_steps_pass_the_check(stack):
    assert lab(stack, "reset", 1).returncode == 0
    run_lab_steps(stack, 1)
    done = lab(stack, "check", 1)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "5 of 5 done" in done.stdout and "MISSING" not in done.stdout


def test_a_skipped_step_fails_the_check_and_reset_leaves_nothing(stack):
    steps = lab_steps(1)
    create, use = (index for index, step in enumerate(steps) if "ci-reader" in step)
    assert lab(stack, "reset", 1).returncode == 0
    run_lab_steps(stack, 1, skip={create, use})
    missing = lab(stack, "check", 1)
    assert missing.returncode == 1, missing.stdout + missing.stderr
    assert "[MISSING] an application credential ci-reader was made, then deleted" \
        in missing.stdout
    assert "hint:  step 7: application credential create ... ci-reader" in missing.stdout
    assert "4 of 5 done" in missing.stdout

    reset = lab(stack, "reset", 1)
    assert reset.returncode == 0, reset.stdout + reset.stderr
    for kind, name in (("project", "lab1"), ("user", "student1")):
        listed = json.loads(stack.openstack(kind, "list", "-f", "json",
                                            cloud="pocketstack-admin").stdout)
        assert name not in [entry["Name"] for entry in listed]
    assert not (stack.state_dir / "etc" / "identity-policy.yaml").exists()
