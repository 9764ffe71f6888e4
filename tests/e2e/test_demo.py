"""`pocketstack demo`, start to end on the worker's stack: a real image
upload, a real guest under QEMU reached over SSH, a volume over iSCSI, a
snapshot, a terminate. Its output must name every concept it shows, and
afterwards the stack must be as the demo found it. `--step` must wait for
Enter, and Ctrl-C must still clean up.
"""
from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest
import requests

from tests.stack import REPO

pytestmark = pytest.mark.e2e

DEMO_TIMEOUT = 900


def demo_command(stack, *args: str) -> list[str]:
    return [sys.executable, "-m", "pocketstack.main", "--state-dir", str(stack.state_dir),
            "demo", *args]


def demo_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("OS_")}


class Api:
    """What the demo user and the admin see: the resources the demo could
    leave behind, and the host's usage."""

    def __init__(self, stack):
        self.stack = stack
        self.user = {"X-Auth-Token": stack.token("demo")}
        self.admin = {"X-Auth-Token": stack.token("admin")}

    def get(self, service: str, path: str, admin: bool = False) -> dict:
        answer = requests.get(f"{self.stack.url(service)}{path}", timeout=30,
                              headers=self.admin if admin else self.user)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def snapshot(self) -> dict:
        """Names of everything the demo user sees, and the host's usage."""
        project = self.get("identity", "/v3/auth/projects")["projects"]
        project_id = next(p["id"] for p in project if p["name"] == "demo")
        hypervisor = self.get("computed", "/v2.1/os-hypervisors/detail",
                              admin=True)["hypervisors"][0]
        return {
            "servers": sorted(s["name"] for s in self.get("computed", "/v2.1/servers")[
                "servers"]),
            "volumes": sorted(v["name"] or v["id"] for v in self.get(
                "volumed", f"/v3/{project_id}/volumes")["volumes"]),
            "images": sorted(i["name"] or i["id"] for i in self.get(
                "imaged", "/v2/images?limit=1000")["images"]),
            "keypairs": sorted(k["keypair"]["name"] for k in self.get(
                "computed", "/v2.1/os-keypairs")["keypairs"]),
            "ports": sorted(p["id"] for p in self.get("networkd", "/v2.0/ports")["ports"]),
            "usage": {key: hypervisor[key] for key in (
                "vcpus_used", "memory_mb_used", "local_gb_used", "running_vms")},
        }


# What the output must say, in this order: every concept of the seed the
# demo shows, the events that prove it happened, and the cleanup.
CONCEPTS = [
    r"Step 1/9: register an image",
    r"\$ openstack --os-cloud pocketstack image create --disk-format qcow2",
    r"status queued \(a record, no data\)",
    r"event .* image\.create .* status=queued",
    r"uploading \S+\.qcow2 \(status saving\): [0-9.]+ MiB in ",
    r"status active: \d+ bytes, disk_format qcow2, container_format bare, md5 [0-9a-f]{32}",
    r"status flow: queued -> saving -> active",
    r"event .* image\.activate",
    r"Step 2/9: choose a flavor",
    r"\$ openstack --os-cloud pocketstack flavor list",
    r"m1\.nano: 1 vCPU = the guest's processors",
    r"128 MiB RAM = the guest's memory",
    r"1 GiB root disk = vda, a copy-on-write overlay",
    r"1 GiB ephemeral disk = vdb",
    r"Step 3/9: create a volume",
    r"exports\s+it\s+as\s+an\s+iSCSI\s+target\s+in\s+tgtd",   # (explanations are wrapped)
    r"event .* volume\.create\.end .* status=available",
    r"status available: 1 GiB, an iSCSI target .* CHAP password",
    r"Step 4/9: launch a server",
    r"\$ openstack --os-cloud pocketstack keypair create",
    r"\$ openstack --os-cloud pocketstack server create --image demo-image-\w+ "
    r"--flavor m1\.nano --network private --key-name demo-key-\w+ --wait",
    r"status BUILD",
    r"event .* compute\.instance\.create\.start",
    r"event .* port\.create\.end",
    r"event .* compute\.instance\.create\.end",
    r"status ACTIVE: the domain runs",
    r"-> DHCP lease .* 10\.0\.0\.\d+",
    r"-> SSH banner",
    r"-> host keys",
    r"Step 5/9: attach the volume",
    r"event .* volume\.attach\.end .* status=in-use",
    r"attached as /dev/vdc; volume status in-use",
    r"the guest to see vdc: done",
    r"vdc <- iSCSI iqn\.\S+/1 at 127\.0\.0\.1:\d+, CHAP user \S+ "
    r"\(password in a libvirt secret\)",
    r"Step 6/9: look inside the guest",
    r"guest\$ cat /proc/partitions",
    r"\d+ vda\n.*\d+ vdb\n(.*\n)*.*\d+ vdc",
    r"vda: 1\.0 GiB  \(root disk, copy-on-write on the image\)",
    r"vdb: 1\.0 GiB  \(ephemeral disk, dies with the server\)",
    r"vdc: 1\.0 GiB  \(the volume, over iSCSI\)",
    r"vdc now holds: written by pocketstack demo \w+",
    r"vda on the host: qcow2 file of \d+ KiB, virtual size 1 GiB, backing file \S+/_base/"
    r"[0-9a-f]{40}",
    r"stays untouched \(copy-on-write\)",
    r"vdb on the host: disk\.local, backing file \S+/_base/ephemeral_1_ext4",
    r"Step 7/9: snapshot the running server",
    r"Only\s+vda:\s+the\s+ephemeral\s+vdb\s+and\s+the\s+volume\s+vdc\s+are\s+not\s+part",
    r"event .* compute\.instance\.snapshot\.start",
    r"event .* compute\.instance\.snapshot\.end",
    r"status active, \d+ bytes, image_type snapshot, from server [0-9a-f-]{36}",
    r"Step 8/9: terminate the server",
    r"event .* volume\.detach\.end .* status=available",
    r"event .* compute\.instance\.delete\.end",
    r"server [0-9a-f-]{36}: deleted",
    r"Step 9/9: what is left, and what was freed",
    r"vCPUs used +\d+ +\d+ +\d+",
    r"RAM used +\d+ MiB +\d+ MiB +\d+ MiB",
    r"disk used +\d+ GiB +\d+ GiB +\d+ GiB",
    r"freed: 1 vCPU, 128 MiB RAM, 2 GiB disk \(back to where they were\)",
    r"freed: the instance directory \S+ is gone",
    r"freed: the libvirt domain is gone",
    r"kept: image demo-image-\w+ \(active\)",
    r"kept: its cached copy [0-9a-f]{40} in _base \(the next server starts without",
    r"kept: volume demo-volume-\w+ \(available, attached to 0 servers\)",
    r"on the host its file volume-[0-9a-f]{8}\.\.\. still starts with: written by "
    r"pocketstack demo \w+",
    r"kept: snapshot demo-snapshot-\w+ \(active\)",
    r"Cleaning up: deleting what the demo made, newest first",
    r"deleted snapshot demo-snapshot-\w+",
    r"deleted key pair demo-key-\w+",
    r"deleted volume demo-volume-\w+",
    r"deleted image demo-image-\w+",
    r"The demo is over; the stack is as it found it\.",
]


