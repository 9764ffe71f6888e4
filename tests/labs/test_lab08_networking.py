"""Lab 08 (labs/08-networking.md) on the worker's stack: its steps, taken
from the text, look at the project's network, make a security group letting
SSH in, a key pair and lab8-vm, log in with `pocketstack ssh` at its fixed
IP (from inside the stack's namespace), look at the namespace's links, DHCP
hosts and nftables rules, then give it a floating IP and log in through it.
`pocketstack lab check 8` run before the last step (the floating IP) says
what is missing with its hint; after it, everything is done; `lab reset 8`
leaves no server, floating IP, security group or key pair of the lab."""
from __future__ import annotations

import json

import pytest

from tests.support.labs import lab, run_lab_steps_checking_before_last

pytestmark = pytest.mark.e2e


def test_steps_pass_the_check_which_names_the_skipped_floating_ip(stack, tmp_path):
    before_last = run_lab_steps_checking_before_last(stack, 8, tmp_path)
    assert before_last.returncode == 1, before_last.stdout
    assert "[done   ] lab8-vm's port built in the stack's namespace" in before_last.stdout
    assert "[MISSING] a floating IP on lab8-vm" in before_last.stdout
    assert "found: lab8-vm has no floating IP" in before_last.stdout
    assert "hint:  step 5: openstack floating ip create --description lab8 public" \
        in before_last.stdout
    assert "4 of 5 done; 1 missing" in before_last.stdout

    done = lab(stack, "check", 8)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "5 of 5 done" in done.stdout and "MISSING" not in done.stdout


def test_reset_leaves_nothing_of_the_lab(stack):
    reset = lab(stack, "reset", 8)
    assert reset.returncode == 0, reset.stdout + reset.stderr
    for line in ("floating IP", "server lab8-vm", "security group lab8-ssh",
                 "key pair lab8-key"):
        assert f"undone  {line}" in reset.stdout
    names = [item["Name"] for kind in ("server", "security group", "keypair")
             for item in json.loads(stack.openstack(*kind.split(), "list", "-f",
                                                    "json").stdout)]
    assert not [name for name in names if name.startswith("lab8-")], names
    floating = json.loads(stack.openstack("floating", "ip", "list", "--long", "-f",
                                          "json").stdout)
    assert not [ip for ip in floating if ip.get("Description") == "lab8"], floating
    assert lab(stack, "check", 8).returncode == 1
