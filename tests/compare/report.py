"""The differences, printed: new ones (a bug to fix, or a choice to add to
the kept list with its reason) first, then the kept ones with their reason,
then the counts and the routes no scenario covers. The full exchange of each
differing request goes to a JSON file beside it."""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from tests.compare import kept as kept_list
from tests.compare.runner import Outcome


def _short(value: object) -> str:
    text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= 160 else text[:157] + "..."


def summarise(outcomes: list[Outcome], kept: list[kept_list.Kept], routes: dict[str, set[str]],
              out: Path) -> int:
    """Print the report; return the number of differences not kept."""
    new, held = defaultdict(list), defaultdict(list)
    for outcome in outcomes:
        for difference in outcome.differences:
            entry = kept_list.reason_for(difference, kept)
            target = held if entry else new
            target[(difference.scenario, difference.where)].append((difference, entry))
    if new:
        print("\n== differences (ours | real)")
        for (scenario, where), items in sorted(new.items()):
            roles = ",".join(d.role for d, _ in items)
            first = items[0][0]
            print(f"  {scenario} [{roles}] {where}: {_short(first.ours)} | {_short(first.real)}")
    if held:
        print("\n== kept differences")
        for (scenario, where), items in sorted(held.items()):
            roles = ",".join(d.role for d, _ in items)
            reason = items[0][1].reason
            print(f"  {scenario} [{roles}] {where}: kept ({items[0][1].source}): {reason}")
    covered = {(o.scenario.route.replace("HEAD ", "GET ", 1), o.role) for o in outcomes}
    served = set().union(*routes.values())
    uncovered = sorted(served - {route for route, _ in covered})
    print("\n== summary")
    print(f"  requests compared: {len(outcomes)} (scenario x role)")
    print(f"  routes x roles compared: {len({c for c in covered if c[0] in served})} "
          f"over {len(served) - len(uncovered)} of our {len(served)} routes")
    print(f"  differences: {sum(len(o.differences) for o in outcomes)} "
          f"({sum(len(v) for v in new.values())} not kept, "
          f"{sum(len(v) for v in held.values())} kept); "
          f"distinct (scenario, place): {len(new)} not kept, {len(held)} kept")
    if uncovered:
        print(f"  routes without a scenario: {', '.join(uncovered)}")
    out.write_text(json.dumps([{
        "scenario": o.scenario.id, "role": o.role, "route": o.scenario.route,
        "differences": [{"where": d.where, "ours": d.ours, "real": d.real,
                         "kept": bool(kept_list.reason_for(d, kept))} for d in o.differences],
        "ours": o.ours.raw if o.ours else None, "real": o.real.raw if o.real else None,
    } for o in outcomes if o.differences], indent=1, default=str))
    print(f"  exchanges of the differing requests: {out}")
    return sum(len(v) for v in new.values())


def rejudge(path: Path, kept: list[kept_list.Kept]) -> int:
    """The differences of an earlier run (its report file) against the kept
    list as it is now: for editing the list without running everything again."""
    from tests.compare.differ import Difference
    unkept = 0
    for outcome in json.loads(path.read_text()):
        for found in outcome["differences"]:
            difference = Difference(outcome["scenario"], outcome["role"], found["where"],
                                    found["ours"], found["real"])
            if kept_list.reason_for(difference, kept) is None:
                unkept += 1
                print(f"  {difference.scenario} [{difference.role}] {difference.where}: "
                      f"{_short(difference.ours)} | {_short(difference.real)}")
    print(f"  {unkept} differences not kept")
    return unkept
