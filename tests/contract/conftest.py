"""Fixtures of the contract tests: Nova's and Cinder's sources (downloaded
once per machine into a git-ignored cache, see sources.py), and a summary of
the routes we serve that no contract case covers, printed at the end of the
run so that a new route without a check is seen."""
from __future__ import annotations

import pytest

from tests.contract import sources, upstream

UNCOVERED: dict[str, list[str]] = {}


@pytest.fixture(scope="session")
def nova() -> upstream.Nova:
    return upstream.nova(sources.fetch().nova)


@pytest.fixture(scope="session")
def cinder() -> upstream.Cinder:
    return upstream.cinder(sources.fetch().cinder)


def pytest_terminal_summary(terminalreporter):
    for service, routes in UNCOVERED.items():
        if routes:
            terminalreporter.section(f"{service}: routes served with no contract check")
            for line in routes:
                terminalreporter.line(line)
