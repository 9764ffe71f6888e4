"""How a step of the demo is told to a class.

Each step prints a numbered title, one or two sentences of explanation and
the `openstack` command that does the same; then what happened, with the
services' events printed as they arrive. Long waits show progress (a
spinner, a byte count) on a terminal and one line each otherwise
(pocketstack/progress.py). With --step, the demo stops before each step
until Enter is pressed, so a teacher can talk.
"""
from __future__ import annotations

import textwrap
import time
from collections.abc import Callable
from typing import TypeVar

from pocketstack.demo.events import EventFeed, describe
from pocketstack.progress import Progress

WIDTH = 78
POLL = 0.5
CLOUD = "openstack --os-cloud pocketstack"
ADMIN_CLOUD = "openstack --os-cloud pocketstack-admin"
T = TypeVar("T")


class WaitFailed(RuntimeError):
    """Something the demo waited for did not happen; the message says what."""


class Narrator:
    """Prints the demo: steps, results, events, progress; pauses with --step."""

    def __init__(self, progress: Progress, feed: EventFeed | None, total_steps: int,
                 pause: Callable[[str], None] | None = None):
        self.progress = progress
        self.feed = feed
        self.total_steps = total_steps
        self.pause = pause          # called before each step with its title
        self.number = 0

    def step(self, title: str, explanation: str, *commands: str) -> None:
        """A new step: (with --step, from the second on) wait for Enter, then
        its title, why, and
        the equivalent commands (`openstack ...` lines get the demo's cloud)."""
        self.number += 1
        heading = f"Step {self.number}/{self.total_steps}: {title}"
        if self.pause and self.number > 1:
            self.pause(heading)
        self.say("")
        self.say(heading)
        self.say("-" * len(heading))
        for line in textwrap.wrap(" ".join(explanation.split()), WIDTH):
            self.say(line)
        for command in commands:
            self.say(f"  $ {command}")

    def say(self, text: str = "") -> None:
        self.progress.line(text)

    def result(self, text: str) -> None:
        """A finding of the step, indented under it."""
        self.say(f"  -> {text}")

    def events(self) -> None:
        """Print the events that arrived since the last look."""
        if self.feed is None:
            return
        for service, event in self.feed.new_events():
            self.say(describe(service, event))

    def wait_for(self, what: str, check: Callable[[], T | None], timeout: float,
                 status: Callable[[], str] | None = None) -> T:
        """Poll `check` until it returns something, printing events meanwhile;
        on a terminal a spinner shows the seconds and `status()`."""
        deadline = time.monotonic() + timeout
        with self.progress.waiting(what) as wait:
            while True:
                found = check()
                self.events()
                if found:
                    return found
                if time.monotonic() > deadline:
                    wait.finish("timed out")
                    raise WaitFailed(f"{what}: not done after {timeout:.0f} s")
                if status:
                    wait.note(status())
                time.sleep(POLL)


def openstack(*words: str) -> str:
    """The demo user's `openstack` command line, for display."""
    return " ".join((CLOUD, *words))


def openstack_admin(*words: str) -> str:
    return " ".join((ADMIN_CLOUD, *words))
