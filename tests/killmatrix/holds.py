"""The test's side of shared/stephold.py: arm a step, wait until a daemon
holds its flow there, release it."""
from __future__ import annotations

import time
from pathlib import Path


class StepHold:
    def __init__(self, directory: Path):
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def arm(self, event_type: str) -> None:
        self.clear()
        (self.directory / "arm").write_text(event_type + "\n")

    def held(self) -> Path | None:
        found = sorted(self.directory.glob("held-*"))
        return found[0] if found else None

    def wait_held(self, timeout: float) -> Path | None:
        """The held file once a daemon holds there; None if the time ran out
        without it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            held = self.held()
            if held is not None:
                return held
            time.sleep(0.05)
        return None

    def clear(self) -> None:
        """Disarm and release everything (a hold of a killed daemon included)."""
        for path in self.directory.glob("*"):
            path.unlink(missing_ok=True)
