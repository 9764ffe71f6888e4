"""Lab 06 (labs/06-volumes.md) on the worker's stack: its steps, taken from
the text, make lab6-data, attach it over iSCSI to lab6-vm1, write on it from
inside the guest over SSH, move it to lab6-vm2 and read it back there, and
detach it. `pocketstack lab check 6` run before the last step (the detach)
says what is missing with its hint; after it, everything is done; `lab
reset 6` leaves no server, volume, key pair or tgtd target of the lab."""
from __future__ import annotations

import json

import pytest

from tests.support.compute import tgt_targets
from tests.support.labs import lab, run_lab_steps_checking_before_last

pytestmark = pytest.mark.e2e


def test_steps_pass_the_check_which_names_the_skipped_detach(stack, tmp_path):
    before_last = run_lab_steps_checking_before_last(stack, 6, tmp_path)
    assert before_last.returncode == 1, before_last.stdout
    assert "[done   ] what lab6-vm1 wrote is on lab6-data" in before_last.stdout
    assert "[MISSING] lab6-data detached again" in before_last.stdout
    assert "found: lab6-data is in-use, attached to lab6-vm2" in before_last.stdout
    assert "hint:  step 6: openstack server remove volume lab6-vm2 lab6-data" \
        in before_last.stdout
    assert "4 of 5 done; 1 missing" in before_last.stdout

    done = lab(stack, "check", 6)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "5 of 5 done" in done.stdout and "MISSING" not in done.stdout


def test_reset_leaves_nothing_of_the_lab(stack):
    volume_id = stack.openstack("volume", "show", "lab6-data", "-f", "value",
                                "-c", "id").stdout.strip()
    reset = lab(stack, "reset", 6)
    assert reset.returncode == 0, reset.stdout + reset.stderr
    for line in ("server lab6-vm1", "server lab6-vm2", "volume lab6-data",
                 "key pair lab6-key"):
        assert f"undone  {line}" in reset.stdout
    names = {kind: [item["Name"] for item in json.loads(
        stack.openstack(kind, "list", "-f", "json").stdout)]
        for kind in ("server", "volume", "keypair")}
    assert not [name for found in names.values() for name in found
                if name.startswith("lab6-")], names
    assert volume_id not in tgt_targets(stack)
    assert lab(stack, "check", 6).returncode == 1
