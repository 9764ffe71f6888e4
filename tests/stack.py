"""A real PocketStack, started for the tests by the `pocketstack` command.

Each pytest-xdist worker gets its own stack in its own state directory, with
its ports shifted by a worker-specific offset so that stacks never collide.
Everything runs on 127.0.0.1.
"""
from __future__ import annotations

import configparser
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
CLIENTS_VENV = Path(os.environ.get("POCKETSTACK_CLIENTS_VENV", REPO / ".venv-clients"))
DEFAULT_PORTS = {"identity": 5000, "imaged": 9292, "imaged-registry": 9191,
                 "volumed": 8776, "computed": 8774, "computed-metadata": 8775,
                 "computed-serialproxy": 6083,
                 "networkd": 9696, "tgtd": 3260, "dashboard": 8000,
                 # a stack's Ceph (pocketstack.conf [ceph]): the monitor's two
                 # ports and the start of the range its OSD and manager bind
                 "ceph-mon": 3300, "ceph-mon-v1": 6789, "ceph-osd": 6800,
                 # a stack's Swift (pocketstack.conf [swift])
                 "swift-proxy": 8080, "swift-object": 6200, "swift-container": 6201,
                 "swift-account": 6202, "swift-memcached": 11211}


def pocketstack(state_dir: Path, *args: str, check: bool = True,
                timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pocketstack.main", "--state-dir",
                           str(state_dir), *args], capture_output=True, text=True,
                          timeout=timeout, check=check, cwd=REPO)


def port_offset_for(worker_id: str, base: int | None = None) -> int:
    """A port offset whose shifted ports are all free: each worker starts at
    its own slot, and steps over slots taken by another run on this machine
    (two runs at once: give one POCKETSTACK_TEST_PORT_BASE, e.g. 15000).
    Keep the shifted ports (up to 11211 + offset) below the kernel's
    ephemeral range (net.ipv4.ip_local_port_range, from 32768): a port there
    is free when probed and may be an outgoing connection's a moment later,
    and a daemon of the stack then fails to bind it."""
    if base is None:
        base = int(os.environ.get("POCKETSTACK_TEST_PORT_BASE", "20000"))
    digits = worker_id[2:] if worker_id.startswith("gw") else ""
    index = int(digits) if digits.isdigit() else 0  # "master", or a tool such as a benchmark
    for attempt in range(40):
        offset = base + 100 * index + 1000 * attempt
        if all(port_is_free(port + offset) and port_is_free(port + offset + 50)
               for port in DEFAULT_PORTS.values()):
            return offset
    raise RuntimeError("no free range of ports for a test stack")


def port_is_free(port: int) -> bool:
    import socket
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class Stack:
    state_dir: Path
    port_offset: int
    #: Each service in a process of its own (`up --process-per-service`),
    #: where a test kills or stops one service alone; else pocketstack.conf
    #: decides (one process for all by default).
    process_per_service: bool = False

    def port(self, service: str) -> int:
        return DEFAULT_PORTS[service] + self.port_offset

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.port(service)}"

    @property
    def clouds_yaml(self) -> Path:
        return self.state_dir / "etc" / "clouds.yaml"

    def password(self, user: str) -> str:
        parser = configparser.ConfigParser(interpolation=None)
        parser.read(self.state_dir / "etc" / "credentials")
        return parser["passwords"][user]

    def login(self, user: str, project: str | None = None, password: str | None = None):
        """POST /v3/auth/tokens; returns the response (token in X-Subject-Token)."""
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": user, "password": password if password is not None else self.password(user),
            "domain": {"name": "Default"}}}},
            "scope": {"project": {"name": project or user, "domain": {"name": "Default"}}}}}
        return requests.post(f"{self.url('identity')}/v3/auth/tokens", json=body, timeout=30)

    def token(self, user: str = "demo", project: str | None = None) -> str:
        response = self.login(user, project)
        assert response.status_code == 201, response.text
        return response.headers["X-Subject-Token"]

    def openstack(self, *args: str, cloud: str | None = "pocketstack", check: bool = True,
                  timeout: float = 300, env: dict | None = None) -> subprocess.CompletedProcess:
        """Run the unmodified `openstack` client from PyPI against this stack
        (with a cloud of clouds.yaml, or cloud=None and OS_* variables in env)."""
        environment = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        environment["OS_CLIENT_CONFIG_FILE"] = str(self.clouds_yaml)
        environment.update(env or {})
        cloud_args = ["--os-cloud", cloud] if cloud else []
        result = subprocess.run([str(CLIENTS_VENV / "bin" / "openstack"), *cloud_args, *args],
                                capture_output=True, text=True, env=environment,
                                timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"openstack {' '.join(args)} failed ({result.returncode}):\n"
                                 f"{result.stdout}\n{result.stderr}")
        return result

    def set_option(self, config_file: str, section: str, option: str, value: str) -> None:
        """Set one option in a config file of this stack (uncommenting the
        default line the first start wrote, or adding it to the section)."""
        path = self.state_dir / "etc" / config_file
        lines = path.read_text().splitlines()
        current, done = None, False
        for index, line in enumerate(lines):
            stripped = line.strip()
            if stripped.startswith("[") and stripped.endswith("]"):
                current = stripped[1:-1]
            elif current == section and stripped.lstrip("#").split("=")[0].strip() == option \
                    and "=" in stripped:
                lines[index] = f"{option} = {value}"
                done = True
                break
        if not done:
            lines += ["", f"[{section}]", f"{option} = {value}"]
        path.write_text("\n".join(lines) + "\n")

    def up(self, check: bool = True) -> subprocess.CompletedProcess:
        separate = ["--process-per-service"] if self.process_per_service else []
        return pocketstack(self.state_dir, "up", "--port-offset", str(self.port_offset), *separate,
                           check=check)

    def down(self) -> subprocess.CompletedProcess:
        return pocketstack(self.state_dir, "down", check=False)

    def started(self) -> Stack:
        """`up`, which must succeed. If it does not, what it started is
        stopped before the failure is reported: a failed `up` leaves what it
        started running (for a second `up` to carry on), and a fixture that
        fails never reaches its own `down` (a test stack's tgtd was left
        running that way)."""
        result = self.up(check=False)
        if result.returncode != 0:
            self.down()
        assert result.returncode == 0, result.stdout + result.stderr
        return self

    @contextmanager
    def running(self) -> Iterator[Stack]:
        """`up`, which must succeed (its output is the failure's message),
        then `down` whatever happens: a module's own stack never outlives it."""
        result = self.up(check=False)
        try:
            assert result.returncode == 0, result.stdout + result.stderr
            yield self
        finally:
            self.down()
