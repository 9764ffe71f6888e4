"""Fixtures shared by more than one directory of the suite: the session's
stack, its users' tokens, and computed's clients for the demo and admin users
(the api/ and e2e/ compute tests use them). A module that needs another
client under the same name (the image and volume modules' `demo`) defines its
own, which wins over these."""
from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

# Every test stack starts computed, which registers the tiny test image: build
# it once per machine, not once per stack (it takes 30-40 s under load), in the
# e2e tests' cache. It must be set before the first `pocketstack up`, so here,
# when pytest loads this file, before any test module is even imported.
os.environ.setdefault("POCKETSTACK_IMAGE_CACHE",
                      os.environ.get("POCKETSTACK_TEST_CACHE", "/var/cache/pocketstack-test"))

from tests.stack import Stack, port_offset_for  # noqa: E402 (after the cache is set)
from tests.support.compute import Compute  # noqa: E402 (after the cache is set)


def worker_id(request) -> str:
    """xdist's worker name ("gw0", ...), or "master" in a run without xdist."""
    return getattr(request.config, "workerinput", {}).get("workerid", "master")


@pytest.fixture(scope="session")
def stack(tmp_path_factory, request) -> Iterator[Stack]:
    """One real stack per test worker, started with `pocketstack up`."""
    running = Stack(tmp_path_factory.mktemp("stack"), port_offset_for(worker_id(request)))
    running.started()
    if os.environ.get("POCKETSTACK_TEST_DATA_API") == "registry":
        # The image API tests run a second time with imaged-api reaching its
        # metadata through imaged-registry (make test does both passes).
        running.down()
        running.set_option("imaged-api.conf", "data", "data_api", "registry")
        result = running.up(check=False)
        if result.returncode != 0:
            running.down()
        assert result.returncode == 0, result.stdout + result.stderr
        assert "imaged-registry  started" in result.stdout
    yield running
    running.down()


@pytest.fixture(scope="session")
def admin_token(stack) -> str:
    return stack.token("admin")


@pytest.fixture(scope="session")
def demo_token(stack) -> str:
    return stack.token("demo")


@pytest.fixture(scope="module")
def demo(stack) -> Iterator[Compute]:
    """Compute calls as the demo user; its servers are deleted after the module."""
    client = Compute(stack, "demo")
    yield client
    client.cleanup()


@pytest.fixture(scope="module")
def admin(stack) -> Iterator[Compute]:
    """Compute calls as the admin user; its servers are deleted after the module."""
    client = Compute(stack, "admin")
    yield client
    client.cleanup()


def pytest_terminal_summary(terminalreporter) -> None:
    """Print what a test recorded for people to read (a `printed_report`
    user property, such as the role matrix's table): under pytest-xdist a
    worker's own output never reaches the terminal, its reports do."""
    for outcome in ("passed", "failed"):
        for report in terminalreporter.getreports(outcome):
            for name, value in getattr(report, "user_properties", []):
                if name == "printed_report" and report.when == "call":
                    terminalreporter.write_sep("-", f"{report.nodeid} ({outcome})")
                    terminalreporter.write_line(str(value))