def test_demo_runs_start_to_end_names_every_concept_and_leaves_nothing(stack):
    api = Api(stack)
    before = api.snapshot()
    result = subprocess.run(demo_command(stack), capture_output=True, text=True,
                            timeout=DEMO_TIMEOUT, cwd=REPO, env=demo_env(),
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stdout + result.stderr
    output = result.stdout
    assert "\r" not in output and "\x1b" not in output      # not a terminal: plain lines
    position = 0
    for concept in CONCEPTS:
        found = re.compile(concept).search(output, position)
        assert found, f"not found after offset {position}: {concept}\n{output}"
        position = found.end()
    # Every step shows its equivalent command.
    assert len(re.findall(r"^  \$ ", output, re.MULTILINE)) >= 12
    server_id = re.search(r"server ([0-9a-f-]{36}): status BUILD", output).group(1)
    assert not (stack.state_dir / "lib" / "instances" / server_id).exists()
    assert subprocess.run(["virsh", "-c", "qemu:///system", "domstate", server_id],
                          capture_output=True).returncode != 0
    assert api.snapshot() == before


def test_step_waits_for_enter_and_ctrl_c_still_cleans_up(stack):
    api = Api(stack)
    before = api.snapshot()
    demo = subprocess.Popen(demo_command(stack, "--step"), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            cwd=REPO, env=demo_env())
    lines = _lines_of(demo)
    try:
        seen = _read_until(lines, r"^\[press Enter for Step 2/9: choose a flavor\]$")
        assert any(line.startswith("Step 1/9: register an image") for line in seen)
        # Nothing moves until Enter is pressed.
        with pytest.raises(queue.Empty):
            line = lines.get(timeout=4)
            pytest.fail(f"the demo went on without Enter: {line}")
        _enter(demo)
        _read_until(lines, r"^Step 2/9: choose a flavor$")
        _read_until(lines, r"^\[press Enter for Step 3/9: create a volume\]$")
        _enter(demo)
        seen = _read_until(lines, r"^\[press Enter for Step 4/9: launch a server\]$")
        assert any(re.search(r"status available: 1 GiB", line) for line in seen)
        assert any(name.startswith("demo-volume-") for name in api.snapshot()["volumes"])
        demo.send_signal(signal.SIGINT)       # Ctrl-C while it waits for Enter
        rest = _read_until(lines, None, timeout=300)
        assert demo.wait(timeout=60) == 130
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    output = "\n".join(rest)
    assert "Interrupted." in output
    for pattern in (r"deleted volume demo-volume-\w+", r"deleted image demo-image-\w+"):
        assert re.search(pattern, output), output
    assert "Step 4/9" not in output.replace("[press Enter for Step 4/9", "")
    assert api.snapshot() == before


def _lines_of(process: subprocess.Popen) -> queue.Queue:
    """The process's output lines as they come (None at its end)."""
    lines: queue.Queue = queue.Queue()

    def pump(stream: Iterator[str]) -> None:
        for line in stream:
            lines.put(line.rstrip("\n"))
        lines.put(None)
    assert process.stdout is not None
    threading.Thread(target=pump, args=(process.stdout,), daemon=True).start()
    return lines


def _read_until(lines: queue.Queue, pattern: str | None, timeout: float = 120) -> list[str]:
    """Lines up to the one matching `pattern` (to the end when None)."""
    seen: list[str] = []
    while True:
        line = lines.get(timeout=timeout)
        if line is None:
            assert pattern is None, f"the demo ended before {pattern}:\n" + "\n".join(seen)
            return seen
        seen.append(line)
        if pattern is not None and re.search(pattern, line):
            return seen


def _enter(process: subprocess.Popen) -> None:
    assert process.stdin is not None
    process.stdin.write("\n")
    process.stdin.flush()
