"""Lab 04 (labs/04-flavors.md) on the worker's stack: its steps, taken from
the text, make the flavors and boot lab4-vm (the only boot), and pass
`pocketstack lab check 4`; run again without the boot and the look at its
domain (after `lab reset 4`), the check exits 1 naming the server with its
hint; `lab reset 4` then leaves no lab4 server or flavor."""
from __future__ import annotations

import json

import pytest

from tests.support.labs import lab, lab_steps, run_lab_steps

pytestmark = pytest.mark.e2e


def test_steps_pass_the_check(stack):
    assert lab(stack, "reset", 4).returncode == 0
    run_lab_steps(stack, 4)
    done = lab(stack, "check", 4)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 of 4 done" in done.stdout and "MISSING" not in done.stdout


def test_a_skipped_step_fails_the_check_and_reset_leaves_nothing(stack):
    boot = {index for index, step in enumerate(lab_steps(4)) if "lab4-vm" in step}
    assert lab(stack, "reset", 4).returncode == 0
    run_lab_steps(stack, 4, skip=boot)
    missing = lab(stack, "check", 4)
    assert missing.returncode == 1, missing.stdout + missing.stderr
    assert "[MISSING] lab4-vm's libvirt domain has lab4-custom's vCPUs and RAM" \
        in missing.stdout
    assert "found: no server lab4-vm" in missing.stdout
    assert "hint:  step 4: openstack server create --flavor lab4-custom" in missing.stdout
    assert "2 of 4 done" in missing.stdout

    reset = lab(stack, "reset", 4)
    assert reset.returncode == 0, reset.stdout + reset.stderr
    servers = json.loads(stack.openstack("server", "list", "--all-projects", "-f", "json",
                                         cloud="pocketstack-admin").stdout)
    assert "lab4-vm" not in [server["Name"] for server in servers]
    flavors = json.loads(stack.openstack("flavor", "list", "--all", "-f", "json",
                                         cloud="pocketstack-admin").stdout)
    assert not [flavor for flavor in flavors if flavor["Name"].startswith("lab4-")]
