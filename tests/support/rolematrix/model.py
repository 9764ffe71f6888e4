"""Callers, cases, and what a case must answer to each caller.

The expected answer is worked out, never recorded: a call without a valid
token is refused with 401 (unless the route is public); a valid caller that
may not even see the resource aimed at gets 404, as Nova, Cinder, Neutron and
Glance answer so as not to tell that it exists (Keystone does not hide: it
answers 403); otherwise the service's own policy defaults (its policies.py,
evaluated here by oslo.policy with the caller's roles and project) decide
between the route's success status and 403.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.context import RequestContext
from shared.policy import PolicyEnforcer

UNAUTHENTICATED = 401


@dataclass(frozen=True)
class Caller:
    """One kind of caller. `valid` is False for a token the services must
    refuse (none, expired, revoked): its roles and project are those the
    token names, which would be allowed if it were valid."""
    name: str
    token: str | None
    user_id: str
    project_id: str
    roles: tuple[str, ...]
    valid: bool = True

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    def context(self) -> RequestContext:
        return RequestContext(request_id="req-role-matrix", user_id=self.user_id,
                              project_id=self.project_id, roles=list(self.roles))


# seen(world, caller): may the caller see the resource the case aims at?
Seen = Callable[[Any, Caller], bool]


@dataclass(frozen=True)
class Case:
    """One request shape of one route.

    `path`, the string values of `json`, `headers` and `target` are
    templates filled from the world's ids, the caller's own project
    ({own_project}, {own_user}) and, with `fresh`, a resource made for the
    call ({fresh}). `rule` is the policy rule (or rules, all asked) the
    route is checked with, on `target` (default: the caller's own project);
    None: any valid token may call it. `ok` is the route's success status
    (or statuses: an allowed call that then meets the resource's state, as
    named in `why`)."""
    service: str
    route: str
    path: str
    rule: str | tuple[str, ...] | None = None
    target: dict | None = None
    seen: Seen | None = None
    ok: tuple[int, ...] = (200,)
    json: Any = None
    data: bytes | None = None
    headers: dict = field(default_factory=dict)
    fresh: str | None = None
    public: bool = False
    label: str = ""
    why: str = ""
    # whose policy decides, when not the service's own (Nova's image proxy
    # asks Glance, with the caller's token)
    policy_service: str | None = None

    @property
    def method(self) -> str:
        return self.route.split(" ", 1)[0]

    @property
    def name(self) -> str:
        return self.route + (f" [{self.label}]" if self.label else "")


class Policies:
    """The policy defaults of each service, as oslo.policy evaluates them
    (no operator file: the defaults in code are the table)."""

    def __init__(self, rules: dict[str, list], scratch: Path):
        self._enforcers = {service: PolicyEnforcer(defaults, scratch / f"{service}-none.yaml")
                           for service, defaults in rules.items()}

    def allows(self, service: str, rules: tuple[str, ...], target: dict,
               caller: Caller) -> bool:
        enforcer = self._enforcers[service]
        return all(enforcer.allows(rule, target, caller.context()) for rule in rules)


def owned_by(project: str) -> Seen:
    """Seen by admins and by the project that owns it (Nova, Cinder, Glance's
    private images)."""
    def seen(world, caller: Caller) -> bool:
        return caller.is_admin or caller.project_id == world.ids[project]
    return seen


def belongs_to(user: str) -> Seen:
    """Seen by its user only, admins included (a key pair: Nova looks it up
    among the caller's own unless another user is named)."""
    def seen(world, caller: Caller) -> bool:
        return caller.user_id == world.ids[user]
    return seen


def rule_allows(service: str, rule: str, target: dict) -> Seen:
    """Seen by those the service's rule lets read it (Neutron: a resource the
    get_<resource> rule refuses is answered 404, whatever the call)."""
    def seen(world, caller: Caller) -> bool:
        return world.policies.allows(service, (rule,), world.fill(target, caller), caller)
    return seen


def rules_of(case: Case) -> tuple[str, ...]:
    if case.rule is None:
        return ()
    return (case.rule,) if isinstance(case.rule, str) else case.rule


def expected(case: Case, caller: Caller, world, policies: Policies) -> tuple[int, ...]:
    """The statuses the case may answer to the caller (one, or the success
    statuses of an allowed call)."""
    if case.public:
        return case.ok
    if not caller.valid:
        return (UNAUTHENTICATED,)
    if case.seen is not None and not case.seen(world, caller):
        return (404,)
    target = world.fill(case.target or {"project_id": "{own_project}"}, caller)
    if not policies.allows(case.policy_service or case.service, rules_of(case), target,
                           caller):
        return (403,)
    return case.ok


def is_denial(statuses: tuple[int, ...]) -> bool:
    return all(status in (401, 403, 404) for status in statuses)
