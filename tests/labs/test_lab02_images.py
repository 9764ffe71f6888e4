"""Lab 02 (labs/02-images.md) on the worker's stack: its steps, taken from
the text, pass `pocketstack lab check 2`; run again without the step where
the other project accepts the shared image (after `lab reset 2`), the check
exits 1 naming it with its hint; `lab reset 2` then leaves no lab2 image
(killed ones included), project or user."""
from __future__ import annotations

import json

import pytest

from tests.support.labs import lab, lab_steps, run_lab_steps

pytestmark = pytest.mark.e2e


def test_steps_pass_the_check(stack):
    assert lab(stack, "reset", 2).returncode == 0
    run_lab_steps(stack, 2)
    done = lab(stack, "check", 2)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "9 of 9 done" in done.stdout and "MISSING" not in done.stdout


def test_a_skipped_step_fails_the_check_and_reset_leaves_nothing(stack):
    [accept] = [index for index, step in enumerate(lab_steps(2)) if "--accept" in step]
    assert lab(stack, "reset", 2).returncode == 0
    run_lab_steps(stack, 2, skip={accept})
    missing = lab(stack, "check", 2)
    assert missing.returncode == 1, missing.stdout + missing.stderr
    assert "[MISSING] lab2-other accepted lab2-raw" in missing.stdout
    assert "found: lab2-other's membership is pending" in missing.stdout
    assert "hint:  step 6: as lab2-friend: openstack image set --accept $RAW" in missing.stdout
    assert "8 of 9 done" in missing.stdout

    reset = lab(stack, "reset", 2)
    assert reset.returncode == 0, reset.stdout + reset.stderr
    assert "undone  image lab2-bad" in reset.stdout
    for status in (None, "killed"):
        images = json.loads(stack.openstack(
            "image", "list", "-f", "json", *(["--status", status] if status else []),
            cloud="pocketstack-admin").stdout)
        assert not [image for image in images if image["Name"].startswith("lab2-")]
    for kind, name in (("project", "lab2-other"), ("user", "lab2-friend")):
        listed = json.loads(stack.openstack(kind, "list", "-f", "json",
                                            cloud="pocketstack-admin").stdout)
        assert name not in [entry["Name"] for entry in listed]
