"""A lab's steps, taken from its text and run as a learner would run them.

The steps are the ```sh blocks of labs/NN-*.md, in order (other blocks,
```yaml or ```text, are shown, not run). They run in one bash, so a
variable set in one step is there in the next, with the real `openstack`
client and the `pocketstack` command on PATH and the stack's clouds.yaml
and state directory in the environment, as labs/README.md sets them up.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.stack import CLIENTS_VENV, REPO, Stack

_BLOCK = re.compile(r"^```sh\n(.*?)^```", re.MULTILINE | re.DOTALL)


def lab_text(number: int) -> Path:
    [path] = (REPO / "labs").glob(f"{number:02d}-*.md")
    return path


def lab_steps(number: int) -> list[str]:
    """The lab's ```sh blocks, in order."""
    steps = _BLOCK.findall(lab_text(number).read_text())
    assert steps, f"lab {number} has no ```sh steps"
    return steps


def lab_environment(stack: Stack) -> dict[str, str]:
    bin_dirs = [str(CLIENTS_VENV / "bin"), str(Path(sys.executable).parent)]
    return {**os.environ,
            "PATH": os.pathsep.join([*bin_dirs, os.environ.get("PATH", "")]),
            "OS_CLIENT_CONFIG_FILE": str(stack.state_dir / "etc" / "clouds.yaml"),
            "POCKETSTACK_STATE_DIR": str(stack.state_dir)}


def run_lab_steps(stack: Stack, number: int, skip: set[int] = frozenset(),
                  timeout: float = 900) -> subprocess.CompletedProcess:
    """Run lab `number`'s steps (0-based indexes in `skip` left out) in one
    bash with `set -eu -o pipefail`; fails the test on the first failing
    command, showing the output so far."""
    steps = [step for index, step in enumerate(lab_steps(number)) if index not in skip]
    script = "set -eu -o pipefail\n" + "\n".join(steps)
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                          timeout=timeout, env=lab_environment(stack), cwd=REPO,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, (f"lab {number}'s steps failed ({done.returncode}):\n"
                                  f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    return done


def lab(stack: Stack, action: str, number: int) -> subprocess.CompletedProcess:
    """`pocketstack lab check|reset N` on the stack, as the learner runs it."""
    return subprocess.run([sys.executable, "-m", "pocketstack.main", "--state-dir",
                           str(stack.state_dir), "lab", action, str(number)],
                          capture_output=True, text=True, timeout=600, cwd=REPO,
                          env=lab_environment(stack))


def run_lab_steps_checking_before_last(stack: Stack, number: int, tmp_path: Path,
                                       timeout: float = 1500) -> subprocess.CompletedProcess:
    """Run all of lab `number`'s steps in one bash, as run_lab_steps does,
    with `pocketstack lab check N` run just before the last step: what the
    learner would see on a stack where that step was skipped. For the labs
    that boot guests, this shows both checks with one boot of each server.
    Returns that check, its output and exit status as a CompletedProcess."""
    steps = lab_steps(number)
    before = tmp_path / f"lab{number}-check-before-last"
    check = (f'{{ pocketstack lab check {number} && echo 0 || echo $?; }} '
             f'> "$LAB_CHECK_OUT" 2>&1')
    script = "\n".join(["set -eu -o pipefail", *steps[:-1], check, steps[-1]])
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO, stdin=subprocess.DEVNULL,
                          env={**lab_environment(stack), "LAB_CHECK_OUT": str(before)})
    assert done.returncode == 0, (f"lab {number}'s steps failed ({done.returncode}):\n"
                                  f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    *lines, status = before.read_text().rstrip("\n").split("\n")
    return subprocess.CompletedProcess(["pocketstack", "lab", "check", str(number)],
                                       int(status), "\n".join(lines) + "\n", "")
