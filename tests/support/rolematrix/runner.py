"""Run every case as every caller, compare each answer with the expected
one, and lay the results out as a table.

A leak is an answer that gave a caller data it must not have: a success
where the caller had to be refused, or a success whose body names one of
alpha's resources to a caller outside alpha (the beta member, or a token
that is not valid). Any other answer that is not the expected one is a
mismatch.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from tests.support.rolematrix.model import Caller, Case, Policies, expected, is_denial

# The order of the calls of one case: every refusal before the calls that
# succeed (and may consume the resource aimed at).
CALLER_ORDER = ("anonymous", "expired", "revoked", "other", "reader", "member", "admin")


@dataclass
class Result:
    case: Case
    caller: str
    status: int
    expected: tuple[int, ...]
    leak: str = ""
    body: str = ""

    @property
    def mismatch(self) -> bool:
        return self.status not in self.expected and not self.leak


@dataclass
class Matrix:
    results: list[Result] = field(default_factory=list)

    @property
    def leaks(self) -> list[Result]:
        return [r for r in self.results if r.leak]

    @property
    def mismatches(self) -> list[Result]:
        return [r for r in self.results if r.mismatch]

    def routes(self) -> set[tuple[str, str]]:
        return {(r.case.service, r.case.route) for r in self.results}

    def summary(self) -> dict:
        return {"routes": len(self.routes()), "cases": len({id(r.case) for r in self.results}),
                "callers": len({r.caller for r in self.results}), "calls": len(self.results),
                "leaks": len(self.leaks), "mismatches": len(self.mismatches)}

    def table(self) -> str:
        """One line per case: its answer to each caller; `!` marks a
        mismatch (the expected answer follows), `LEAK` a leak."""
        by_case: dict[int, list[Result]] = {}
        for result in self.results:
            by_case.setdefault(id(result.case), []).append(result)
        width = max(len(f"{r.case.service} {r.case.name}") for r in self.results)
        head = f"{'service route':<{width}}  " + " ".join(f"{c:>9}" for c in CALLER_ORDER)
        lines = [head, "-" * len(head)]
        for results in by_case.values():
            case = results[0].case
            cells = {r.caller: _cell(r) for r in results}
            lines.append(f"{case.service + ' ' + case.name:<{width}}  "
                         + " ".join(f"{cells.get(c, '-'):>9}" for c in CALLER_ORDER))
        return "\n".join(lines)


def _cell(result: Result) -> str:
    if result.leak:
        return f"LEAK{result.status}"
    if result.mismatch:
        return f"!{result.status}/{result.expected[0]}"
    return str(result.status)


def run(world, cases: list[Case], policies: Policies, matrix: Matrix | None = None) -> Matrix:
    """The calls, in order, into `matrix` (a new one by default)."""
    matrix = matrix if matrix is not None else Matrix()
    callers = sorted(world.callers, key=lambda c: CALLER_ORDER.index(c.name))
    for case in cases:
        fresh: str | None = None
        for caller in callers:
            if case.fresh and fresh is None:
                fresh = world.makers[case.fresh]()
            want = expected(case, caller, world, policies)
            response = call(world, case, caller, fresh)
            result = Result(case, caller.name, response.status_code, want,
                            body=response.text[:300])
            result.leak = leak(world, case, caller, response, want, fresh)
            matrix.results.append(result)
            if response.status_code < 300:
                fresh = None   # the call may have consumed it: the next one gets a new one
    return matrix


def call(world, case: Case, caller: Caller, fresh: str | None):
    kwargs: dict = {"headers": world.fill(case.headers, caller, fresh)}
    if case.json is not None:
        kwargs["json"] = world.fill(case.json, caller, fresh)
    if case.data is not None:
        kwargs["data"] = case.data
    path = world.fill(case.path, caller, fresh)
    return world.request(case.service, case.method, path, caller.token, **kwargs)


def leak(world, case: Case, caller: Caller, response, want: tuple[int, ...],
         fresh: str | None) -> str:
    """Why this answer leaks, or ""."""
    if response.status_code >= 300:
        return ""
    if is_denial(want):
        return f"answered {response.status_code} where {want[0]} was due"
    if caller.name != "other" and caller.valid:
        return ""
    asked = json.dumps([world.fill(case.path, caller, fresh),
                        world.fill(case.json, caller, fresh), fresh])
    shown = [rid for rid in world.private if rid in response.text and rid not in asked]
    return f"shows alpha's {', '.join(sorted(shown))}" if shown else ""
