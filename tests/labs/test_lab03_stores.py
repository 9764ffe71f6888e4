"""Lab 03 (labs/03-stores.md) on the worker's stack: its steps, taken from
the text, pass `pocketstack lab check 3`; run again without the policy step
(after `lab reset 3`), the check exits 1 naming the image not made public,
with its hint; `lab reset 3` then leaves no lab3 image and no policy file."""
from __future__ import annotations

import json

import pytest

from tests.support.labs import lab, lab_steps, run_lab_steps

pytestmark = pytest.mark.e2e


def test_steps_pass_the_check(stack):
    assert lab(stack, "reset", 3).returncode == 0
    run_lab_steps(stack, 3)
    done = lab(stack, "check", 3)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 of 3 done" in done.stdout and "MISSING" not in done.stdout


def test_a_skipped_step_fails_the_check_and_reset_leaves_nothing(stack):
    [policy] = [index for index, step in enumerate(lab_steps(3)) if "imaged-policy" in step]
    assert lab(stack, "reset", 3).returncode == 0
    run_lab_steps(stack, 3, skip={policy})
    missing = lab(stack, "check", 3)
    assert missing.returncode == 1, missing.stdout + missing.stderr
    assert "[MISSING] demo made lab3-file public" in missing.stdout
    assert "found: lab3-file is shared" in missing.stdout \
        or "found: lab3-file is private" in missing.stdout, missing.stdout
    assert "hint:  step 5: write imaged-policy.yaml" in missing.stdout
    assert "2 of 3 done" in missing.stdout

    reset = lab(stack, "reset", 3)
    assert reset.returncode == 0, reset.stdout + reset.stderr
    images = json.loads(stack.openstack("image", "list", "-f", "json",
                                        cloud="pocketstack-admin").stdout)
    assert not [image for image in images if image["Name"].startswith("lab3-")]
    assert not (stack.state_dir / "etc" / "imaged-policy.yaml").exists()
