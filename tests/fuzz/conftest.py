"""The Schemathesis run's counts, one line per service, printed at the end of
the session (from each test's report, so that they reach the summary from
pytest-xdist's workers too)."""
from __future__ import annotations

PROPERTY = "schemathesis"
LINES: list[str] = []


def pytest_runtest_logreport(report):
    if report.when == "call":
        LINES.extend(value for name, value in report.user_properties if name == PROPERTY)


def pytest_terminal_summary(terminalreporter):
    if LINES:
        terminalreporter.section("Schemathesis: every API of a live stack, as admin")
        for line in sorted(LINES):
            terminalreporter.line(line)
