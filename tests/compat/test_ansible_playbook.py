"""Ansible's openstack.cloud collection (bundled in the `ansible` package,
unmodified from PyPI) runs a playbook against the stack: it uploads an image,
creates a volume, boots a server, attaches the volume, waits for each,
checks what it reads back, and tears it all down. The collection drives
openstacksdk with its own defaults and waits, so this catches answers that
the `openstack` client happens to tolerate."""
from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.stack import REPO
from tests.support.compute import unique

pytestmark = [pytest.mark.compat, pytest.mark.e2e]

PLAYBOOK = Path(__file__).parent / "ansible" / "server_with_volume.yml"
ANSIBLE_VENV = REPO / ".venv-ansible"   # made by `make test` (tests/ansible-requirements.txt)


def run_playbook(stack, tmp_path: Path, **variables) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    environment.update({
        "OS_CLIENT_CONFIG_FILE": str(stack.clouds_yaml),
        # Everything Ansible writes stays in the test's directory.
        "ANSIBLE_HOME": str(tmp_path / "ansible-home"),
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"),
        "ANSIBLE_PYTHON_INTERPRETER": str(ANSIBLE_VENV / "bin" / "python"),
        "ANSIBLE_NOCOLOR": "1", "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks",  # each task's time
    })
    command = [str(ANSIBLE_VENV / "bin" / "ansible-playbook"), "-i", "localhost,",
               "-e", json.dumps(variables), str(PLAYBOOK)]
    return subprocess.run(command, capture_output=True, text=True, env=environment,
                          timeout=900, cwd=tmp_path)


def names_of(stack, kind: str) -> set[str]:
    listed = json.loads(stack.openstack(kind, "list", "-f", "json").stdout)
    return {item["Name"] for item in listed}


def test_the_openstack_cloud_collection_builds_and_tears_down(stack, tmp_path):
    image_file = tmp_path / "tiny.qcow2"
    stack.openstack("image", "save", "--file", str(image_file), "pocketstack-tiny")
    prefix = unique("ansible")
    result = run_playbook(stack, tmp_path, prefix=prefix, image_file=str(image_file))
    output = result.stdout + result.stderr
    print(output[-2500:])  # the recap and each task's time (pytest -s shows them)
    assert result.returncode == 0, output[-6000:]
    recap = re.search(r"localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+"
                      r"failed=(\d+)", output)
    assert recap, output[-3000:]
    ok, changed, unreachable, failed = map(int, recap.groups())
    # 10 tasks; each of the 8 that create, attach, detach or delete changes something.
    assert (ok, changed, unreachable, failed) == (10, 8, 0, 0), recap.group(0)
    assert not {f"{prefix}-server"} & names_of(stack, "server")
    assert not {f"{prefix}-volume"} & names_of(stack, "volume")
    assert not {f"{prefix}-image"} & names_of(stack, "image")
