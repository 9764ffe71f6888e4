"""The kill matrix's stack (started with the step hook on), the world its
flows work in, and the counts printed at the end of a run."""
from __future__ import annotations

import os
import subprocess
import time
from collections import Counter
from collections.abc import Iterator

import pytest

from shared import stephold
from shared.netnames import stack_namespace
from tests.killmatrix.flows import BOOTED
from tests.killmatrix.holds import StepHold
from tests.stack import Stack, port_offset_for
from tests.support.compute import Compute
from tests.support.images import Images
from tests.support.network import Networking
from tests.support.volumes import VolumeApi


@pytest.fixture(scope="session")
def matrix_stack(tmp_path_factory) -> Iterator[Stack]:
    """A stack of its own whose daemons run with the step hook on
    (POCKETSTACK_STEP_HOLD_DIR): every `pocketstack up` of the matrix
    passes it on to the daemons it starts again."""
    hold_dir = tmp_path_factory.mktemp("holds")
    os.environ[stephold.ENVIRONMENT] = str(hold_dir)
    # A process per service: each daemon of the matrix is killed alone.
    running = Stack(tmp_path_factory.mktemp("stack"), port_offset_for("master"),
                    process_per_service=True)
    running.hold_dir = hold_dir  # type: ignore[attr-defined]
    try:
        result = running.up(check=False)
        assert result.returncode == 0, result.stdout + result.stderr
        yield running
    finally:
        StepHold(hold_dir).clear()
        running.down()
        del os.environ[stephold.ENVIRONMENT]


class World:
    """The clients the flows use (new tokens for each case: a run lasts
    longer than a token), the stack's networks and one ACTIVE server that
    the attach, detach, snapshot and floating IP cases share."""

    def __init__(self, stack: Stack):
        self.stack = stack
        self.hold = StepHold(stack.hold_dir)  # type: ignore[attr-defined]
        self._server: str | None = None
        self.refresh()
        self.private_network = self.network.find("network", "private")["id"]
        self.public_network = self.network.find("network", "public")["id"]

    def refresh(self) -> None:
        self.compute = Compute(self.stack, "demo")
        self.volumes = VolumeApi(self.stack, "demo")
        self.images = Images(self.stack, self.compute.token)
        self.network = Networking(self.stack, "demo", token=self.compute.token)

    def base_server(self) -> str:
        """An ACTIVE server with a port on `private`, made again when a case
        left the last one in another state. Its guest has booted: a guest
        still booting lets no hot-plugged disk go (under TCG on a loaded
        machine its boot outlasts a detach's wait)."""
        if self._server is not None:
            response = self.compute.call("GET", f"/servers/{self._server}")
            server = response.json().get("server", {}) if response.status_code == 200 else {}
            if server.get("status") == "ACTIVE" and not server.get("OS-EXT-STS:task_state") \
                    and not server.get("os-extended-volumes:volumes_attached"):
                return self._server
            if response.status_code == 200:
                self.compute.delete(self._server)
        server = self.compute.create(networks=[{"uuid": self.private_network}])
        self.compute.wait_status(server["id"], "ACTIVE", timeout=300)
        self.compute.wait_console(server["id"], BOOTED, timeout=300)
        self._server = server["id"]
        return self._server

    def forget_server(self) -> None:
        if self._server is not None:
            self.compute.delete(self._server)
            self._server = None

    def domain_state(self, server_id: str) -> str | None:
        shown = subprocess.run(["virsh", "-c", "qemu:///system", "domstate", server_id],
                               capture_output=True, text=True, timeout=60)
        return shown.stdout.strip() if shown.returncode == 0 else None

    def images_named(self, name: str) -> list[dict]:
        response = self.images.list(name=name)
        assert response.status_code == 200, response.text
        return response.json()["images"]

    def nft_ruleset(self) -> str:
        return subprocess.run(["ip", "netns", "exec", stack_namespace(self.stack.state_dir),
                               "nft", "list", "ruleset"], capture_output=True, text=True,
                              timeout=30).stdout


@pytest.fixture(scope="session")
def world(matrix_stack) -> Iterator[World]:
    made = World(matrix_stack)
    yield made
    made.forget_server()


# --- the counts at the end of a run ---------------------------------------------------
RESULTS: list[tuple[str, str, str, str]] = []   # flow, step, daemon, outcome
STARTED = time.monotonic()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    params = getattr(getattr(item, "callspec", None), "params", None)
    if not params or "cell" not in params:
        return
    cell = params["cell"]
    if report.when == "call" or (report.when == "setup" and report.failed):
        RESULTS.append((cell.flow.name, cell.step.name, cell.daemon,
                        "passed" if report.passed else "failed"))
        # one line per case as it ends: a run lasts hours
        errors = [line[1:].strip() for line in report.longreprtext.splitlines()
                  if line.startswith("E ")]
        reason = "" if report.passed else " " + (errors or ["?"])[0][:400]
        terminal = item.config.pluginmanager.get_plugin("terminalreporter")
        if terminal is not None:
            terminal.write_line(f" {cell}: {report.outcome} in {report.duration:.0f} s"
                                f"{reason}")


def pytest_terminal_summary(terminalreporter):
    if not RESULTS:
        return
    write = terminalreporter.write_line
    passed = sum(1 for *_, outcome in RESULTS if outcome == "passed")
    write("")
    write(f"kill matrix: {len(RESULTS)} cases, {passed} passed, "
          f"{len(RESULTS) - passed} failed, in {time.monotonic() - STARTED:.0f} s")
    for title, index in (("flow", 0), ("daemon", 2)):
        cases, good = Counter(), Counter()
        for result in RESULTS:
            cases[result[index]] += 1
            good[result[index]] += result[3] == "passed"
        write(f"  by {title}: " + ", ".join(
            f"{key} {good[key]}/{cases[key]}" for key in cases))
    failed = [r for r in RESULTS if r[3] == "failed"]
    for flow, step, daemon, _ in failed:
        write(f"  failed: {flow} / {step} / kill {daemon}")
