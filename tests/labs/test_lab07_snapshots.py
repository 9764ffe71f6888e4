"""Lab 07 (labs/07-snapshots.md) on the worker's stack: its steps, taken
from the text, boot lab7-vm, write a marker on its vda over SSH, snapshot it
while it runs, boot lab7-from-snap from the snapshot and read the marker
there. `pocketstack lab check 7` run before the last step (the second boot)
says what is missing with its hint; after it, everything is done (the
marker read on the host, in the new server's disk); `lab reset 7` leaves no
server, image or key pair of the lab."""
from __future__ import annotations

import json

import pytest

from tests.support.labs import lab, run_lab_steps_checking_before_last

pytestmark = pytest.mark.e2e


def test_steps_pass_the_check_which_names_the_skipped_boot(stack, tmp_path):
    before_last = run_lab_steps_checking_before_last(stack, 7, tmp_path)
    assert before_last.returncode == 1, before_last.stdout
    assert "[done   ] an image lab7-snap: a snapshot of lab7-vm" in before_last.stdout
    assert "[MISSING] a server lab7-from-snap booted from lab7-snap" in before_last.stdout
    assert "hint:  step 4: openstack server create --image lab7-snap ... lab7-from-snap" \
        in before_last.stdout

    done = lab(stack, "check", 7)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 of 4 done" in done.stdout and "MISSING" not in done.stdout


def test_reset_leaves_nothing_of_the_lab(stack):
    reset = lab(stack, "reset", 7)
    assert reset.returncode == 0, reset.stdout + reset.stderr
    for line in ("server lab7-from-snap", "server lab7-vm", "image lab7-snap",
                 "key pair lab7-key"):
        assert f"undone  {line}" in reset.stdout
    names = [item["Name"] for kind in ("server", "image", "keypair")
             for item in json.loads(stack.openstack(kind, "list", "-f", "json").stdout)]
    assert not [name for name in names if name.startswith("lab7-")], names
    assert lab(stack, "check", 7).returncode == 1
