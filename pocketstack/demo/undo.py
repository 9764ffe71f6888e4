"""What the demo made, taken back in reverse order.

Each thing the demo creates is pushed here the moment it exists, with how
to delete it; at the end (or on Ctrl-C, or on a failure) `run` deletes them
newest first, so a server goes before the volume attached to it, and prints
what it did. A failed undo step is reported and the next one still runs.
"""
from __future__ import annotations

from collections.abc import Callable


class Undo:
    def __init__(self, say: Callable[[str], None]):
        self._say = say
        self._steps: list[tuple[str, Callable[[], None]]] = []

    def push(self, what: str, step: Callable[[], None]) -> None:
        self._steps.append((what, step))

    def forget(self, what: str) -> None:
        """Drop an entry the demo took back itself (the terminated server)."""
        self._steps = [entry for entry in self._steps if entry[0] != what]

    def run(self) -> list[str]:
        """Undo everything, newest first; returns what could not be undone."""
        problems = []
        while self._steps:
            what, step = self._steps.pop()
            try:
                step()
            except Exception as error:  # noqa: BLE001 (report it, undo the rest)
                problems.append(f"{what}: {error}")
                self._say(f"  could not delete {what}: {error}")
            else:
                self._say(f"  deleted {what}")
        return problems
