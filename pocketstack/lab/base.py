"""The contract of a lab's check: requirements on the stack's state, each
verified through the public APIs (as the learner's own user, or as admin
where only an admin may look) or on the host, each with a hint that says
which step of the lab's text makes it true.

A check never changes anything; `reset` puts the stack back as it was
before the lab (deletes what the lab's steps made, restores files they
edited), so a class can start the lab again.
"""
from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from pocketstack.cloud import Cloud
from shared.paths import StateLayout

USER_CLOUD = "pocketstack"          # the demo user, as the labs' steps use it
ADMIN_CLOUD = "pocketstack-admin"


class NotYet(Exception):
    """Raised by a requirement's test: what it found instead (shown to the
    learner beside the hint)."""


@dataclass
class LabContext:
    """What a check may look at: the stack's state directory (files, logs,
    config) and its APIs, logged in lazily from the stack's clouds.yaml."""
    state: StateLayout
    _clouds: dict[str, Cloud] = field(default_factory=dict)

    def cloud(self, name: str = USER_CLOUD) -> Cloud:
        if name not in self._clouds:
            self._clouds[name] = Cloud.login(self.state.clouds_yaml, name)
        return self._clouds[name]

    @cached_property
    def user(self) -> Cloud:
        return self.cloud(USER_CLOUD)

    @cached_property
    def admin(self) -> Cloud:
        return self.cloud(ADMIN_CLOUD)


@dataclass(frozen=True)
class Requirement:
    """One thing the lab's steps must leave true.

    `test` returns normally when it holds, raises NotYet (with what it saw)
    when it does not; `hint` names the step that makes it true."""
    description: str
    test: Callable[[LabContext], None]
    hint: str


@dataclass(frozen=True)
class Outcome:
    requirement: Requirement
    done: bool
    found: str = ""


class Lab(abc.ABC):
    """A lab: its number, title and text file, its requirements, its reset."""
    number: int
    title: str
    text: str                      # file name in labs/, e.g. "05-launch.md"

    @abc.abstractmethod
    def requirements(self) -> list[Requirement]:
        """In the order of the lab's steps."""

    @abc.abstractmethod
    def reset(self, context: LabContext) -> list[str]:
        """Undo what the lab's steps made; return one line per thing undone.
        Safe to run on a stack where the lab was never started."""

    def check(self, context: LabContext) -> list[Outcome]:
        outcomes = []
        for requirement in self.requirements():
            try:
                requirement.test(context)
            except NotYet as missing:
                outcomes.append(Outcome(requirement, False, str(missing)))
            else:
                outcomes.append(Outcome(requirement, True))
        return outcomes
