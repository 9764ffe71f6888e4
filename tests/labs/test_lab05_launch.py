"""Lab 05 (labs/05-launch.md) on the worker's stack: its steps, taken from
the text, boot lab5-vm, look at its events, disks, instance directory and
domain, and terminate it. `pocketstack lab check 5` run before the last step
(the terminate) says what is missing with its hint; after it, everything is
done; `lab reset 5` leaves no lab5-vm."""
from __future__ import annotations

import json

import pytest

from tests.support.labs import lab, run_lab_steps_checking_before_last

pytestmark = pytest.mark.e2e


def test_steps_pass_the_check_which_names_the_skipped_terminate(stack, tmp_path):
    before_last = run_lab_steps_checking_before_last(stack, 5, tmp_path)
    assert before_last.returncode == 1, before_last.stdout
    assert "[done   ] a server lab5-vm was launched" in before_last.stdout
    assert "[MISSING] lab5-vm was terminated" in before_last.stdout
    assert "found: lab5-vm is still there (ACTIVE)" in before_last.stdout
    assert "hint:  step 5: openstack server delete --wait lab5-vm" in before_last.stdout

    done = lab(stack, "check", 5)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 of 4 done" in done.stdout and "MISSING" not in done.stdout


def test_reset_leaves_no_lab5_server(stack):
    stack.openstack("server", "create", "--image", "pocketstack-tiny", "--flavor", "m1.nano",
                    "--network", "private", "lab5-vm")
    reset = lab(stack, "reset", 5)
    assert reset.returncode == 0 and "undone  server lab5-vm" in reset.stdout, reset.stdout
    servers = json.loads(stack.openstack("server", "list", "-f", "json").stdout)
    assert "lab5-vm" not in [server["Name"] for server in servers]
